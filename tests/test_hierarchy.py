"""Tests for hiercls.runtime.hierarchy: parsing label.txt and hierarchy helpers."""

from pathlib import Path

import numpy as np
import pytest

from hiercls.runtime.hierarchy import LabelFileError, LabelHierarchy, label_level, parent_path

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
LEVEL1 = ["体育", "财经", "科技", "社会", "娱乐"]


def write(tmp_path: Path, text: str, name: str = "label.txt") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def sample() -> LabelHierarchy:
    return LabelHierarchy.from_file(SAMPLE / "label.txt")


def test_sample_label_file(sample):
    assert len(sample) == 20
    assert sample.labels[:4] == ("体育", "体育##夺冠", "体育##转会", "体育##退役")
    assert [x for x in sample.labels if "##" not in x] == LEVEL1
    assert sum("##" in x for x in sample.labels) == 15
    # Same last name, different parents: two distinct labels.
    assert sample.index["科技##发布"] == 9
    assert sample.index["娱乐##发布"] == 17
    assert sample.depth == 2


def test_sample_parents_and_levels(sample):
    assert sample.parents.dtype == np.int64
    assert sample.levels.dtype == np.int64
    expected_parents = []
    for block in range(5):
        expected_parents += [-1, 4 * block, 4 * block, 4 * block]
    assert sample.parents.tolist() == expected_parents
    assert sample.levels.tolist() == [1, 2, 2, 2] * 5
    assert sample.parents[sample.index["娱乐##发布"]] == sample.index["娱乐"]
    assert sample.parents[sample.index["科技##发布"]] == sample.index["科技"]


def test_parent_path_and_level():
    assert parent_path("A") is None
    assert parent_path("A##B") == "A"
    assert parent_path("A##B##C") == "A##B"
    assert label_level("A") == 1
    assert label_level("A##B##C") == 3


def test_tmp_file_skips_blank_lines_and_strips(tmp_path):
    p = write(tmp_path, "\nA\n  A##x  \n\nB\r\nB##y\n\n")
    h = LabelHierarchy.from_file(p)
    assert h.labels == ("A", "A##x", "B", "B##y")
    assert h.parents.tolist() == [-1, 0, -1, 2]


def test_child_may_precede_parent(tmp_path):
    h = LabelHierarchy.from_file(write(tmp_path, "A##x\nA\n"))
    assert h.labels == ("A##x", "A")
    assert h.parents.tolist() == [1, -1]


def test_three_levels_ancestors(tmp_path):
    h = LabelHierarchy.from_file(write(tmp_path, "A\nA##B\nA##B##C\nD\nA##E\n"))
    assert h.parents.tolist() == [-1, 0, 1, -1, 0]
    assert h.levels.tolist() == [1, 2, 3, 1, 2]
    assert h.depth == 3
    assert h.ancestors(h.index["A##B##C"]) == [1, 0]  # nearest first
    assert h.ancestors(h.index["A##B"]) == [0]
    assert h.ancestors(h.index["A"]) == []
    assert h.ancestors(h.index["A##E"]) == [0]


def test_duplicate_label_names_file_and_line(tmp_path):
    p = write(tmp_path, "A\nA##x\n\nA##x\n")
    with pytest.raises(LabelFileError) as e:
        LabelHierarchy.from_file(p)
    msg = str(e.value)
    assert f"{p}:4:" in msg
    assert "A##x" in msg and "line 2" in msg


def test_missing_parent_names_file_and_line(tmp_path):
    p = write(tmp_path, "A\nA##x\nB##y\n")
    with pytest.raises(LabelFileError) as e:
        LabelHierarchy.from_file(p)
    msg = str(e.value)
    assert f"{p}:3:" in msg
    assert "'B##y'" in msg and "'B'" in msg


def test_missing_middle_level_names_line(tmp_path):
    p = write(tmp_path, "A\nA##B##C\n")
    with pytest.raises(LabelFileError, match=r":2: .*'A##B'"):
        LabelHierarchy.from_file(p)


@pytest.mark.parametrize("bad", ["A\tB", "A,B", "A##x,y"])
def test_tab_or_comma_names_file_and_line(tmp_path, bad):
    p = write(tmp_path, f"A\n{bad}\n")
    with pytest.raises(LabelFileError) as e:
        LabelHierarchy.from_file(p)
    assert f"{p}:2:" in str(e.value)
    assert "TAB or comma" in str(e.value)


