"""Tests for hiercls.evaluation.metrics: overall, per-level and per-class scores on full label paths."""

import json
from pathlib import Path

import numpy as np
import pytest

from hiercls.evaluation.metrics import Scores, class_report, level_scores, report, scores
from hiercls.runtime.hierarchy import LabelHierarchy

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def h() -> LabelHierarchy:
    return LabelHierarchy.from_file(SAMPLE / "label.txt")


def approx(x: float):
    return pytest.approx(x, abs=1e-9)


def test_scores_hand_computed():
    # Columns a b c d.
    y_true = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 1]])
    y_pred = np.array([[1, 1, 0, 0], [1, 0, 0, 1], [0, 1, 0, 1]])
    # Per label (TP, FP, FN):  a (2,0,0) P=1  R=1 F=1
    #                          b (1,1,0) P=.5 R=1 F=2/3
    #                          c (0,0,1) P=0  R=0 F=0   (zero_division=0)
    #                          d (1,1,0) P=.5 R=1 F=2/3
    # micro: TP=4 FP=2 FN=1 -> P=4/6=0.666667, R=4/5=0.8, F1=2*4/(2*4+2+1)=8/11=0.727273
    # macro: P=(1+.5+0+.5)/4=0.5, R=(1+1+0+1)/4=0.75, F1=(1+2/3+0+2/3)/4=7/12=0.583333
    # exact match: only row 0 -> 1/3
    s = scores(y_true, y_pred)
    assert isinstance(s, Scores)
    assert s.accuracy == approx(1 / 3)
    assert s.micro_precision == approx(0.6666666666666666)
    assert s.micro_recall == approx(0.8)
    assert s.micro_f1 == approx(0.7272727272727273)
    assert s.macro_precision == approx(0.5)
    assert s.macro_recall == approx(0.75)
    assert s.macro_f1 == approx(0.5833333333333334)
    assert s.as_dict() == {
        "accuracy": 0.333333,
        "micro_precision": 0.666667,
        "micro_recall": 0.8,
        "micro_f1": 0.727273,
        "macro_precision": 0.5,
        "macro_recall": 0.75,
        "macro_f1": 0.583333,
    }
    json.dumps(s.as_dict())


def test_scores_perfect_and_empty_prediction():
    y = np.array([[1, 0, 1], [0, 1, 0]], dtype=bool)
    perfect = scores(y, y).as_dict()
    assert set(perfect.values()) == {1.0}
    none = scores(y, np.zeros_like(y)).as_dict()
    assert set(none.values()) == {0.0}  # zero_division=0, no warnings-as-NaN


def shared_name_case(h: LabelHierarchy) -> tuple[np.ndarray, np.ndarray]:
    y_true = h.multi_hot([["科技", "科技##发布"], ["娱乐", "娱乐##发布"], ["科技", "科技##发布"]])
    y_pred = h.multi_hot([["娱乐", "娱乐##发布"], ["科技", "科技##发布"], ["科技", "科技##发布"]])
    return y_true.astype(bool), y_pred.astype(bool)


def merge_by_last_name(y: np.ndarray, h: LabelHierarchy, ids: np.ndarray) -> np.ndarray:
    """What a report keyed on the last name would score (the PaddleNLP behaviour)."""
    names = sorted({h.labels[i].rsplit("##", 1)[-1] for i in ids})
    out = np.zeros((len(y), len(names)), dtype=bool)
    for i in ids:
        out[:, names.index(h.labels[i].rsplit("##", 1)[-1])] |= y[:, i]
    return out


def test_level_scores_keep_shared_last_name_apart(h):
    y_true, y_pred = shared_name_case(h)
    lv = level_scores(y_true, y_pred, h)
    assert sorted(lv) == [1, 2]
    # Level 2, 15 full-path classes (TP, FP, FN):
    #   科技##发布 (1,1,1) P=R=F=0.5;  娱乐##发布 (0,1,1) -> 0;  13 others -> 0
    #   macro P=R=F1 = 0.5/15 = 0.033333; micro TP=1 FP=2 FN=2 -> P=R=F1=1/3; exact match 1/3
    l2 = lv[2]
    assert l2.macro_f1 == approx(0.5 / 15)
    assert l2.macro_precision == approx(0.5 / 15)
    assert l2.macro_recall == approx(0.5 / 15)
    assert l2.micro_f1 == approx(1 / 3)
    assert l2.accuracy == approx(1 / 3)
    # Merged by last name there would be 14 classes and '发布' (3,0,0) would be perfect:
    # macro F1 = 1/14 = 0.071429, micro F1 = 1, exact match 1.
    ids2 = h.level_order()[1]
    merged = scores(merge_by_last_name(y_true, h, ids2), merge_by_last_name(y_pred, h, ids2))
    assert merged.macro_f1 == approx(1 / 14)
    assert merged.micro_f1 == approx(1.0)
    assert l2.macro_f1 != approx(merged.macro_f1)
    # Level 1, 5 classes: 科技 (1,1,1) F=0.5, 娱乐 (0,1,1) F=0 -> macro 0.5/5 = 0.1, micro 1/3.
    assert lv[1].macro_f1 == approx(0.1)
    assert lv[1].micro_f1 == approx(1 / 3)


