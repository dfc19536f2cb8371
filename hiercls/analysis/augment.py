"""Augmentation: label-preserving character edits for labels with few training examples.

Edits (``--aug_strategy``): ``substitute`` (a word from the synonym table in
``synonyms.txt``, else a character drawn from the label's own texts), ``insert``
(a character drawn from the label's own texts), ``delete``, ``swap`` (two
neighbouring characters), or ``mix`` (a random one per edit). Each variant makes
``max(1, round(aug_percent * len(text)))`` edits.

What keeps the label: the characters most typical of each label (highest
``p(char | label) * log(p(char | label) / p(char))``, e.g. 裁 and 员 for ``组织关系##裁员``) are
protected from deletion, substitution and swapping, so the words that carry the
event survive every edit. Only labels below ``min_count`` training examples are
augmented, each up to ``min_count``, with at most ``create_n`` variants per example.
Everything is drawn from one seeded ``numpy`` generator: the same seed gives the
same file.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hiercls.analysis.records import leaf_labels
from hiercls.data.reading import Example
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.runtime.io import iter_lines

logger = logging.getLogger(__name__)

AUG_STRATEGIES: tuple[str, ...] = ("mix", "substitute", "insert", "delete", "swap")
EDITS: tuple[str, ...] = AUG_STRATEGIES[1:]
SYNONYMS_FILE = Path(__file__).with_name("synonyms.txt")
TRIES_PER_VARIANT = 5  # a variant identical to an existing text is redrawn this often


class SynonymFileError(ValueError):
    """The synonym table is malformed; the message names the file and line."""


def load_synonyms(path: str | Path = SYNONYMS_FILE) -> dict[str, list[str]]:
    """word -> the other words of its group. One group per line, words separated by
    spaces, ``#`` comments; words of two or more characters, each in one group."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"synonym file not found: {path}")
    table: dict[str, list[str]] = {}
    first_line: dict[str, int] = {}
    for lineno, line in iter_lines(path, SynonymFileError):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        where = f"{path}:{lineno}"
        if len(words) < 2:
            raise SynonymFileError(f"{where}: a group needs at least two words, got {words}")
        for w in words:
            if len(w) < 2:
                raise SynonymFileError(f"{where}: {w!r} is one character; it would match inside unrelated words")
            if w in first_line:
                raise SynonymFileError(f"{where}: {w!r} is already in the group on line {first_line[w]}")
            first_line[w] = lineno
        for w in words:
            table[w] = [x for x in words if x != w]
    return table


@dataclass(frozen=True)
class LabelProfile:
    chars: tuple[str, ...]  # characters of the label's texts ...
    weights: np.ndarray  # ... and their sampling probabilities (frequency)
    protected: frozenset[str]  # the characters most typical of the label


def label_profiles(
    examples: list[Example], hierarchy: LabelHierarchy, protect_top: int = 8, min_char_count: int = 3
) -> dict[str, LabelProfile]:
    """Character statistics per label, from the training texts."""
    overall: Counter[str] = Counter()
    per_label: dict[str, Counter[str]] = {x: Counter() for x in hierarchy.labels}
    texts: Counter[str] = Counter()
    for e in examples:
        chars = [c for c in e.text if not c.isspace()]
        overall.update(chars)
        texts.update(e.labels)
        for label in e.labels:
            per_label[label].update(chars)
    total = sum(overall.values()) or 1
    profiles = {}
    for label, counts in per_label.items():
        if not counts:
            continue
        n = sum(counts.values())
        # A label with one or two texts still needs its trigger protected (降息 in its only text).
        floor = min(min_char_count, texts[label])
        # p(c|label) * log(lift): frequent in the label *and* specific to it. Lift
        # alone favours rare characters (a team name) over the trigger (裁员).
        typical = {
            c: (k / n) * np.log((k / n) / (overall[c] / total))
            for c, k in counts.items()
            if k >= floor and k / n > overall[c] / total
        }
        protected = frozenset(sorted(typical, key=lambda c: (-typical[c], c))[:protect_top])
        chars = tuple(sorted(counts))
        w = np.array([counts[c] for c in chars], dtype=np.float64)
        profiles[label] = LabelProfile(chars, w / w.sum(), protected)
    return profiles


