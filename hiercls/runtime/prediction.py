"""One text's result, the same whether it came from Triton or an offline predictor."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .hierarchy import LabelHierarchy


@dataclass
class Prediction:
    text: str
    labels: list[str] = field(default_factory=list)  # label paths, label-file order
    label_ids: list[int] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "labels": self.labels,
            "label_ids": self.label_ids,
            "confidences": [round(c, 6) for c in self.confidences],
        }


def from_decoded(texts: list[str], probs: np.ndarray, pred: np.ndarray, hierarchy: LabelHierarchy) -> list[Prediction]:
    out = []
    for text, p, row in zip(texts, probs, pred):
        ids = np.flatnonzero(row).tolist()
        out.append(Prediction(text, [hierarchy.labels[i] for i in ids], ids, [float(p[i]) for i in ids]))
    return out
