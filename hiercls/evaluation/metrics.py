"""Multi-label metrics over label paths: overall, per level and per class.

Every number keys on the full label path. PaddleNLP's per-level report keyed on
the last name, merging e.g. ``科技##发布`` with ``娱乐##发布``; here they stay two
classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hiercls.runtime.decoding import violation_rate
from hiercls.runtime.hierarchy import LabelHierarchy


@dataclass
class Scores:
    accuracy: float  # exact match of the whole label set
    micro_precision: float
    micro_recall: float
    micro_f1: float
    macro_precision: float
    macro_recall: float
    macro_f1: float

    def as_dict(self) -> dict[str, float]:
        return {k: round(float(v), 6) for k, v in vars(self).items()}


def scores(y_true: np.ndarray, y_pred: np.ndarray) -> Scores:
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    y_true = np.asarray(y_true, dtype=bool)
    y_pred = np.asarray(y_pred, dtype=bool)
    accuracy = float(accuracy_score(y_true, y_pred))
    if y_true.shape[1] == 1:
        # sklearn reads one column as a binary target and would score "absent" as a
        # class; one label is its own micro and macro average.
        p, r, f, _ = precision_recall_fscore_support(y_true[:, 0], y_pred[:, 0], average="binary", zero_division=0)
        return Scores(accuracy, p, r, f, p, r, f)
    kw = dict(zero_division=0)
    mp, mr, mf, _ = precision_recall_fscore_support(y_true, y_pred, average="micro", **kw)
    Mp, Mr, Mf, _ = precision_recall_fscore_support(y_true, y_pred, average="macro", **kw)
    return Scores(accuracy, mp, mr, mf, Mp, Mr, Mf)


def level_scores(y_true: np.ndarray, y_pred: np.ndarray, hierarchy: LabelHierarchy) -> dict[int, Scores]:
    """Scores restricted to the columns of each level (columns are full paths)."""
    return {
        level: scores(y_true[:, ids], y_pred[:, ids])
        for level, ids in enumerate(hierarchy.level_order(), 1)
        if len(ids)
    }


def class_report(
    y_true: np.ndarray, y_pred: np.ndarray, hierarchy: LabelHierarchy, train_counts: np.ndarray | None = None
) -> list[dict]:
    from sklearn.metrics import precision_recall_fscore_support

    y_true, y_pred = np.asarray(y_true, bool), np.asarray(y_pred, bool)
    # labels=[True] keeps a one-column matrix from being scored as two classes.
    p, r, f, support = (
        precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0)
        if y_true.shape[1] > 1
        else precision_recall_fscore_support(y_true[:, 0], y_pred[:, 0], labels=[True], average=None, zero_division=0)
    )
    rows = []
    for i, label in enumerate(hierarchy.labels):
        row = {"label": label, "level": int(hierarchy.levels[i]), "eval_count": int(support[i])}
        if train_counts is not None:
            row["train_count"] = int(train_counts[i])
        row.update(precision=round(float(p[i]), 6), recall=round(float(r[i]), 6), f1=round(float(f[i]), 6))
        rows.append(row)
    return rows


def report(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    hierarchy: LabelHierarchy,
    raw_pred: np.ndarray | None = None,
    train_counts: np.ndarray | None = None,
) -> dict:
    """Everything evaluate.py prints, as one JSON-able dict. ``raw_pred`` is the
    thresholded prediction before decoding, to measure hierarchy violations."""
    out = {
        "num_examples": int(len(y_true)),
        "overall": scores(y_true, y_pred).as_dict(),
        "levels": {str(k): v.as_dict() for k, v in level_scores(y_true, y_pred, hierarchy).items()},
        "classes": class_report(y_true, y_pred, hierarchy, train_counts),
        "violation_rate": violation_rate(y_pred, hierarchy),
    }
    if raw_pred is not None:
        out["raw_violation_rate"] = violation_rate(raw_pred, hierarchy)
    return out
