"""Tests for hiercls.runtime.thresholds: saving and loading per-label thresholds."""

import json
from pathlib import Path

import numpy as np
import pytest

from hiercls.runtime.artifacts import THRESHOLDS_FILE
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.runtime.thresholds import (
    DEFAULT_THRESHOLD,
    default_thresholds,
    load_thresholds,
    save_thresholds,
)

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def h() -> LabelHierarchy:
    return LabelHierarchy.from_file(SAMPLE / "label.txt")


def dump(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    return path


def test_round_trip(tmp_path, h):
    t = np.linspace(0.05, 0.95, len(h)).astype(np.float32)
    path = tmp_path / "model" / THRESHOLDS_FILE
    save_thresholds(path, h, t, decoder="topdown", metric="macro_f1")
    loaded = load_thresholds(path, h)
    assert loaded.dtype == np.float32 and loaded.shape == (20,)
    np.testing.assert_allclose(loaded, t, atol=1e-6)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["decoder"] == "topdown" and data["metric"] == "macro_f1"
    assert list(data["thresholds"]) == list(h.labels)  # label order, full paths
    assert data["thresholds"]["科技##发布"] != data["thresholds"]["娱乐##发布"]
    assert "科技##发布" in path.read_text(encoding="utf-8")  # not \u-escaped
    assert not [p.name for p in path.parent.iterdir() if p.name != THRESHOLDS_FILE]  # no temp files left


def test_order_in_file_does_not_matter(tmp_path, h):
    table = {label: 0.1 + 0.01 * i for i, label in enumerate(h.labels)}
    path = dump(tmp_path / "t.json", {"thresholds": dict(reversed(list(table.items())))})
    np.testing.assert_allclose(load_thresholds(path, h), list(table.values()), rtol=1e-6)


def test_missing_file_gives_defaults(tmp_path, h):
    t = load_thresholds(tmp_path / "absent.json", h)
    assert DEFAULT_THRESHOLD == 0.5
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t, np.full(20, 0.5))
    np.testing.assert_array_equal(default_thresholds(h, 0.3), np.full(20, 0.3, np.float32))


def test_save_wrong_shape(tmp_path, h):
    with pytest.raises(ValueError, match="need 20 thresholds"):
        save_thresholds(tmp_path / "t.json", h, np.full(19, 0.5))
    assert not (tmp_path / "t.json").exists()


def test_unknown_label(tmp_path, h):
    table = {label: 0.5 for label in h.labels}
    table["发布"] = 0.5
    path = dump(tmp_path / "t.json", {"thresholds": table})
    with pytest.raises(ValueError, match=r"unknown: \['发布'\]") as e:
        load_thresholds(path, h)
    assert str(path) in str(e.value)


def test_missing_label(tmp_path, h):
    table = {label: 0.5 for label in h.labels if label != "娱乐##发布"}
    path = dump(tmp_path / "t.json", {"thresholds": table})
    with pytest.raises(ValueError, match=r"missing: \['娱乐##发布'\]"):
        load_thresholds(path, h)


def test_other_label_set(tmp_path, h):
    path = tmp_path / "t.json"
    other = LabelHierarchy(("A", "A##b"))
    save_thresholds(path, other, [0.4, 0.6])
    with pytest.raises(ValueError, match="do not match label.txt"):
        load_thresholds(path, h)


@pytest.mark.parametrize("value", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_out_of_range(tmp_path, h, value):
    table = {label: 0.5 for label in h.labels}
    table["社会##判决"] = value
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"thresholds": table}), encoding="utf-8")  # NaN written as NaN
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        load_thresholds(path, h)


@pytest.mark.parametrize("obj", [{}, {"thresholds": [0.5] * 20}, {"thresholds": "0.5"}])
def test_no_thresholds_object(tmp_path, h, obj):
    with pytest.raises(ValueError, match="expected"):
        load_thresholds(dump(tmp_path / "t.json", obj), h)


def test_invalid_json(tmp_path, h):
    path = tmp_path / "t.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError):
        load_thresholds(path, h)


@pytest.mark.parametrize("kind", ["list", "null"])
def test_malformed_json_types_raise_value_error(tmp_path, h, kind):
    if kind == "list":
        obj = [0.5] * 20
    else:
        obj = {"thresholds": {label: None for label in h.labels}}
    path = dump(tmp_path / "t.json", obj)
    with pytest.raises(ValueError, match="t.json"):
        load_thresholds(path, h)
