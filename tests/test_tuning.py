"""Per-label threshold tuning and the choice of decoder."""

from __future__ import annotations

import numpy as np

from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.training.tuning import tune, tune_thresholds


def test_threshold_separates_a_separable_label():
    probs = np.array([[0.9], [0.35], [0.3], [0.1], [0.05], [0.2]], dtype=np.float32)
    y = np.array([[1], [1], [1], [0], [0], [0]])
    (t,) = tune_thresholds(probs, y, min_support=1)
    # Any t in (0.2, 0.3] gives F1 = 1; the grid value in that range closest to 0.5 is 0.3.
    assert t == np.float32(0.3)


def test_rare_label_keeps_the_floor():
    probs = np.array([[0.06], [0.01], [0.02]], dtype=np.float32)
    y = np.array([[1], [0], [0]])
    (t,) = tune_thresholds(probs, y, min_support=5, floor=0.3)
    assert t == np.float32(0.3)  # the fit would say 0.05, one example is no evidence
    (t,) = tune_thresholds(probs, y, min_support=1, floor=0.3)
    assert t == np.float32(0.05)


def test_label_without_positives_keeps_default():
    probs = np.random.default_rng(0).random((10, 1)).astype(np.float32)
    (t,) = tune_thresholds(probs, np.zeros((10, 1)))
    assert t == np.float32(0.5)


def test_decoder_choice_follows_dev_f1():
    h = LabelHierarchy(("A", "A##x", "B", "B##y"))
    # The child is confident while its parent sits under any threshold: closure
    # recovers the parent, top-down drops both. Closure must win.
    probs = np.array([[0.02, 0.9, 0.01, 0.01], [0.01, 0.01, 0.9, 0.95]] * 4, dtype=np.float32)
    y = h.multi_hot([["A", "A##x"], ["B", "B##y"]] * 4)
    result = tune(probs, y, h, min_support=1, floor=0.3)
    assert result.decoder == "closure"
    assert result.dev_micro_f1["closure"] == 1.0 > result.dev_micro_f1["topdown"]


def test_tuning_never_scores_below_the_default():
    # Whatever the data, the configuration chosen scores at least 0.5-everywhere on dev.
    h = LabelHierarchy(("A", "B"))
    probs = np.random.default_rng(1).random((200, 2)).astype(np.float32)
    y = (probs > 0.5).astype(int)
    y[:5, 0] = 1 - y[:5, 0]
    result = tune(probs, y, h, min_support=1, floor=0.0)
    assert result.dev_micro_f1[result.decoder] >= result.default_micro_f1


def test_worse_tuned_thresholds_fall_back_to_the_default(monkeypatch):
    import hiercls.training.tuning as tuning

    h = LabelHierarchy(("A", "A##x"))
    probs = np.array([[0.9, 0.8], [0.1, 0.2], [0.7, 0.6]], dtype=np.float32)
    y = np.array([[1, 1], [0, 0], [1, 1]])
    monkeypatch.setattr(tuning, "tune_thresholds", lambda *a, **k: np.full(2, 0.95, dtype=np.float32))
    result = tuning.tune(probs, y, h)
    assert result.kept_default
    assert np.allclose(result.thresholds, 0.5)
    assert result.dev_micro_f1[result.decoder] == result.default_micro_f1 == 1.0
