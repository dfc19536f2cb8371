"""Tests for hiercls.data.reading: reading labelled examples, texts and dataset folders."""

import logging
from pathlib import Path

import pytest

from hiercls.data.reading import DataFormatError, Example, dataset_files, read_examples, read_texts
from hiercls.runtime.hierarchy import LabelHierarchy

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def h() -> LabelHierarchy:
    return LabelHierarchy.from_file(SAMPLE / "label.txt")


def write(tmp_path: Path, text: str, name: str = "train.txt") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_sample_train(h):
    ex = read_examples(SAMPLE / "train.txt", h)
    assert len(ex) == 360
    assert ex[0] == Example("某高校实验室在芯片制程领域取得重大突破", ("科技", "科技##突破"))
    assert all(isinstance(e.labels, tuple) for e in ex)
    # Labels are closed and in label-file order.
    for e in ex:
        assert list(e.labels) == h.close(e.labels)
    # Counts from data/sample/README.md.
    assert sum("娱乐##发布" in e.labels for e in ex) == 25
    assert sum("科技##发布" in e.labels for e in ex) == 25
    assert sum("体育" in e.labels for e in ex) == 78
    assert sum(len(e.labels) == 4 for e in ex) == 36
    assert sum(len(e.labels) == 1 for e in ex) == 18


def test_sample_dev_and_test_counts(h):
    assert len(read_examples(SAMPLE / "dev.txt", h)) == 80
    assert len(read_examples(SAMPLE / "test.txt", h)) == 80


def test_closure_adds_ancestors(tmp_path, h, caplog):
    p = write(tmp_path, "新品发布会\t科技##发布\n第二条\t娱乐##获奖, 社会\n")
    with caplog.at_level(logging.INFO, logger="hiercls.data.reading"):
        ex = read_examples(p, h)
    assert ex == [
        Example("新品发布会", ("科技", "科技##发布")),
        Example("第二条", ("社会", "娱乐", "娱乐##获奖")),
    ]
    assert "added 2 missing ancestor labels" in caplog.text


def test_closure_three_levels(tmp_path):
    h3 = LabelHierarchy(("A", "A##B", "A##B##C"))
    ex = read_examples(write(tmp_path, "t\tA##B##C\n"), h3)
    assert ex[0].labels == ("A", "A##B", "A##B##C")


def test_blank_lines_skipped_and_line_numbers_count_them(tmp_path, h):
    p = write(tmp_path, "\n甲\t体育\n   \n\n乙\t财经\r\n\n")
    ex = read_examples(p, h)
    assert [e.text for e in ex] == ["甲", "乙"]
    p = write(tmp_path, "\n甲\t体育\n\n乙\t不存在\n")
    with pytest.raises(DataFormatError, match=rf"{p}:4:"):
        read_examples(p, h)


@pytest.mark.parametrize(
    "bad, what",
    [
        ("没有制表符 体育", "found 0 TABs"),
        ("文本\t体育\t财经", "found 2 TABs"),
        ("   \t体育", "text is empty"),
        ("文本\t", "no labels"),
        ("文本\t , ,", "no labels"),
        ("文本\t体育,发布", "unknown label"),
        ("文本\t科技,科技##发行", "unknown label"),
    ],
)
def test_format_errors_name_file_and_line(tmp_path, h, bad, what):
    p = write(tmp_path, f"好的一行\t体育\n{bad}\n")
    with pytest.raises(DataFormatError) as e:
        read_examples(p, h)
    assert f"{p}:2:" in str(e.value)
    assert what in str(e.value)


def test_unknown_label_is_named(tmp_path, h):
    p = write(tmp_path, "文本\t科技,发布\n")
    with pytest.raises(DataFormatError, match=r"\['发布'\]"):
        read_examples(p, h)


def test_empty_and_missing_example_files(tmp_path, h):
    with pytest.raises(DataFormatError, match="no examples"):
        read_examples(write(tmp_path, "\n\n"), h)
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        read_examples(tmp_path / "missing.txt", h)


def test_read_texts_sample():
    texts = read_texts(SAMPLE / "data.txt")
    assert len(texts) == 40
    assert texts[0] == "我国钙钛矿光伏研究创下8项世界纪录"
    assert all("\t" not in t and t.strip() for t in texts)


def test_read_texts_keeps_text_part_and_skips_blank(tmp_path):
    p = write(tmp_path, "一\t体育,体育##夺冠\n\n二\r\n  \n三\t\n", "data.txt")
    assert read_texts(p) == ["一", "二", "三"]
    # A labelled file can be predicted: same texts as read_examples.
    assert len(read_texts(SAMPLE / "test.txt")) == 80


def test_read_texts_errors(tmp_path):
    with pytest.raises(DataFormatError, match="no texts"):
        read_texts(write(tmp_path, "\n \n", "data.txt"))
    with pytest.raises(FileNotFoundError):
        read_texts(tmp_path / "none.txt")


def test_dataset_files_sample():
    f = dataset_files(SAMPLE)
    assert f.train == SAMPLE / "train.txt"
    assert f.dev == SAMPLE / "dev.txt"
    assert f.label == SAMPLE / "label.txt"
    assert f.test == SAMPLE / "test.txt"
    assert f.data == SAMPLE / "data.txt"


def test_dataset_files_optional_missing(tmp_path):
    for name in ("train.txt", "dev.txt", "label.txt"):
        write(tmp_path, "x\n", name)
    f = dataset_files(tmp_path)
    assert f.test is None and f.data is None
    write(tmp_path, "x\n", "test.txt")
    (tmp_path / "data.txt").mkdir()  # a folder is not a data file
    f = dataset_files(tmp_path)
    assert f.test == tmp_path / "test.txt"
    assert f.data is None
    f = dataset_files(tmp_path, test_file="other.txt", train_file="t.txt")
    assert f.test is None and f.train == tmp_path / "t.txt"


def test_dataset_files_missing_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset_dir"):
        dataset_files(tmp_path / "absent")
    write(tmp_path, "x", "file")
    with pytest.raises(FileNotFoundError):
        dataset_files(tmp_path / "file")


def test_non_utf8_file_names_file_and_line(tmp_path, h):
    p = tmp_path / "train.txt"
    p.write_bytes("好的\t体育\n".encode() + "坏的\t财经\n".encode("gbk"))
    with pytest.raises(DataFormatError, match=rf"{p}:2"):
        read_examples(p, h)