def test_level_scores_three_levels():
    h3 = LabelHierarchy(("A", "A##B", "A##B##C", "D"))
    y_true = h3.multi_hot([["A", "A##B", "A##B##C"], ["D"]]).astype(bool)
    y_pred = h3.multi_hot([["A", "A##B"], ["D"]]).astype(bool)
    lv = level_scores(y_true, y_pred, h3)
    assert sorted(lv) == [1, 2, 3]
    assert lv[1].accuracy == 1.0 and lv[1].macro_f1 == 1.0
    assert lv[2].accuracy == 1.0 and lv[2].micro_f1 == 1.0
    assert lv[3].accuracy == approx(0.5)


def test_single_label_level_scores():
    h3 = LabelHierarchy(("A", "A##B", "A##B##C", "D"))
    y_true = h3.multi_hot([["A", "A##B", "A##B##C"], ["D"]]).astype(bool)
    y_pred = h3.multi_hot([["A", "A##B"], ["D"]]).astype(bool)
    # Level 3 has one column, A##B##C: true in row 0, never predicted -> (TP, FP, FN) = (0, 0, 1):
    # P=0 (zero_division), R=0, F1=0, micro and macro alike.
    l3 = level_scores(y_true, y_pred, h3)[3]
    assert (l3.micro_precision, l3.micro_recall, l3.micro_f1) == (0.0, 0.0, 0.0)
    assert (l3.macro_precision, l3.macro_recall, l3.macro_f1) == (0.0, 0.0, 0.0)


def test_class_report_rows(h):
    y_true, y_pred = shared_name_case(h)
    train_counts = np.arange(20) * 10
    rows = class_report(y_true, y_pred, h, train_counts)
    assert [r["label"] for r in rows] == list(h.labels)
    tech = rows[h.index["科技##发布"]]
    assert tech == {
        "label": "科技##发布",
        "level": 2,
        "eval_count": 2,
        "train_count": 90,
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
    }
    assert list(tech) == ["label", "level", "eval_count", "train_count", "precision", "recall", "f1"]
    ent = rows[h.index["娱乐##发布"]]
    assert (ent["eval_count"], ent["precision"], ent["recall"], ent["f1"]) == (1, 0.0, 0.0, 0.0)
    assert rows[h.index["科技"]]["level"] == 1 and rows[h.index["科技"]]["eval_count"] == 2
    assert rows[h.index["体育"]] == {
        "label": "体育",
        "level": 1,
        "eval_count": 0,
        "train_count": 0,
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
    }
    assert "train_count" not in class_report(y_true, y_pred, h)[0]


def test_class_report_rounds(h):
    y_true = h.multi_hot([["体育"], ["体育"], ["体育"], []]).astype(bool)
    y_pred = h.multi_hot([["体育"], [], [], ["体育"]]).astype(bool)
    row = class_report(y_true, y_pred, h)[0]
    # TP=1 FP=1 FN=2 -> P=0.5 R=1/3 F1=2/(2+1+2)=0.4
    assert (row["precision"], row["recall"], row["f1"]) == (0.5, 0.333333, 0.4)


def test_report(h):
    y_true, y_pred = shared_name_case(h)
    raw = y_pred.copy()
    raw[0, h.index["娱乐"]] = False  # raw prediction had an orphan child in row 0
    out = report(y_true, y_pred, h, raw_pred=raw, train_counts=np.ones(20))
    assert out["num_examples"] == 3
    assert out["overall"] == scores(y_true, y_pred).as_dict()
    assert list(out["levels"]) == ["1", "2"]
    assert out["levels"]["2"]["macro_f1"] == 0.033333
    assert len(out["classes"]) == 20 and out["classes"][0]["train_count"] == 1
    assert out["violation_rate"] == 0.0
    assert out["raw_violation_rate"] == approx(1 / 3)
    json.dumps(out, ensure_ascii=False)
    no_raw = report(y_true, raw, h)
    assert "raw_violation_rate" not in no_raw
    assert no_raw["violation_rate"] == approx(1 / 3)
