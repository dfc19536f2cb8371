"""Model selection on dev: the one score that picks the best epoch (training.loop)
and decides whether averaged weights replace it (training.averaging).

Scored at 0.5 with the closure decoder, whatever thresholds are tuned later, so
that every epoch and every average is judged the same way.
"""

from __future__ import annotations

import numpy as np

from hiercls.evaluation.metrics import scores
from hiercls.modeling.inference import paddle_logits
from hiercls.runtime.decoding import decode, sigmoid
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.runtime.thresholds import default_thresholds


def evaluate_micro_f1(model, ids, y_true: np.ndarray, hierarchy: LabelHierarchy, batch_size: int, pad_id: int) -> dict:
    probs = sigmoid(paddle_logits(model, ids, batch_size, pad_id))
    pred = decode(probs, default_thresholds(hierarchy), hierarchy)
    return scores(y_true, pred).as_dict()
