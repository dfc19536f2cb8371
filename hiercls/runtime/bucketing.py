"""Length-bucketed execution: run the rows of a batch as sub-batches of similar
length, each padded only to its own longest row, and put the results back in
the original order.

A batch of texts padded to its longest text spends most of an encoder's time on
padding (DuEE dev texts with the e5 tokenizer: 36% of a random batch of 32 is
real tokens). Splitting it into many small sub-batches removes the padding but
pays a fixed cost per model call (thread-pool dispatch of every op, small-GEMM
inefficiency). ``plan_buckets`` chooses the split that minimises

    cost = calls * call_overhead_tokens + sum over sub-batches of rows * width

over the rows sorted by length (a small dynamic programme: with the rows sorted,
an optimal split only cuts between neighbours). ``call_overhead_tokens`` is the
cost of one call in padded tokens; the default comes from measuring the e5 and
ERNIE shapes on CPU (benchmarks/README.md, "Length buckets").

numpy only: this module is copied into the Triton repository.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# One onnxruntime call on 2 CPU threads costs about as much as 32 more padded tokens.
DEFAULT_CALL_OVERHEAD_TOKENS = 32


def row_lengths(ids: np.ndarray, pad_id: int) -> np.ndarray:
    """Tokens up to and including the last non-pad id of each row (pads only trail
    in tokenizer output; a pad inside a row is kept so results never change)."""
    if ids.ndim != 2:
        raise ValueError(f"ids must be [N, T], got shape {list(ids.shape)}")
    real = ids != pad_id
    last = ids.shape[1] - np.argmax(real[:, ::-1], axis=1)
    return np.where(real.any(axis=1), last, 0).astype(np.int64)


def plan_buckets(
    lengths: np.ndarray, call_overhead_tokens: float = DEFAULT_CALL_OVERHEAD_TOKENS, max_rows: int = 0
) -> list[np.ndarray]:
    """Row indices of each sub-batch, shortest rows first; together they cover every
    row once. ``max_rows`` > 0 caps the rows of a sub-batch."""
    lengths = np.maximum(np.asarray(lengths, dtype=np.int64), 1)
    n = len(lengths)
    if n == 0:
        return []
    order = np.argsort(lengths, kind="stable")
    width = lengths[order].astype(np.float64)
    # best[j]: cheapest cost of the first j sorted rows; cut[j]: start of the last sub-batch.
    best = np.zeros(n + 1)
    cut = np.zeros(n + 1, dtype=np.int64)
    starts = np.arange(n)
    for j in range(1, n + 1):
        lo = max(0, j - max_rows) if max_rows > 0 else 0
        # The last sub-batch is sorted rows [i, j): j - i rows padded to width[j - 1].
        cost = best[lo:j] + call_overhead_tokens + (j - starts[lo:j]) * width[j - 1]
        k = int(np.argmin(cost))
        best[j], cut[j] = cost[k], lo + k
    groups, j = [], n
    while j > 0:
        groups.append(order[cut[j] : j])
        j = cut[j]
    return groups[::-1]


def fixed_buckets(lengths: np.ndarray, rows: int) -> list[np.ndarray]:
    """The simpler policy, for comparison: sorted rows cut every ``rows`` rows."""
    if rows < 1:
        raise ValueError(f"rows must be positive, got {rows}")
    order = np.argsort(np.asarray(lengths), kind="stable")
    return [order[i : i + rows] for i in range(0, len(order), rows)]


def run_bucketed(
    run: Callable[[np.ndarray, np.ndarray], np.ndarray],
    ids: np.ndarray,
    types: np.ndarray,
    pad_id: int,
    call_overhead_tokens: float = DEFAULT_CALL_OVERHEAD_TOKENS,
    max_rows: int = 0,
    groups: list[np.ndarray] | None = None,
) -> np.ndarray:
    """``run(ids, types) -> [rows, ...]`` on each sub-batch, cut to its own longest
    row; results in the rows' original order. ``groups`` overrides the plan."""
    if ids.shape != types.shape:
        raise ValueError(f"input_ids {list(ids.shape)} and token_type_ids {list(types.shape)} must match")
    lengths = row_lengths(ids, pad_id)
    if groups is None:
        groups = plan_buckets(lengths, call_overhead_tokens, max_rows)
    out = None
    for idx in groups:
        width = max(1, int(lengths[idx].max()))
        part = run(np.ascontiguousarray(ids[idx, :width]), np.ascontiguousarray(types[idx, :width]))
        if out is None:
            out = np.empty((len(ids), *part.shape[1:]), dtype=part.dtype)
        out[idx] = part
    if out is None:
        raise ValueError("no rows to run")
    return out
