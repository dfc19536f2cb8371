"""The label hierarchy: label paths such as ``组织关系##裁员``, their parents and levels.

Labels are identified by their full path everywhere (metrics, thresholds,
decoding), so two children with the same last name under different parents
stay distinct.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .io import atomic_write_text, iter_lines

PATH_SEP = "##"


class LabelFileError(ValueError):
    """label.txt is malformed; the message names the file and line."""


def parent_path(label: str) -> str | None:
    """``A##B##C`` -> ``A##B``; a level-1 label has no parent."""
    head, sep, _ = label.rpartition(PATH_SEP)
    return head if sep else None


def label_level(label: str) -> int:
    """1 for ``A``, 2 for ``A##B`` ..."""
    return label.count(PATH_SEP) + 1


@dataclass(frozen=True)
class LabelHierarchy:
    """An ordered list of label paths; index ``i`` is logit ``i`` of the model."""

    labels: tuple[str, ...]
    index: dict[str, int] = field(init=False, repr=False, compare=False)
    parents: np.ndarray = field(init=False, repr=False, compare=False)
    levels: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, int] = {}
        for i, label in enumerate(self.labels):
            if not label or label != label.strip():
                raise LabelFileError(f"label {i + 1} ({label!r}) is empty or has surrounding spaces")
            if any(part == "" for part in label.split(PATH_SEP)):
                raise LabelFileError(f"label {label!r} has an empty level between '{PATH_SEP}'")
            if label in index:
                raise LabelFileError(f"label {label!r} is listed twice")
            index[label] = i
        parents = np.full(len(self.labels), -1, dtype=np.int64)
        for i, label in enumerate(self.labels):
            parent = parent_path(label)
            if parent is not None:
                if parent not in index:
                    raise LabelFileError(
                        f"label {label!r} has parent {parent!r}, which is not in the label list: add it"
                    )
                parents[i] = index[parent]
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "parents", parents)
        object.__setattr__(self, "levels", np.array([label_level(x) for x in self.labels], dtype=np.int64))

    @classmethod
    def from_file(cls, path: str | Path) -> LabelHierarchy:
        """Read label.txt (one path per line). Errors name the file and line."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"label file not found: {path}")
        labels: list[str] = []
        lines: dict[str, int] = {}
        for lineno, raw in iter_lines(path, LabelFileError):
            label = raw.strip()
            if not label:
                continue
            if "\t" in label or "," in label:
                raise LabelFileError(f"{path}:{lineno}: label {label!r} contains a TAB or comma")
            if any(part.strip() == "" for part in label.split(PATH_SEP)):
                raise LabelFileError(f"{path}:{lineno}: label {label!r} has an empty level between '{PATH_SEP}'")
            if label in lines:
                raise LabelFileError(f"{path}:{lineno}: label {label!r} already on line {lines[label]}")
            lines[label] = lineno
            labels.append(label)
        for label in labels:
            parent = parent_path(label)
            if parent is not None and parent not in lines:
                # Closure (a child implies its parent) needs every parent to be a label.
                raise LabelFileError(
                    f"{path}:{lines[label]}: label {label!r} needs its parent {parent!r} in the label file"
                )
        if not labels:
            raise LabelFileError(f"{path}: no labels")
        try:
            return cls(tuple(labels))
        except LabelFileError as e:
            raise LabelFileError(f"{path}: {e}") from None

    def save(self, path: str | Path) -> None:
        atomic_write_text(path, "".join(f"{x}\n" for x in self.labels))

    def difference(self, other: LabelHierarchy, mine: str = "this", theirs: str = "other") -> str | None:
        """None when both list the same paths in the same order, else what differs, for
        an error message: logit i must mean the same label on both sides."""
        if self.labels == other.labels:
            return None
        only_mine = sorted(set(self.labels) - set(other.labels))[:5]
        only_theirs = sorted(set(other.labels) - set(self.labels))[:5]
        if not only_mine and not only_theirs:
            return f"the same {len(self)} labels in another order"
        return f"{len(self)} vs {len(other)} labels; only in {mine}: {only_mine}, only in {theirs}: {only_theirs}"

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def depth(self) -> int:
        return int(self.levels.max())

    def ancestors(self, i: int) -> list[int]:
        out = []
        p = int(self.parents[i])
        while p >= 0:
            out.append(p)
            p = int(self.parents[p])
        return out

    def close(self, labels: Iterable[str]) -> list[str]:
        """The labels plus all their ancestors, in label-file order."""
        ids = set()
        for label in labels:
            i = self.index[label]
            ids.add(i)
            ids.update(self.ancestors(i))
        return [self.labels[i] for i in sorted(ids)]

    def multi_hot(self, rows: Sequence[Sequence[str]]) -> np.ndarray:
        y = np.zeros((len(rows), len(self.labels)), dtype=np.float32)
        for r, labels in enumerate(rows):
            for label in labels:
                y[r, self.index[label]] = 1.0
        return y

    def level_order(self) -> list[np.ndarray]:
        """Label ids grouped by level, shallowest first."""
        return [np.flatnonzero(self.levels == d) for d in range(1, self.depth + 1)]
