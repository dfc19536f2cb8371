"""Issue 14, data files: duplicate lines, texts in both train and dev and CR-only line
endings are warned about by name (not errors); real errors reach the user as one
line with file:line, without a traceback."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from hiercls.data.reading import read_examples, read_texts, warn_overlap
from hiercls.runtime.hierarchy import LabelHierarchy
from tests.conftest import ROOT, SAMPLE


@pytest.fixture(scope="module")
def h() -> LabelHierarchy:
    return LabelHierarchy.from_file(SAMPLE / "label.txt")


def test_duplicate_and_conflicting_lines_are_warned_about(h, tmp_path, caplog):
    f = tmp_path / "train.txt"
    f.write_text("球队夺冠\t体育\n法院判决\t财经\n球队夺冠\t体育\n法院判决\t体育\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="hiercls.data.reading"):
        examples = read_examples(f, h)
    assert len(examples) == 4  # kept, as PaddleNLP keeps them
    assert "1 duplicate lines (the same text and labels again), e.g. line 3 repeats line 1" in caplog.text
    assert "1 texts appear again with other labels, e.g. line 4 vs line 2" in caplog.text


def test_texts_in_both_train_and_dev_are_warned_about(h, tmp_path, caplog):
    train = tmp_path / "train.txt"
    dev = tmp_path / "dev.txt"
    train.write_text("球队夺冠\t体育\n法院判决\t财经\n", encoding="utf-8")
    dev.write_text("球队夺冠\t体育\n卡车侧翻\t体育\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="hiercls.data.reading"):
        n = warn_overlap(read_examples(train, h), read_examples(dev, h), train, dev)
    assert n == 1 and f"1 of 2 texts of {dev} also appear in {train}" in caplog.text


def test_cr_only_line_endings_are_named_and_read_as_lines(h, tmp_path, caplog):
    f = tmp_path / "train.txt"
    f.write_bytes("球队夺冠\t体育\r法院判决\t财经\r".encode())
    with caplog.at_level(logging.WARNING, logger="hiercls.data.reading"):
        examples = read_examples(f, h)
    assert [e.text for e in examples] == ["球队夺冠", "法院判决"]
    assert "CR-only (old Mac) line endings" in caplog.text
    g = tmp_path / "data.txt"
    g.write_bytes(b"a\rb\r\nc\n")
    assert read_texts(g) == ["a", "b", "c"]
    bad = tmp_path / "bad.txt"
    bad.write_bytes("球队夺冠\t体育\r\t体育\r".encode())
    with pytest.raises(ValueError, match=rf"{bad}:2: "):  # line numbers count the CRs
        read_examples(bad, h)


def test_a_data_error_is_one_line_without_traceback(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("label.txt", "dev.txt"):
        (data / name).write_bytes((SAMPLE / name).read_bytes())
    (data / "train.txt").write_text("球队夺冠\t体育\n没有标签的一行\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "training/train.py", "--dataset_dir", str(data), "--save_dir", str(tmp_path / "ckpt")]
        + ["--model_name", "hiercls-tiny", "--from_scratch", "--epochs", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last == f"train.py: error: {data / 'train.txt'}:2: expected 'text<TAB>label,label', found 0 TABs"
    assert not Path(tmp_path / "ckpt").exists()
