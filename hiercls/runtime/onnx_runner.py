"""model.onnx on onnxruntime (CPU), run length-bucketed: the computation of the cpu
model step and of the offline ONNX predictor, so the two cannot drift apart.

By default each call is single-threaded and one worker thread per core runs
sub-batches side by side (see ``bucketing``). Intra-op spinning is off: spinning
threads hold a core that the tokenizer, postprocess and gRPC threads of the same
server need.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from . import contract
from .bucketing import DEFAULT_CALL_OVERHEAD_TOKENS, run_bucketed


def available_cores() -> int:
    """Cores this process may run on (a container's cpuset, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class BucketedOnnxRunner:
    def __init__(
        self,
        model_path: str | Path,
        pad_id: int,
        threads_per_call: int = 1,
        workers: int = 0,
        call_overhead_tokens: float = DEFAULT_CALL_OVERHEAD_TOKENS,
    ) -> None:
        """threads_per_call: onnxruntime intra-op threads (0: every core, one worker);
        workers: sub-batches run at once (0: cores / threads_per_call)."""
        import onnxruntime as ort

        cores = available_cores()
        threads = threads_per_call if threads_per_call > 0 else cores
        self.workers = workers if workers > 0 else max(1, cores // threads)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self.pad_id = pad_id
        self.call_overhead_tokens = call_overhead_tokens
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="onnx") if self.workers > 1 else None

    def run(self, ids: np.ndarray, types: np.ndarray) -> np.ndarray:
        """One model call on a padded batch."""
        return self.session.run([contract.LOGITS], {contract.INPUT_IDS: ids, contract.TOKEN_TYPE_IDS: types})[0]

    def __call__(self, ids: np.ndarray, types: np.ndarray, max_rows: int = 0) -> np.ndarray:
        """Logits of every row, computed in length buckets."""
        return run_bucketed(
            self.run, ids, types, self.pad_id, self.call_overhead_tokens, max_rows, pool=self.pool, workers=self.workers
        )

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None
