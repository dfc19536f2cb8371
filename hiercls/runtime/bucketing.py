"""Length-bucketed execution: run the rows of a batch as sub-batches of similar
length, each padded only to its own longest row, and put the results back in
the original order.

A batch of texts padded to its longest text spends most of an encoder's time on
padding (DuEE dev texts with the e5 tokenizer: 36% of a random batch of 32 is
real tokens). Splitting it into many small sub-batches removes the padding but
pays a fixed cost per model call (small-GEMM inefficiency, and with a multi-thread
session a thread-pool hand-off for every op). ``plan_buckets`` chooses the split that minimises

    cost = calls * call_overhead_tokens + sum over sub-batches of rows * width

over the rows sorted by length (a small dynamic programme: with the rows sorted,
an optimal split only cuts between neighbours). ``call_overhead_tokens`` is the
cost of one call in padded tokens; the default comes from measuring the e5 and
ERNIE shapes on CPU (benchmarks/README.md, "Length buckets").

Sub-batches are independent, so ``run_bucketed`` can run them on several threads
at once, each on a single-threaded session (onnxruntime releases the GIL): the cores
then never wait on each other inside an op, which on a busy 2-core host (a server
whose tokenizer, postprocess and gRPC threads share the cores) beats one session
spreading every op over both cores.

numpy only: this module is copied into the Triton repository.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor

import numpy as np

# One single-threaded onnxruntime call costs about as much as 8 more padded tokens
# (benchmarks/README.md, "Length buckets").
DEFAULT_CALL_OVERHEAD_TOKENS = 8


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


def spread(groups: list[np.ndarray], lengths: np.ndarray, workers: int) -> list[np.ndarray]:
    """Split the costliest sub-batches in two until every worker has one (while any
    has two rows), then order them costliest first, so that threads taking the next
    one as they free up finish close together."""
    groups = list(groups)

    def cost(g: np.ndarray) -> int:
        return len(g) * max(1, int(lengths[g].max()))

    while len(groups) < workers:
        big = max(range(len(groups)), key=lambda i: cost(groups[i]) if len(groups[i]) > 1 else -1)
        if len(groups[big]) < 2:
            break
        g = groups.pop(big)
        groups += [g[: len(g) // 2], g[len(g) // 2 :]]
    return sorted(groups, key=cost, reverse=True)


def run_bucketed(
    run: Callable[[np.ndarray, np.ndarray], np.ndarray],
    ids: np.ndarray,
    types: np.ndarray,
    pad_id: int,
    call_overhead_tokens: float = DEFAULT_CALL_OVERHEAD_TOKENS,
    max_rows: int = 0,
    groups: list[np.ndarray] | None = None,
    pool: Executor | None = None,
    workers: int = 1,
) -> np.ndarray:
    """``run(ids, types) -> [rows, ...]`` on each sub-batch, cut to its own longest
    row; results in the rows' original order. ``groups`` overrides the plan. With a
    ``pool`` of ``workers`` threads the sub-batches run concurrently (``run`` must
    be thread-safe, as ``InferenceSession.run`` is)."""
    if ids.shape != types.shape:
        raise ValueError(f"input_ids {list(ids.shape)} and token_type_ids {list(types.shape)} must match")
    if len(ids) == 0:
        raise ValueError("no rows to run")
    lengths = row_lengths(ids, pad_id)
    if groups is None:
        groups = plan_buckets(lengths, call_overhead_tokens, max_rows)

    def one(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        width = max(1, int(lengths[idx].max()))
        return idx, run(np.ascontiguousarray(ids[idx, :width]), np.ascontiguousarray(types[idx, :width]))

    if pool is not None and workers > 1:
        parts = list(pool.map(one, spread(groups, lengths, workers)))
    else:
        parts = [one(idx) for idx in groups]
    first = parts[0][1]
    out = np.empty((len(ids), *first.shape[1:]), dtype=first.dtype)
    for idx, part in parts:
        out[idx] = part
    return out


def available_cores() -> int:
    """Cores this process may run on (a container's cpuset, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class BucketedRunner:
    """What the model-step runners share: worker threads, the bucketing plan, and
    ``__call__``/``close``. A subclass sets up its engine and implements ``run``, one
    thread-safe model call on a padded batch."""

    def __init__(self, pad_id: int, threads_per_call: int, workers: int, call_overhead_tokens: float, name: str):
        cores = available_cores()
        self.threads = threads_per_call if threads_per_call > 0 else cores
        self.workers = workers if workers > 0 else max(1, cores // self.threads)
        self.pad_id = pad_id
        self.call_overhead_tokens = call_overhead_tokens
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix=name) if self.workers > 1 else None

    def run(self, ids: np.ndarray, types: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, ids: np.ndarray, types: np.ndarray, max_rows: int = 0) -> np.ndarray:
        """Logits of every row, computed in length buckets."""
        return run_bucketed(
            self.run, ids, types, self.pad_id, self.call_overhead_tokens, max_rows, pool=self.pool, workers=self.workers
        )

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None
