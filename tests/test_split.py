"""The held-out test split: stratified, reproducible, no text on both sides."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

from hiercls.split import split_lines, write_split
from tests.conftest import ROOT, SAMPLE


def lines_and_keys(n_per_key: dict[tuple[str, ...], int]) -> tuple[list[str], list[tuple[str, ...]]]:
    lines, keys = [], []
    for key, n in n_per_key.items():
        for i in range(n):
            lines.append(f"{'-'.join(key)} text {i}\t{','.join(key)}")
            keys.append(key)
    return lines, keys


def test_each_label_set_gives_its_share_and_singletons_stay_in_train():
    lines, keys = lines_and_keys({("A",): 40, ("A", "A##x"): 20, ("B",): 1, ("B", "B##y"): 3})
    is_test = split_lines(lines, keys, 0.25, seed=7)
    per_key = Counter(k for k, t in zip(keys, is_test) if t)
    assert per_key == {("A",): 10, ("A", "A##x"): 5, ("B", "B##y"): 1}  # ("B",) has one text: kept in train
    assert split_lines(lines, keys, 0.25, seed=7) == is_test
    assert split_lines(lines, keys, 0.25, seed=8) != is_test


def test_a_repeated_text_never_lands_on_both_sides():
    lines, keys = lines_and_keys({("A",): 30})
    lines += [lines[0]] * 3 + [lines[1]] * 2
    keys += [("A",)] * 5
    for seed in range(20):
        is_test = split_lines(lines, keys, 0.5, seed)
        sides: dict[str, set[bool]] = {}
        for line, t in zip(lines, is_test):
            sides.setdefault(line, set()).add(t)
        assert all(len(s) == 1 for s in sides.values())


def test_split_folder_is_a_complete_dataset_dir(tmp_path):
    out = tmp_path / "split"
    summary = write_split(SAMPLE, out, test_ratio=0.2, seed=1)
    train = (out / "train.txt").read_text(encoding="utf-8").splitlines()
    test = (out / "test.txt").read_text(encoding="utf-8").splitlines()
    original = [x for x in (SAMPLE / "train.txt").read_text(encoding="utf-8").splitlines() if x.strip()]
    assert sorted(train + test) == sorted(original)
    assert (summary.train, summary.test) == (len(train), len(test))
    assert 0.15 < len(test) / len(original) < 0.25
    assert not {x.split("\t")[0] for x in train} & {x.split("\t")[0] for x in test}
    for name in ("dev.txt", "label.txt"):
        assert (out / name).read_bytes() == (SAMPLE / name).read_bytes()
    assert not (tmp_path / "split.tmp").exists()


def test_split_cli_refuses_a_ratio_outside_0_1(tmp_path):
    r = subprocess.run(
        [sys.executable, "training/split_data.py", "--dataset_dir", str(SAMPLE), "--output_dir", str(tmp_path / "s"),
         "--test_ratio", "1.5"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert r.returncode == 2 and "--test_ratio must be between 0 and 1" in r.stderr
    assert not (tmp_path / "s").exists()