class CharAugmenter:
    """Makes label-preserving variants of a text (see the module docstring)."""

    def __init__(
        self,
        profiles: dict[str, LabelProfile],
        synonyms: dict[str, list[str]],
        strategy: str = "mix",
        aug_percent: float = 0.1,
        seed: int = 3,
    ) -> None:
        if strategy not in AUG_STRATEGIES:
            raise ValueError(f"unknown --aug_strategy {strategy!r}; choose one of {AUG_STRATEGIES}")
        if not 0 < aug_percent <= 1:
            raise ValueError(f"--aug_percent must lie in (0, 1], got {aug_percent}")
        self.profiles = profiles
        self.synonyms = synonyms
        # Longest first, so 知情人士 is found before a shorter word inside it.
        self.words = sorted(synonyms, key=lambda w: (-len(w), w))
        self.edits = EDITS if strategy == "mix" else (strategy,)
        self.aug_percent = aug_percent
        self.rng = np.random.default_rng(seed)

    def _draw_char(self, profile: LabelProfile, avoid: str = "") -> str | None:
        for _ in range(4):
            c = profile.chars[self.rng.choice(len(profile.chars), p=profile.weights)]
            if c != avoid:
                return c
        return None

    def _free(self, text: str, protected: frozenset[str]) -> list[int]:
        return [i for i, c in enumerate(text) if c not in protected and not c.isspace()]

    def _substitute(self, text: str, profile: LabelProfile, protected: frozenset[str]) -> str | None:
        spans = []
        for w in self.words:
            start = text.find(w)
            while start >= 0:
                if not any(c in protected for c in w):
                    spans.append((start, w))
                start = text.find(w, start + 1)
        if spans:
            start, w = spans[self.rng.integers(len(spans))]
            options = self.synonyms[w]
            return text[:start] + options[self.rng.integers(len(options))] + text[start + len(w) :]
        free = self._free(text, protected)
        if not free:
            return None
        i = free[self.rng.integers(len(free))]
        c = self._draw_char(profile, avoid=text[i])
        return None if c is None else text[:i] + c + text[i + 1 :]

    def _edit(self, op: str, text: str, profile: LabelProfile, protected: frozenset[str]) -> str | None:
        if op == "substitute":
            return self._substitute(text, profile, protected)
        if op == "insert":
            # Never between two protected characters: 裁员 must not become 裁X员.
            gaps = [i for i in range(len(text) + 1) if not (0 < i < len(text) and {text[i - 1], text[i]} <= protected)]
            c = self._draw_char(profile)
            if c is None:
                return None
            i = gaps[self.rng.integers(len(gaps))]
            return text[:i] + c + text[i:]
        free = self._free(text, protected)
        if op == "delete":
            if len(text) <= 2 or not free:
                return None
            i = free[self.rng.integers(len(free))]
            return text[:i] + text[i + 1 :]
        # swap: two neighbours, neither protected
        free_set = set(free)
        pairs = [i for i in free if (i + 1) in free_set and text[i] != text[i + 1]]
        if not pairs:
            return None
        i = pairs[self.rng.integers(len(pairs))]
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]

    def variant(self, text: str, profile_label: str, protected: frozenset[str]) -> str:
        """One edited copy; may equal ``text`` when no edit applies."""
        profile = self.profiles[profile_label]
        out = text
        for _ in range(max(1, round(self.aug_percent * len(text)))):
            op = self.edits[self.rng.integers(len(self.edits))]
            edited = self._edit(op, out, profile, protected)
            if edited is not None and edited.strip():
                out = edited
        return out


def rare_labels(examples: list[Example], hierarchy: LabelHierarchy, min_count: int) -> list[str]:
    """Labels with 1 to min_count - 1 training examples, rarest first."""
    counts = Counter(x for e in examples for x in e.labels)
    rare = [x for x in hierarchy.labels if 0 < counts[x] < min_count]
    return sorted(rare, key=lambda x: (counts[x], hierarchy.index[x]))


def augment_rare(
    examples: list[Example],
    hierarchy: LabelHierarchy,
    min_count: int,
    create_n: int = 2,
    strategy: str = "mix",
    aug_percent: float = 0.1,
    seed: int = 3,
    synonyms: dict[str, list[str]] | None = None,
    protect_top: int = 8,
) -> list[Example]:
    """New examples (labels copied from their source) that lift every label below
    ``min_count`` towards it, rarest label first, at most ``create_n`` variants per
    source example. A variant carries all its source's labels, so counts of other
    labels rise too, and a label lifted by an earlier one may need nothing more."""
    if min_count < 1 or create_n < 1:
        raise ValueError(f"--min_count and --create_n must be positive, got {min_count} and {create_n}")
    profiles = label_profiles(examples, hierarchy, protect_top)
    aug = CharAugmenter(profiles, load_synonyms() if synonyms is None else synonyms, strategy, aug_percent, seed)
    counts = Counter(x for e in examples for x in e.labels)
    existing = {e.text for e in examples}
    made: Counter[int] = Counter()
    new: list[Example] = []
    for label in rare_labels(examples, hierarchy, min_count):
        donors = [i for i, e in enumerate(examples) if label in e.labels]
        aug.rng.shuffle(donors)
        for _ in range(create_n):
            for i in donors:
                if counts[label] >= min_count:
                    break
                if made[i] >= create_n:
                    continue
                e = examples[i]
                protected = frozenset().union(*(profiles[x].protected for x in leaf_labels(e.labels, hierarchy)))
                for _ in range(TRIES_PER_VARIANT):
                    text = aug.variant(e.text, label, protected)
                    if text not in existing:
                        break
                else:
                    continue
                existing.add(text)
                made[i] += 1
                new.append(Example(text, e.labels))
                counts.update(e.labels)
        if counts[label] < min_count:
            logger.info("%s: %d examples after augmentation (create_n %d caps it)", label, counts[label], create_n)
    return new
