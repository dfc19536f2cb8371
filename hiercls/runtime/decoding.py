"""From logits to label sets that respect the hierarchy.

Two decoders, both of which never output a child without its parent:

- ``closure``: threshold every label independently, then add the ancestors of
  every predicted label (a confident child is evidence for its parent).
- ``topdown``: a label is kept only if it passes its threshold *and* its parent
  was kept (a child under an unpredicted parent is dropped).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from .hierarchy import LabelHierarchy

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
