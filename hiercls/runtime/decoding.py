"""From logits to label sets that respect the hierarchy.

Two decoders, both of which never output a child without its parent:

- ``closure``: threshold every label independently, then add the ancestors of
  every predicted label (a confident child is evidence for its parent).
- ``topdown``: a label is kept only if it passes its threshold *and* its parent
  was kept (a child under an unpredicted parent is dropped).

``LabelDecoder`` bundles what a model folder says about this step (label.txt,
per-label thresholds, the decoder tuned with them): every place that turns a model's
outputs into labels (the offline predictors, the postprocess, DynaBERT's selection,
the analyses, the overhead benchmark) loads it with ``LabelDecoder.from_folder``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from .artifacts import LABEL_FILE, THRESHOLDS_FILE
from .hierarchy import LabelHierarchy
from .thresholds import load_decoder, load_thresholds

Decoder = Literal["closure", "topdown"]
DECODERS: tuple[str, ...] = ("closure", "topdown")


def sigmoid(logits: np.ndarray) -> np.ndarray:
    # Split by sign so large |x| never overflows exp().
    x = np.asarray(logits, dtype=np.float32)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def decode(
    probs: np.ndarray,
    thresholds: np.ndarray | float,
    hierarchy: LabelHierarchy,
    decoder: Decoder = "closure",
) -> np.ndarray:
    """Boolean matrix [N, L] of predicted labels, consistent with the hierarchy."""
    probs = np.asarray(probs, dtype=np.float32)
    if probs.ndim != 2 or probs.shape[1] != len(hierarchy):
        raise ValueError(f"expected probabilities of shape [N, {len(hierarchy)}], got {list(probs.shape)}")
    pred = probs >= np.asarray(thresholds, dtype=np.float32)
    levels = hierarchy.level_order()
    if decoder == "closure":
        for ids in reversed(levels[1:]):
            for i in ids:
                pred[:, hierarchy.parents[i]] |= pred[:, i]
    elif decoder == "topdown":
        for ids in levels[1:]:
            pred[:, ids] &= pred[:, hierarchy.parents[ids]]
    else:
        raise ValueError(f"unknown decoder {decoder!r}; choose one of {DECODERS}")
    return pred


def violation_rate(pred: np.ndarray, hierarchy: LabelHierarchy) -> float:
    """Share of rows that predict some child without its parent."""
    pred = np.asarray(pred, dtype=bool)
    child = hierarchy.parents >= 0
    if not child.any() or len(pred) == 0:
        return 0.0
    orphan = pred[:, child] & ~pred[:, hierarchy.parents[child]]
    return float(orphan.any(axis=1).mean())


@dataclass(frozen=True)
class LabelDecoder:
    """A model's way from probabilities to label paths: its hierarchy, its thresholds
    (per label, or one for all) and the decoder tuned with them."""

    hierarchy: LabelHierarchy
    thresholds: np.ndarray | float
    decoder: str = "closure"

    @classmethod
    def from_folder(cls, folder: str | Path, decoder: str | None = None) -> LabelDecoder:
        """label.txt and thresholds.json of a checkpoint, export folder or postprocess
        version folder (no thresholds.json: 0.5 everywhere). ``decoder`` overrides the
        one tuned on dev."""
        folder = Path(folder)
        hierarchy = LabelHierarchy.from_file(folder / LABEL_FILE)
        return cls(
            hierarchy,
            load_thresholds(folder / THRESHOLDS_FILE, hierarchy),
            decoder or load_decoder(folder / THRESHOLDS_FILE),
        )

    def __post_init__(self) -> None:
        if self.decoder not in DECODERS:
            raise ValueError(f"unknown decoder {self.decoder!r}; choose one of {DECODERS}")

    def __len__(self) -> int:
        return len(self.hierarchy)

    def override(self, thresholds: np.ndarray | float | None = None, decoder: str | None = None) -> LabelDecoder:
        """The same labels decoded with other thresholds or another decoder (None: keep)."""
        return dataclasses.replace(
            self,
            thresholds=self.thresholds if thresholds is None else thresholds,
            decoder=decoder or self.decoder,
        )

    def decode(self, probs: np.ndarray) -> np.ndarray:
        """Boolean [N, L], hierarchy-consistent."""
        return decode(probs, self.thresholds, self.hierarchy, self.decoder)

    def decode_logits(self, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities, boolean [N, L]) of raw model outputs."""
        probs = sigmoid(logits)
        return probs, self.decode(probs)

    def label_sets(self, probs: np.ndarray, at_least_one: bool = False) -> list[tuple[str, ...]]:
        """Label paths per row. With ``at_least_one`` a row that passes no threshold
        gets its most probable label and that label's ancestors: a suggestion of "no
        label" helps nobody relabel a line."""
        h = self.hierarchy
        out = []
        for p, row in zip(np.asarray(probs), self.decode(probs)):
            ids = np.flatnonzero(row).tolist()
            if not ids and at_least_one:
                best = int(np.argmax(p))
                ids = sorted([best, *h.ancestors(best)])
            out.append(tuple(h.labels[i] for i in ids))
        return out
