"""Length-sorted batches: each batch pads to its own longest text, and sorting by
length keeps that padding small (PaddleNLP's predictor padded every batch to the
longest text of the whole input)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> Iterator[np.ndarray]:
    """Index arrays of at most batch_size rows, shortest texts first."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    order = np.argsort(np.asarray(lengths), kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def pad_batch(rows: Sequence[Sequence[int]], pad_id: int = 0) -> np.ndarray:
    width = max(len(r) for r in rows)
    out = np.full((len(rows), width), pad_id, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def group_by_length(
    order: np.ndarray, lengths: Sequence[int], batch_size: int, rng: np.random.Generator, window: int = 50
) -> np.ndarray:
    """Reorder a shuffled order so that each run of batch_size texts has similar
    lengths: windows of ``window`` batches are sorted by length and cut into batches,
    then all batches are shuffled. Batches stay random in content and order while
    padding, most of the CPU time of a random batch, mostly disappears."""
    lengths = np.asarray(lengths)
    span = batch_size * window
    batches = []
    for start in range(0, len(order), span):
        chunk = order[start : start + span]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    # A short last batch stays last, so that full batches keep batch_size rows.
    full = [b for b in batches if len(b) == batch_size]
    rest = [b for b in batches if len(b) != batch_size]
    perm = rng.permutation(len(full))
    return np.concatenate([full[i] for i in perm] + rest) if batches else order
