"""Threshold policies, their out-of-fold choice, and the choice of decoder."""

from __future__ import annotations

import numpy as np

from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.tuning import Policy, best_f1_threshold, fit_thresholds, shared_threshold, tune, tune_thresholds


def test_threshold_falls_midway_between_the_last_kept_score_and_the_next():
    probs = np.array([0.9, 0.35, 0.3, 0.1, 0.05, 0.2], dtype=np.float32)
    y = np.array([1, 1, 1, 0, 0, 0])
    # Any t in (0.2, 0.3] gives F1 = 1; the cut sits midway, not on a training score.
    assert best_f1_threshold(probs, y) == np.float32((0.3 + 0.2) / 2)


def test_shared_threshold_is_the_micro_f1_optimum_over_all_labels():
    probs = np.array([[0.9, 0.4], [0.45, 0.2], [0.1, 0.8]], dtype=np.float32)
    y = np.array([[1, 1], [1, 0], [0, 1]])
    t = shared_threshold(probs, y)
    assert 0.2 < t <= 0.4  # keeps 0.4 and 0.45, drops 0.2 and 0.1: micro F1 1


def test_rare_label_shrinks_toward_the_shared_threshold():
    rng = np.random.default_rng(0)
    # Label 0: many positives, separable at 0.5. Label 1: one positive at 0.06.
    probs = np.column_stack([rng.random(200), np.r_[0.06, rng.random(199) * 0.05]]).astype(np.float32)
    y = np.column_stack([probs[:, 0] > 0.5, np.r_[1, np.zeros(199)]]).astype(int)
    own = best_f1_threshold(probs[:, 1], y[:, 1])
    shared = shared_threshold(probs, y)
    (t0, t1) = tune_thresholds(probs, y, strength=10.0)
    assert own < 0.06 and shared > 0.3
    # One positive weighs 1/11: the threshold stays near the shared one, not at 0.05.
    assert abs(t1 - (own + 10 * shared) / 11) < 1e-5
    assert t1 > 0.25


def test_label_without_positives_takes_the_shared_threshold():
    probs = np.random.default_rng(0).random((10, 2)).astype(np.float32)
    y = np.column_stack([probs[:, 0] > 0.3, np.zeros(10)])
    t = fit_thresholds(probs, y, Policy("per_label", 10.0))
    assert t[1] == np.float32(shared_threshold(probs, y))


def test_decoder_choice_follows_out_of_fold_f1():
    h = LabelHierarchy(("A", "A##x", "B", "B##y"))
    # The child is confident while its parent sits under any threshold: closure
    # recovers the parent, top-down drops both. Closure must win.
    probs = np.array([[0.02, 0.9, 0.01, 0.01], [0.01, 0.01, 0.9, 0.95]] * 10, dtype=np.float32)
    y = h.multi_hot([["A", "A##x"], ["B", "B##y"]] * 10)
    result = tune(probs, y, h)
    assert result.decoder == "closure"
    assert result.out_of_fold[f"{result.policy}/closure"]["micro_f1"] == 1.0
    assert result.out_of_fold["default/topdown"]["micro_f1"] < 1.0


def test_thresholds_that_only_fit_noise_lose_to_0_5_out_of_fold():
    # Scores carry no signal beyond 0.5: per-label optima fit noise; out of fold
    # they cannot beat the rigid policy, which wins ties.
    rng = np.random.default_rng(1)
    h = LabelHierarchy(tuple(f"L{i}" for i in range(6)))
    y = rng.random((300, 6)) < 0.3
    probs = np.where(y, rng.uniform(0.5, 1.0, y.shape), rng.uniform(0.0, 0.5, y.shape)).astype(np.float32)
    noisy = probs.copy()
    flip = rng.random(y.shape) < 0.1
    noisy[flip] = 1 - noisy[flip]
    result = tune(noisy, y, h)
    assert result.policy in ("default", "shared")
    assert abs(float(result.thresholds[0]) - 0.5) < 0.05


def test_a_real_shift_is_found_and_kept():
    # Every positive scores 0.2-0.45: 0.5 misses them all; a lower threshold is real.
    rng = np.random.default_rng(2)
    h = LabelHierarchy(("A", "B"))
    y = rng.random((400, 2)) < 0.4
    probs = np.where(y, rng.uniform(0.2, 0.45, y.shape), rng.uniform(0.0, 0.15, y.shape)).astype(np.float32)
    result = tune(probs, y, h)
    assert result.policy != "default"
    assert result.out_of_fold[f"{result.policy}/{result.decoder}"]["micro_f1"] > 0.99
    assert result.out_of_fold["default/closure"]["micro_f1"] == 0.0
    assert np.all(result.thresholds < 0.2) and np.all(result.thresholds > 0.15)


def test_too_few_texts_keep_0_5():
    h = LabelHierarchy(("A",))
    result = tune(np.array([[0.3], [0.8], [0.1]], dtype=np.float32), np.array([[1], [1], [0]]), h)
    assert result.kept_default and result.folds == 0
    assert np.allclose(result.thresholds, 0.5)
