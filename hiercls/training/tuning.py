"""Choosing the decision thresholds and the hierarchy decoder on dev, honestly.

Scoring thresholds on the texts they were fitted to flatters them: with 65 level-2
labels and a handful of dev texts each, a per-label optimum fits noise (on DuEE,
thresholds tuned that way scored below 0.5 everywhere on unseen texts). So:

- candidates are policies, from rigid to flexible: 0.5 everywhere; one shared
  threshold (the micro-F1 optimum over all labels); per-label optima *shrunk* toward
  the shared one, a label with n dev positives moving n / (n + strength) of the way
  to its own optimum, for a few strengths;
- each candidate (with each decoder) is scored on out-of-fold predictions: dev is cut
  into folds, thresholds are fitted on the other folds and applied to the held-out one;
- the candidate with the best out-of-fold score (mean of micro and macro F1: both
  are goals) wins and is then fitted on all of dev. Ties go to the more rigid one.

Per-label optima are exact (scikit-learn's ``precision_recall_curve``), placed midway
between the last score kept and the next one below, not on a training score.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hiercls.evaluation.metrics import scores
from hiercls.runtime.decoding import DECODERS, decode
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.runtime.thresholds import save_thresholds

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.5
# Dev positives a label needs before its own optimum counts as much as the shared one.
STRENGTHS: tuple[float, ...] = (3.0, 10.0, 30.0)
FOLDS = 5


@dataclass(frozen=True)
class Policy:
    name: str  # "default", "shared" or "per_label"
    strength: float = 0.0  # per_label only

    @property
    def label(self) -> str:
        return f"per_label(strength={self.strength:g})" if self.name == "per_label" else self.name


POLICIES: tuple[Policy, ...] = (Policy("default"), Policy("shared"), *(Policy("per_label", s) for s in STRENGTHS))


def candidate(policy: str, decoder: str) -> str:
    """The key of a policy (by its label) and decoder in TuningResult.out_of_fold."""
    return f"{policy}/{decoder}"


@dataclass
class TuningResult:
    thresholds: np.ndarray
    decoder: str
    policy: str
    shared_threshold: float
    # candidate ("policy/decoder") -> out-of-fold micro and macro F1 on dev
    out_of_fold: dict[str, dict[str, float]] = field(default_factory=dict)
    dev_micro_f1: dict[str, float] = field(default_factory=dict)  # decoder -> in-sample micro F1 (optimistic)
    default_micro_f1: float = 0.0  # 0.5 everywhere, closure, in-sample
    folds: int = 0

    @property
    def chosen_out_of_fold(self) -> dict[str, float]:
        """Out-of-fold micro/macro F1 of the chosen candidate ({} when dev had too few texts for folds)."""
        return self.out_of_fold.get(candidate(self.policy, self.decoder), {})

    @property
    def default_out_of_fold(self) -> dict[str, float]:
        """Micro/macro F1 of 0.5 everywhere with closure, on the same folds ({} without folds)."""
        return self.out_of_fold.get(candidate(Policy("default").label, "closure"), {})

    @property
    def kept_default(self) -> bool:
        return self.policy == "default"

    def summary(self) -> dict:
        return {
            "policy": self.policy,
            "decoder": self.decoder,
            "shared_threshold": round(self.shared_threshold, 6),
            "folds": self.folds,
            "out_of_fold": self.out_of_fold,
        }


def best_f1_threshold(scores_: np.ndarray, y: np.ndarray) -> float:
    """The threshold maximising F1 of ``scores >= t`` against y (ties: closest to
    0.5), midway between the lowest score kept and the next score below it."""
    from sklearn.metrics import precision_recall_curve

    y = np.asarray(y, dtype=bool)
    if not y.any():
        return DEFAULT_THRESHOLD
    precision, recall, cuts = precision_recall_curve(y, scores_)
    p, r = precision[:-1], recall[:-1]  # the last point (recall 0) has no threshold
    f1 = np.where(p + r > 0, 2 * p * r / np.maximum(p + r, 1e-12), 0.0)
    best = np.flatnonzero(f1 >= f1.max() - 1e-12)
    below = np.concatenate([[cuts[0] / 2], (cuts[1:] + cuts[:-1]) / 2])  # cuts ascend
    candidates = below[best]
    return float(candidates[np.argmin(np.abs(candidates - DEFAULT_THRESHOLD))])


def shared_threshold(probs: np.ndarray, y_true: np.ndarray) -> float:
    """One threshold for every label: micro F1 over all labels is the F1 of the
    flattened scores, so the exact optimum is one binary search."""
    return best_f1_threshold(np.asarray(probs).ravel(), np.asarray(y_true, dtype=bool).ravel())


def fit_thresholds(probs: np.ndarray, y_true: np.ndarray, policy: Policy) -> np.ndarray:
    return np.clip(_fit(probs, y_true, policy), 1e-3, 1 - 1e-3)  # thresholds.json wants (0, 1)


def _fit(probs: np.ndarray, y_true: np.ndarray, policy: Policy) -> np.ndarray:
    n_labels = probs.shape[1]
    if policy.name == "default":
        return np.full(n_labels, DEFAULT_THRESHOLD, dtype=np.float32)
    shared = shared_threshold(probs, y_true)
    if policy.name == "shared":
        return np.full(n_labels, shared, dtype=np.float32)
    y = np.asarray(y_true, dtype=bool)
    out = np.empty(n_labels, dtype=np.float32)
    for j in range(n_labels):
        n = int(y[:, j].sum())
        own = best_f1_threshold(probs[:, j], y[:, j]) if n else shared
        w = n / (n + policy.strength) if n + policy.strength > 0 else 0.0
        out[j] = w * own + (1 - w) * shared
    return out


def tune_thresholds(probs: np.ndarray, y_true: np.ndarray, strength: float = STRENGTHS[1]) -> np.ndarray:
    """Per-label thresholds shrunk toward the shared one (no model selection)."""
    return fit_thresholds(probs, y_true, Policy("per_label", strength))


def fold_ids(n: int, folds: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n) % folds


def tune(
    probs: np.ndarray,
    y_true: np.ndarray,
    hierarchy: LabelHierarchy,
    folds: int = FOLDS,
    policies: tuple[Policy, ...] = POLICIES,
    seed: int = 0,
) -> TuningResult:
    """The policy and decoder with the best out-of-fold score on dev, fitted on all
    of dev. Too few texts for folds keeps 0.5 (no honest way to tell)."""
    probs = np.asarray(probs, dtype=np.float32)
    y = np.asarray(y_true, dtype=bool)
    n = len(probs)
    folds = min(folds, n // 2)
    candidates = [(p, d) for p in policies for d in DECODERS]
    oof: dict[str, dict[str, float]] = {}
    if folds >= 2:
        ids = fold_ids(n, folds, seed)
        for policy in policies:
            fitted = [fit_thresholds(probs[ids != k], y[ids != k], policy) for k in range(folds)]
            for decoder in DECODERS:
                pred = np.zeros_like(y)
                for k in range(folds):
                    pred[ids == k] = decode(probs[ids == k], fitted[k], hierarchy, decoder)
                s = scores(y, pred)
                oof[candidate(policy.label, decoder)] = {
                    "micro_f1": round(float(s.micro_f1), 6),
                    "macro_f1": round(float(s.macro_f1), 6),
                }
        # Rigid before flexible, closure before topdown: ties keep the simpler choice.
        policy, decoder = max(
            candidates,
            key=lambda c: (
                round(sum(oof[candidate(c[0].label, c[1])].values()) / 2, 6),
                -candidates.index(c),
            ),
        )
    else:
        policy, decoder = Policy("default"), "closure"
    thresholds = fit_thresholds(probs, y, policy)

    def micro(t: np.ndarray, d: str) -> float:
        return float(scores(y, decode(probs, t, hierarchy, d)).micro_f1)

    default = fit_thresholds(probs, y, Policy("default"))
    return TuningResult(
        thresholds=thresholds,
        decoder=decoder,
        policy=policy.label,
        shared_threshold=shared_threshold(probs, y),
        out_of_fold=oof,
        dev_micro_f1={d: micro(thresholds, d) for d in DECODERS},
        default_micro_f1=micro(default, "closure"),
        folds=folds if folds >= 2 else 0,
    )


def save_tuning(path: str | Path, hierarchy: LabelHierarchy, result: TuningResult) -> dict:
    """Write the chosen thresholds and decoder to a thresholds.json (a checkpoint's or an
    export's) with every candidate's out-of-fold score; returns what to log or report."""
    save_thresholds(
        path,
        hierarchy,
        result.thresholds,
        source=f"{result.policy}: best out-of-fold score on dev ({result.folds} folds)",
        dev_micro_f1=result.dev_micro_f1,
        dev_micro_f1_default=result.default_micro_f1,
        **result.summary(),
    )
    logger.info(
        "thresholds: %s with %s decoder, chosen out-of-fold on dev (micro/macro F1 %s; 0.5 closure %s)",
        result.policy,
        result.decoder,
        result.chosen_out_of_fold,
        result.default_out_of_fold,
    )
    return {"decoder": result.decoder, "policy": result.policy, "out_of_fold": result.out_of_fold}
