"""Reading and writing the analyses' files: PaddleNLP-layout lines and TSV reports."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from hiercls.data.reading import Example
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.runtime.io import atomic_write_text


def format_line(text: str, labels: Iterable[str]) -> str:
    """One ``text<TAB>label,label`` line (no newline), as train.txt holds them."""
    return f"{text}\t{','.join(labels)}"


def write_examples(path: str | Path, examples: Iterable[Example]) -> None:
    """A train.txt-layout file, atomically."""
    atomic_write_text(path, "".join(format_line(e.text, e.labels) + "\n" for e in examples))


def write_texts(path: str | Path, texts: Iterable[str]) -> None:
    """A data.txt-layout file (one text per line), atomically."""
    atomic_write_text(path, "".join(f"{t}\n" for t in texts))


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    # A TAB or newline inside a text would shift every later column.
    return str(value).replace("\t", " ").replace("\n", " ")


def write_tsv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A TSV report with a header line; list cells are joined by commas."""
    lines = ["\t".join(header)]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"{path}: row of {len(row)} cells for {len(header)} columns")
        lines.append("\t".join(_cell(v) for v in row))
    atomic_write_text(path, "\n".join(lines) + "\n")


def leaf_labels(labels: Sequence[str], hierarchy: LabelHierarchy) -> list[str]:
    """The labels of a set that are not the parent of another label in it."""
    ids = [hierarchy.index[x] for x in labels]
    parents = {int(hierarchy.parents[i]) for i in ids}
    return [hierarchy.labels[i] for i in ids if i not in parents]