@pytest.mark.parametrize("bad", ["A####x", "##x"])
def test_empty_level_names_line(tmp_path, bad):
    p = write(tmp_path, f"A\n{bad}\n")
    with pytest.raises(LabelFileError) as e:
        LabelHierarchy.from_file(p)
    assert f"{p}:2:" in str(e.value)


def test_trailing_separator_names_file(tmp_path):
    p = write(tmp_path, "A\nA##\n")
    with pytest.raises(LabelFileError) as e:
        LabelHierarchy.from_file(p)
    assert str(p) in str(e.value)
    assert "empty level" in str(e.value)


def test_trailing_separator_names_line(tmp_path):
    p = write(tmp_path, "A\nA##\n")
    with pytest.raises(LabelFileError, match=r"label\.txt:2:"):
        LabelHierarchy.from_file(p)


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file(tmp_path, content):
    p = write(tmp_path, content)
    with pytest.raises(LabelFileError) as e:
        LabelHierarchy.from_file(p)
    assert str(p) in str(e.value)
    assert "no labels" in str(e.value)


def test_missing_file(tmp_path):
    p = tmp_path / "nope" / "label.txt"
    with pytest.raises(FileNotFoundError, match="label.txt"):
        LabelHierarchy.from_file(p)


def test_direct_construction_validates():
    with pytest.raises(LabelFileError, match="listed twice"):
        LabelHierarchy(("A", "A"))
    with pytest.raises(LabelFileError, match="not in the label list"):
        LabelHierarchy(("A##x",))
    with pytest.raises(LabelFileError, match="surrounding spaces"):
        LabelHierarchy((" A",))


def test_save_round_trip(tmp_path, sample):
    out = tmp_path / "sub" / "label.txt"
    sample.save(out)
    assert LabelHierarchy.from_file(out).labels == sample.labels
    assert out.read_text(encoding="utf-8").endswith("娱乐##离婚\n")


def test_close_adds_ancestors_in_file_order(tmp_path, sample):
    assert sample.close(["娱乐##发布"]) == ["娱乐", "娱乐##发布"]
    assert sample.close(["科技##发布", "体育"]) == ["体育", "科技", "科技##发布"]
    assert sample.close(["娱乐##发布", "娱乐", "娱乐##发布"]) == ["娱乐", "娱乐##发布"]
    assert sample.close([]) == []
    h = LabelHierarchy.from_file(write(tmp_path, "A\nA##B\nA##B##C\nD\n"))
    assert h.close(["A##B##C"]) == ["A", "A##B", "A##B##C"]
    with pytest.raises(KeyError):
        sample.close(["发布"])


def test_multi_hot(sample):
    y = sample.multi_hot([["科技", "科技##发布"], [], ["娱乐##发布"]])
    assert y.shape == (3, 20)
    assert y.dtype == np.float32
    assert np.flatnonzero(y[0]).tolist() == [8, 9]
    assert y[1].sum() == 0
    assert np.flatnonzero(y[2]).tolist() == [17]  # no implicit closure


def test_level_order(tmp_path, sample):
    l1, l2 = sample.level_order()
    assert l1.tolist() == [0, 4, 8, 12, 16]
    assert len(l2) == 15 and 9 in l2 and 17 in l2
    h = LabelHierarchy.from_file(write(tmp_path, "A##B##C\nA\nA##B\nD\n"))
    assert [x.tolist() for x in h.level_order()] == [[1, 3], [2], [0]]


def test_label_file_with_utf8_bom(tmp_path):
    p = tmp_path / "label.txt"
    p.write_bytes("A\nA##b\n".encode("utf-8-sig"))
    assert LabelHierarchy.from_file(p).labels == ("A", "A##b")


def test_difference_names_what_differs():
    a = LabelHierarchy(("A", "A##x", "B"))
    assert a.difference(LabelHierarchy(("A", "A##x", "B"))) is None
    assert a.difference(LabelHierarchy(("B", "A", "A##x"))) == "the same 3 labels in another order"
    msg = a.difference(LabelHierarchy(("A", "A##y", "B")), "model", "data")
    assert msg == "3 vs 3 labels; only in model: ['A##x'], only in data: ['A##y']"
