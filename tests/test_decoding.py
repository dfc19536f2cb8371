"""Tests for hiercls.runtime.decoding: sigmoid, closure/topdown decoding, violation_rate,
LabelDecoder loaded from a model folder."""

import warnings
from pathlib import Path

import numpy as np
import pytest

from hiercls.runtime.artifacts import DEFAULT_MAX_SEQ_LENGTH, read_train_meta, train_max_seq_length
from hiercls.runtime.decoding import DECODERS, LabelDecoder, decode, sigmoid, violation_rate
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.runtime.thresholds import save_thresholds

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def h() -> LabelHierarchy:
    return LabelHierarchy.from_file(SAMPLE / "label.txt")


@pytest.fixture(scope="module")
def h3() -> LabelHierarchy:
    return LabelHierarchy(("A", "A##B", "A##B##C", "A##B##D", "A##E", "F", "F##G", "F##G##H", "F##G##H##I"))


def probs_for(h: LabelHierarchy, **values: float) -> np.ndarray:
    p = np.zeros((1, len(h)), dtype=np.float32)
    for label, v in values.items():
        p[0, h.index[label]] = v
    return p


def predicted(h: LabelHierarchy, row: np.ndarray) -> list[str]:
    return [h.labels[i] for i in np.flatnonzero(row)]


