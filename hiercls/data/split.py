"""A test split carved off train.txt, stratified by label set, for honest estimates.

Dev picks the epoch, the thresholds and the decoder, so dev scores are optimistic.
The test split is never used for any choice. Texts that occur more than once move
together (a text in both train and test would leak), and a label set seen only once
stays in train (the model could not learn it otherwise).
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hiercls.data.reading import dataset_files, read_examples
from hiercls.runtime.artifacts import TEST_FILE, TRAIN_FILE
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.runtime.io import atomic_write_json, fresh_dir, iter_lines, swap_dir


@dataclass(frozen=True)
class SplitSummary:
    train: int
    test: int
    groups: int
    kept_in_train: int  # lines of label sets too rare to split


def split_lines(lines: list[str], keys: list[tuple[str, ...]], test_ratio: float, seed: int) -> list[bool]:
    """is_test per line: each label set gives round(n * ratio) of its distinct texts
    (at most n - 1) to test; duplicate texts stay on one side."""
    if not 0.0 < test_ratio < 1.0:
        raise ValueError(f"test_ratio must be between 0 and 1, got {test_ratio}")
    rng = np.random.default_rng(seed)
    by_text: dict[str, list[int]] = defaultdict(list)
    for i, line in enumerate(lines):
        by_text[line.split("\t", 1)[0]].append(i)
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for text, rows in by_text.items():
        groups[keys[rows[0]]].append(text)
    is_test = [False] * len(lines)
    for key in sorted(groups):
        texts = groups[key]
        n_test = min(int(round(len(texts) * test_ratio)), len(texts) - 1)
        for j in rng.permutation(len(texts))[:n_test]:
            for row in by_text[texts[j]]:
                is_test[row] = True
    return is_test


def write_split(
    dataset_dir: str | Path, output_dir: str | Path, test_ratio: float = 0.1, seed: int = 42
) -> SplitSummary:
    """output_dir gets train.txt (the rest), test.txt (the split), and dev.txt,
    label.txt, data.txt copied as they are; written aside, then swapped in."""
    files = dataset_files(dataset_dir)
    hierarchy = LabelHierarchy.from_file(files.label)
    examples = read_examples(files.train, hierarchy)  # validates every line first
    lines = [line for _, line in iter_lines(files.train) if line.strip()]
    keys = [e.labels for e in examples]
    is_test = split_lines(lines, keys, test_ratio, seed)
    out = Path(output_dir)
    tmp = fresh_dir(out.with_name(out.name + ".tmp"))
    (tmp / TRAIN_FILE).write_text("".join(x + "\n" for x, t in zip(lines, is_test) if not t), encoding="utf-8")
    (tmp / TEST_FILE).write_text("".join(x + "\n" for x, t in zip(lines, is_test) if t), encoding="utf-8")
    for src in (files.dev, files.label, files.data):
        if src is not None:
            shutil.copyfile(src, tmp / src.name)
    counts = defaultdict(int)
    for k in keys:
        counts[k] += 1
    summary = SplitSummary(
        train=is_test.count(False),
        test=is_test.count(True),
        groups=len(counts),
        kept_in_train=sum(n for n in counts.values() if n == 1),
    )
    atomic_write_json(
        tmp / "split.json",
        {"source": str(Path(dataset_dir).resolve()), "test_ratio": test_ratio, "seed": seed, **summary.__dict__},
    )
    swap_dir(tmp, out)
    return summary
