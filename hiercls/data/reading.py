"""Reading PaddleNLP-layout data: ``text<TAB>label,label`` lines, label.txt, data.txt.

Every problem is reported with the file, the line and what to do about it,
instead of surfacing later as a shape error or a silently dropped label.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from hiercls.runtime.artifacts import DATA_FILE, DEV_FILE, LABEL_FILE, TEST_FILE, TRAIN_FILE
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.runtime.io import iter_lines

logger = logging.getLogger(__name__)


class DataFormatError(ValueError):
    """A data file is malformed; the message names the file and line."""


@dataclass(frozen=True)
class Example:
    text: str
    labels: tuple[str, ...]  # closed under ancestors, label-file order


def read_examples(path: str | Path, hierarchy: LabelHierarchy) -> list[Example]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file not found: {path}")
    examples: list[Example] = []
    added_parents = 0
    seen: dict[str, tuple[int, tuple[str, ...]]] = {}  # text -> (first line, its labels)
    duplicates: list[tuple[int, int]] = []
    conflicts: list[tuple[int, int]] = []
    for lineno, line in iter_lines(path, DataFormatError):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        if line.count("\t") != 1:
            raise DataFormatError(f"{where}: expected 'text<TAB>label,label', found {line.count(chr(9))} TABs")
        text, label_field = line.split("\t")
        if not text.strip():
            raise DataFormatError(f"{where}: the text is empty")
        labels = [x.strip() for x in label_field.split(",") if x.strip()]
        if not labels:
            raise DataFormatError(f"{where}: no labels after the TAB")
        unknown = [x for x in labels if x not in hierarchy.index]
        if unknown:
            raise DataFormatError(f"{where}: unknown label(s) {unknown}: add them to label.txt or fix the line")
        closed = hierarchy.close(labels)
        added_parents += len(closed) - len(set(labels))
        first = seen.setdefault(text, (lineno, tuple(closed)))
        if first[0] != lineno:
            (duplicates if first[1] == tuple(closed) else conflicts).append((lineno, first[0]))
        examples.append(Example(text, tuple(closed)))
    if not examples:
        raise DataFormatError(f"{path}: no examples")
    if duplicates:
        # Kept, as PaddleNLP keeps them, but they weigh twice and inflate dev scores.
        lineno, first = duplicates[0]
        logger.warning(
            "%s: %d duplicate lines (the same text and labels again), e.g. line %d repeats line %d",
            path,
            len(duplicates),
            lineno,
            first,
        )
    if conflicts:
        lineno, first = conflicts[0]
        logger.warning(
            "%s: %d texts appear again with other labels, e.g. line %d vs line %d", path, len(conflicts), lineno, first
        )
    if added_parents:
        # A text with A##B also has A; PaddleNLP's data lists both, but a file that
        # lists only the leaf is still unambiguous.
        logger.info("%s: added %d missing ancestor labels", path, added_parents)
    return examples


def warn_overlap(train: list[Example], dev: list[Example], train_path: str | Path, dev_path: str | Path) -> int:
    """Warn when dev texts also appear in train (dev scores would be too good); returns their count."""
    train_texts = {e.text for e in train}
    shared = [e.text for e in dev if e.text in train_texts]
    if shared:
        logger.warning(
            "%d of %d texts of %s also appear in %s (e.g. %r): dev scores will be optimistic",
            len(shared),
            len(dev),
            dev_path,
            train_path,
            shared[0][:60],
        )
    return len(shared)


def read_texts(path: str | Path) -> list[str]:
    """data.txt: one text per line. A line with a TAB keeps the part before it,
    so a labelled file can be predicted too."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"text file not found: {path}")
    texts = []
    for lineno, line in iter_lines(path, DataFormatError):
        if not line.strip():
            continue  # blank lines carry nothing to predict
        text = line.split("\t", 1)[0]
        if not text.strip():
            # Dropping it would shift every later prediction against its line.
            raise DataFormatError(f"{path}:{lineno}: the text before the TAB is empty")
        texts.append(text)
    if not texts:
        raise DataFormatError(f"{path}: no texts")
    return texts


@dataclass(frozen=True)
class DatasetFiles:
    train: Path
    dev: Path
    label: Path
    test: Path | None = None
    data: Path | None = None


def dataset_files(
    dataset_dir: str | Path,
    train_file: str = TRAIN_FILE,
    dev_file: str = DEV_FILE,
    label_file: str = LABEL_FILE,
    test_file: str = TEST_FILE,
    data_file: str = DATA_FILE,
) -> DatasetFiles:
    d = Path(dataset_dir)
    if not d.is_dir():
        raise FileNotFoundError(f"dataset_dir not found: {d}")

    def optional(name: str) -> Path | None:
        return d / name if (d / name).is_file() else None

    return DatasetFiles(d / train_file, d / dev_file, d / label_file, optional(test_file), optional(data_file))