def test_sigmoid_stable_at_extremes():
    x = np.array([[-1000.0, -100.0, -1.0, 0.0, 1.0, 100.0, 1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            y = sigmoid(x)
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.all(np.isfinite(y))
    assert y[0, 0] == 0.0 and y[0, -1] == 1.0
    assert y[0, 3] == 0.5
    np.testing.assert_allclose(y[0, 2], 1 / (1 + np.e), rtol=1e-6)
    np.testing.assert_allclose(y[0, 4], 1 / (1 + np.exp(-1)), rtol=1e-6)
    np.testing.assert_allclose(y[0, 2] + y[0, 4], 1.0, rtol=1e-6)


def test_sigmoid_matches_reference():
    x = np.linspace(-30, 30, 121, dtype=np.float32).reshape(11, 11)
    np.testing.assert_allclose(sigmoid(x), 1 / (1 + np.exp(-x.astype(np.float64))), rtol=1e-5, atol=1e-7)


def test_closure_adds_parent(h):
    p = probs_for(h, **{"科技##发布": 0.9, "科技": 0.2, "娱乐": 0.7})
    pred = decode(p, 0.5, h, "closure")
    assert pred.dtype == bool and pred.shape == (1, 20)
    assert predicted(h, pred[0]) == ["科技", "科技##发布", "娱乐"]


def test_default_decoder_is_closure(h):
    p = probs_for(h, **{"娱乐##发布": 0.9})
    assert predicted(h, decode(p, 0.5, h)[0]) == ["娱乐", "娱乐##发布"]


def test_topdown_drops_orphan_child(h):
    p = probs_for(h, **{"科技##发布": 0.9, "科技": 0.2, "娱乐": 0.7, "娱乐##获奖": 0.6})
    assert predicted(h, decode(p, 0.5, h, "topdown")[0]) == ["娱乐", "娱乐##获奖"]


def test_closure_and_topdown_three_levels(h3):
    p = probs_for(h3, **{"A##B##C": 0.9, "F": 0.9, "F##G##H##I": 0.8, "F##G##H": 0.8})
    assert predicted(h3, decode(p, 0.5, h3, "closure")[0]) == [
        "A",
        "A##B",
        "A##B##C",
        "F",
        "F##G",
        "F##G##H",
        "F##G##H##I",
    ]
    # F##G is below threshold, so everything under it goes.
    assert predicted(h3, decode(p, 0.5, h3, "topdown")[0]) == ["F"]


def test_threshold_is_inclusive(h):
    p = probs_for(h, **{"体育": 0.5})
    assert predicted(h, decode(p, 0.5, h)[0]) == ["体育"]


def test_per_label_thresholds(h):
    t = np.full(20, 0.5, dtype=np.float32)
    t[h.index["科技##发布"]] = 0.95
    t[h.index["娱乐##发布"]] = 0.1
    t[h.index["体育"]] = 0.3
    p = probs_for(h, **{"科技": 0.9, "科技##发布": 0.9, "娱乐": 0.6, "娱乐##发布": 0.2, "体育": 0.35})
    for decoder in DECODERS:
        assert predicted(h, decode(p, t, h, decoder)[0]) == ["体育", "科技", "娱乐", "娱乐##发布"]
    # The same probabilities with a scalar threshold give a different answer.
    assert predicted(h, decode(p, 0.5, h)[0]) == ["科技", "科技##发布", "娱乐"]


def test_decode_does_not_modify_input(h):
    rng = np.random.default_rng(1)
    p = rng.random((5, 20)).astype(np.float32)
    before = p.copy()
    decode(p, 0.5, h, "closure")
    decode(p, 0.5, h, "topdown")
    np.testing.assert_array_equal(p, before)


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("which", ["h", "h3"])
def test_never_violates_on_random_probs(request, decoder, which):
    hier = request.getfixturevalue(which)
    rng = np.random.default_rng(0)
    probs = rng.random((200, len(hier))).astype(np.float32)
    raw = probs >= 0.5
    assert violation_rate(raw, hier) > 0.5  # the input is far from consistent
    thresholds = rng.uniform(0.05, 0.95, len(hier)).astype(np.float32)
    for t in (0.5, thresholds):
        pred = decode(probs, t, hier, decoder)
        assert violation_rate(pred, hier) == 0.0
        raw = probs >= t
        if decoder == "closure":
            assert np.all(pred >= raw)  # only adds labels
        else:
            assert np.all(pred <= raw)  # only removes labels


def test_closure_equals_close_of_thresholded(h3):
    rng = np.random.default_rng(2)
    probs = rng.random((50, len(h3))).astype(np.float32)
    pred = decode(probs, 0.6, h3, "closure")
    for r in range(50):
        raw = [h3.labels[i] for i in np.flatnonzero(probs[r] >= 0.6)]
        assert predicted(h3, pred[r]) == h3.close(raw)


@pytest.mark.parametrize("shape", [(20,), (3, 19), (3, 21), (2, 3, 20)])
def test_wrong_shape_raises(h, shape):
    with pytest.raises(ValueError, match=r"\[N, 20\]"):
        decode(np.zeros(shape, dtype=np.float32), 0.5, h)


def test_unknown_decoder_raises(h):
    with pytest.raises(ValueError, match="unknown decoder"):
        decode(np.zeros((1, 20)), 0.5, h, "greedy")


def test_violation_rate_hand_computed(h):
    rows = [
        ["科技", "科技##发布"],  # consistent
        ["科技##发布"],  # orphan child
        [],  # nothing
        ["娱乐"],  # parent only
        ["娱乐", "娱乐##发布", "体育##夺冠", "社会##火灾"],  # two orphans, still one row
    ]
    pred = h.multi_hot(rows).astype(bool)
    # 2 of 5 rows violate -> 0.4
    assert violation_rate(pred, h) == pytest.approx(0.4)
    assert violation_rate(pred[:4], h) == pytest.approx(0.25)
    assert violation_rate(np.zeros((0, 20), bool), h) == 0.0
    flat = LabelHierarchy(("A", "B"))
    assert violation_rate(np.ones((3, 2), bool), flat) == 0.0


def test_violation_rate_three_levels(h3):
    # A##B##C with A but without A##B is a violation; grandparent does not count.
    pred = h3.multi_hot([["A", "A##B##C"], ["A", "A##B", "A##B##C"]]).astype(bool)
    assert violation_rate(pred, h3) == pytest.approx(0.5)


def test_label_decoder_from_a_folder_reads_labels_thresholds_and_the_tuned_decoder(h3, tmp_path):
    h3.save(tmp_path / "label.txt")
    untuned = LabelDecoder.from_folder(tmp_path)  # no thresholds.json: 0.5 everywhere, closure
    assert untuned.hierarchy == h3 and untuned.decoder == "closure"
    np.testing.assert_allclose(untuned.thresholds, 0.5)

    t = np.full(len(h3), 0.5)
    t[h3.index["A##B##C"]] = 0.2
    save_thresholds(tmp_path / "thresholds.json", h3, t, decoder="topdown")
    tuned = LabelDecoder.from_folder(tmp_path)
    assert tuned.decoder == "topdown" and LabelDecoder.from_folder(tmp_path, "closure").decoder == "closure"
    p = probs_for(h3, **{"A##B##C": 0.3})
    assert tuned.label_sets(p) == [()]  # topdown: the parents are below threshold
    assert tuned.override(decoder="closure").label_sets(p) == [("A", "A##B", "A##B##C")]
    assert tuned.override(thresholds=0.5, decoder="closure").label_sets(p) == [()]
    probs, pred = tuned.decode_logits(np.log(p / (1 - p + 1e-9) + 1e-9))
    np.testing.assert_array_equal(pred, tuned.decode(probs))
    with pytest.raises(ValueError, match="unknown decoder"):
        LabelDecoder(h3, 0.5, "greedy")


def test_train_max_seq_length_has_one_default(tmp_path):
    assert read_train_meta(tmp_path) == {}
    assert train_max_seq_length({}) == DEFAULT_MAX_SEQ_LENGTH
    assert train_max_seq_length({"max_seq_length": 64}) == 64
    assert train_max_seq_length({"max_seq_length": 64}, 32) == 32
    (tmp_path / "train_meta.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="train_meta.json: not valid JSON"):
        read_train_meta(tmp_path)
