"""Choosing per-label thresholds and the hierarchy decoder on dev data.

Each label's threshold maximises that label's F1 on dev over a grid. Labels with
few dev positives would get a threshold fitted to one or two texts, so theirs is
kept at or above ``floor``. The decoder (closure or top-down) is then chosen by
dev micro F1 with the tuned thresholds. Both are saved in thresholds.json and
read by evaluate.py, predict.py and the Triton postprocess alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hiercls.evaluation.metrics import scores
from hiercls.runtime.decoding import DECODERS, decode
from hiercls.runtime.hierarchy import LabelHierarchy

GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)


@dataclass
class TuningResult:
    thresholds: np.ndarray
    decoder: str
    dev_micro_f1: dict[str, float]  # decoder -> micro F1 with the tuned thresholds
    default_micro_f1: float  # 0.5 everywhere, closure
    kept_default: bool = False  # tuning scored lower on dev than 0.5 everywhere


def tune_thresholds(
    probs: np.ndarray, y_true: np.ndarray, min_support: int = 5, floor: float = 0.3, grid: np.ndarray = GRID
) -> np.ndarray:
    """Per-label thresholds maximising per-label F1 (ties: the value closest to 0.5)."""
    y = np.asarray(y_true, dtype=bool)
    out = np.full(probs.shape[1], 0.5, dtype=np.float32)
    for j in range(probs.shape[1]):
        pos = int(y[:, j].sum())
        if pos == 0:
            continue  # nothing to fit: keep the default
        pred = probs[:, j][None, :] >= grid[:, None]  # [G, N]
        tp = (pred & y[:, j]).sum(1)
        fp = (pred & ~y[:, j]).sum(1)
        f1 = 2 * tp / np.maximum(2 * tp + fp + (pos - tp), 1)
        best = np.flatnonzero(f1 == f1.max())
        t = float(grid[best[np.argmin(np.abs(grid[best] - 0.5))]])
        out[j] = max(t, floor) if pos < min_support else t
    return out


def tune(
    probs: np.ndarray, y_true: np.ndarray, hierarchy: LabelHierarchy, min_support: int = 5, floor: float = 0.3
) -> TuningResult:
    """Tuned thresholds with the better decoder, unless 0.5 everywhere scores higher
    micro F1 on dev: per-label optima do not add up to a micro optimum, and tuning
    must never leave a model worse than it found it."""
    tuned = tune_thresholds(probs, y_true, min_support, floor)
    default = np.full(probs.shape[1], 0.5, dtype=np.float32)

    def micro(t: np.ndarray, d: str) -> float:
        return scores(y_true, decode(probs, t, hierarchy, d)).micro_f1

    default_f1 = micro(default, "closure")
    f1 = {d: micro(tuned, d) for d in DECODERS}
    decoder = max(DECODERS, key=lambda d: (f1[d], d == "closure"))
    if f1[decoder] < default_f1:
        f1 = {d: micro(default, d) for d in DECODERS}
        decoder = max(DECODERS, key=lambda d: (f1[d], d == "closure"))
        return TuningResult(default, decoder, f1, default_f1, kept_default=True)
    return TuningResult(tuned, decoder, f1, default_f1)
