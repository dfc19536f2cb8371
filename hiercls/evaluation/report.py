"""evaluate.py's report: metrics overall, per level, per class; bad cases; text and JSON."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from wcwidth import wcswidth

from hiercls.data.reading import Example
from hiercls.evaluation.metrics import report
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.runtime.io import atomic_write_text


def evaluation_report(
    probs: np.ndarray,
    examples: list[Example],
    hierarchy: LabelHierarchy,
    pred: np.ndarray,
    thresholds: np.ndarray | float,
    train_counts: np.ndarray | None = None,
) -> dict:
    y_true = hierarchy.multi_hot([e.labels for e in examples]).astype(bool)
    raw = probs >= np.asarray(thresholds, dtype=np.float32)  # before the decoder repairs the hierarchy
    return report(y_true, pred, hierarchy, raw_pred=raw, train_counts=train_counts)


def display_width(text: str) -> int:
    """Terminal columns: CJK characters take two, so the per-class table lines up."""
    width = wcswidth(text)
    return width if width >= 0 else len(text)  # -1: a control character, which a label never holds


def format_report(rep: dict, train_size: int | None = None) -> str:
    o = rep["overall"]
    n = rep["num_examples"]
    lines = [
        f"examples: {n}" + (f" (train: {train_size})" if train_size else ""),
        f"exact-match accuracy: {100 * o['accuracy']:.2f}",
        f"micro  precision {100 * o['micro_precision']:.2f} | recall {100 * o['micro_recall']:.2f} | F1 {100 * o['micro_f1']:.2f}",
        f"macro  precision {100 * o['macro_precision']:.2f} | recall {100 * o['macro_recall']:.2f} | F1 {100 * o['macro_f1']:.2f}",
        f"hierarchy violations: raw thresholded {100 * rep.get('raw_violation_rate', 0):.2f}% of texts, "
        f"after decoding {100 * rep['violation_rate']:.2f}%",
    ]
    for level, s in rep["levels"].items():
        lines.append(
            f"level {level}: macro F1 {100 * s['macro_f1']:.2f} | micro F1 {100 * s['micro_f1']:.2f} | "
            f"accuracy {100 * s['accuracy']:.2f}"
        )
    lines.append("per class (full label path):")
    width = max(display_width(c["label"]) for c in rep["classes"])
    for c in rep["classes"]:
        train = f"train {c['train_count']:5d} ({100 * c['train_count'] / train_size:4.1f}%) | " if train_size else ""
        lines.append(
            f"  {c['label']}{' ' * (width - display_width(c['label']))} {train}eval {c['eval_count']:4d} ({100 * c['eval_count'] / max(n, 1):4.1f}%) | "
            f"P {100 * c['precision']:6.2f} R {100 * c['recall']:6.2f} F1 {100 * c['f1']:6.2f}"
        )
    return "\n".join(lines)


def write_bad_cases(path: str | Path, examples: list[Example], pred: np.ndarray, hierarchy: LabelHierarchy) -> int:
    """``Prediction<TAB>Label<TAB>Text`` for every text whose label set is not exact."""
    rows = ["Prediction\tLabel\tText"]
    for e, p in zip(examples, pred):
        predicted = [hierarchy.labels[i] for i in np.flatnonzero(p)]
        if set(predicted) != set(e.labels):
            rows.append(f"{','.join(predicted)}\t{','.join(e.labels)}\t{e.text}")
    atomic_write_text(path, "\n".join(rows) + "\n")
    return len(rows) - 1
