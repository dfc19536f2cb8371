"""Texts longer than max_seq_length: overlapping windows, scored one by one, folded
back into one probability row per text.

A text's tokens between its special tokens (``[CLS] ... [SEP]``, ``<s> ... </s>``)
are cut into windows of ``max_seq_length - specials`` tokens; consecutive windows
share ``stride`` tokens, and each window gets the text's special tokens again, so
every window is a well-formed model input. The first window is exactly what
truncation keeps, and a text that fits is one window equal to its truncated
encoding: with windows on, such texts get the very same answer.

The window probabilities of a text are then pooled per label (``max``: a label
seen confidently anywhere in the text; ``mean``) before thresholds and decoding.
``max_windows`` bounds the windows of a text (its tail beyond them is dropped, as
truncation drops it), which bounds the rows a request of N texts can become.

numpy only: this module is copied into the Triton repository, where the tokenizer
step emits the windows with their ``text_index`` and the postprocess folds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

POOLS = ("max", "mean")
DEFAULT_STRIDE = 32
DEFAULT_POOL = "max"


@dataclass(frozen=True)
class LongText:
    """Windowing on: at most ``max_windows`` windows a text, overlapping by ``stride``
    tokens, probabilities pooled with ``pool``."""

    max_windows: int
    stride: int = DEFAULT_STRIDE
    pool: str = DEFAULT_POOL

    def __post_init__(self) -> None:
        if self.max_windows < 1:
            raise ValueError(f"long-text max_windows must be at least 1, got {self.max_windows}")
        if self.stride < 0:
            raise ValueError(f"long-text stride must be >= 0, got {self.stride}")
        if self.pool not in POOLS:
            raise ValueError(f"long-text pool must be one of {POOLS}, got {self.pool!r}")


def window_spans(n_tokens: int, width: int, stride: int, max_windows: int) -> list[tuple[int, int]]:
    """[start, end) of each window over n_tokens content tokens: ``width`` tokens a
    window, ``stride`` shared with the previous one, the last ending at the text's end
    (or the first ``max_windows`` windows)."""
    if stride >= width:
        raise ValueError(
            f"long-text stride {stride} must be smaller than the window's {width} content tokens "
            "(max_seq_length minus the special tokens)"
        )
    spans, start = [], 0
    while len(spans) < max_windows:
        end = min(start + width, n_tokens)
        spans.append((start, end))
        if end >= n_tokens:
            break
        start = end - stride
    return spans


def split_windows(
    ids: Sequence[int], types: Sequence[int], special_mask: Sequence[int], max_seq_length: int, long_text: LongText
) -> list[tuple[list[int], list[int]]]:
    """One untruncated encoding (with its special tokens) -> the (ids, types) of its windows."""
    n = len(ids)
    head = next((i for i, m in enumerate(special_mask) if not m), n)  # leading special tokens
    tail = n - next((i for i in range(n, 0, -1) if not special_mask[i - 1]), 0)  # trailing ones
    if head + tail >= n:  # nothing but special tokens: leave it to the caller's checks
        return [(list(ids[:max_seq_length]), list(types[:max_seq_length]))]
    width = max_seq_length - head - tail
    body_ids, body_types = list(ids[head : n - tail]), list(types[head : n - tail])
    out = []
    for s, e in window_spans(len(body_ids), width, long_text.stride, long_text.max_windows):
        out.append(
            (
                list(ids[:head]) + body_ids[s:e] + list(ids[n - tail :]),
                list(types[:head]) + body_types[s:e] + list(types[n - tail :]),
            )
        )
    return out


def fold_windows(probs: np.ndarray, text_index: np.ndarray, pool: str, n_texts: int | None = None) -> np.ndarray:
    """Window probabilities [R, L] -> one row per text [N, L]; text_index [R] (or [R, 1])
    says which text each window belongs to, every text 0..N-1 having at least one."""
    text_index = np.asarray(text_index, dtype=np.int64).reshape(-1)
    if len(text_index) != len(probs):
        raise ValueError(f"{len(probs)} window rows but {len(text_index)} text indices")
    n = int(text_index.max()) + 1 if n_texts is None else n_texts
    if len(text_index) and (text_index.min() < 0 or text_index.max() >= n):
        raise ValueError(f"text indices must lie in 0..{n - 1}")
    counts = np.bincount(text_index, minlength=n)
    if (counts == 0).any():
        raise ValueError(f"texts {np.flatnonzero(counts == 0).tolist()[:5]} have no window")
    if pool == "max":
        out = np.full((n, probs.shape[1]), -np.inf, dtype=probs.dtype)
        np.maximum.at(out, text_index, probs)
        return out
    if pool == "mean":
        out = np.zeros((n, probs.shape[1]), dtype=np.float64)
        np.add.at(out, text_index, probs)
        return (out / counts[:, None]).astype(probs.dtype)
    raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
