"""The exported static graph (inference.json + inference.pdiparams, PIR format) on
Paddle Inference (CPU), run length-bucketed exactly as ``onnx_runner`` runs
model.onnx: same plan, same worker threads over single-threaded calls.

A Paddle Inference predictor is not thread-safe (its input and output handles
belong to it), so each worker gets its own predictor: clones of the first, which
share the weights and keep their own scopes. A call borrows one from a queue and
returns it, so no two threads ever run the same predictor.

paddle is imported here only when a runner is built, so the ONNX path never needs it.
"""

from __future__ import annotations

import queue
from pathlib import Path

import numpy as np

from . import contract
from .artifacts import PARAMS_FILE, PROGRAM_FILE
from .bucketing import DEFAULT_CALL_OVERHEAD_TOKENS, BucketedRunner

# oneDNN keeps compiled primitives per input shape; ragged batches bring many shapes,
# so the cache is bounded (Paddle's 0 means unbounded: memory would grow with traffic).
MKLDNN_CACHE_CAPACITY = 64


class BucketedPaddleRunner(BucketedRunner):
    def __init__(
        self,
        model_dir: str | Path,
        pad_id: int,
        threads_per_call: int = 1,
        workers: int = 0,
        call_overhead_tokens: float = DEFAULT_CALL_OVERHEAD_TOKENS,
        mkldnn: bool = False,
    ) -> None:
        """model_dir holds inference.json and inference.pdiparams; threads_per_call:
        CPU math threads per call (0: every core, one worker); workers: sub-batches
        run at once (0: cores / threads_per_call); mkldnn: oneDNN kernels."""
        import paddle.inference as paddle_infer

        model_dir = Path(model_dir)
        missing = [f for f in (PROGRAM_FILE, PARAMS_FILE) if not (model_dir / f).is_file()]
        if missing:
            raise FileNotFoundError(
                f"{model_dir}: missing {missing} (the static graph builders/export_model.py writes)"
            )
        super().__init__(pad_id, threads_per_call, workers, call_overhead_tokens, "paddle")
        config = paddle_infer.Config(str(model_dir / PROGRAM_FILE), str(model_dir / PARAMS_FILE))
        config.disable_gpu()
        config.set_cpu_math_library_num_threads(self.threads)
        if mkldnn:
            config.enable_mkldnn()
            config.set_mkldnn_cache_capacity(MKLDNN_CACHE_CAPACITY)
        else:
            # Paddle 3 turns oneDNN on by default on CPU; off must be asked for.
            config.disable_mkldnn()
        config.disable_glog_info()
        first = paddle_infer.create_predictor(config)
        names = first.get_input_names()
        if sorted(names) != sorted([contract.INPUT_IDS, contract.TOKEN_TYPE_IDS]):
            raise ValueError(f"{model_dir}/{PROGRAM_FILE}: inputs {names}, expected input_ids and token_type_ids")
        self.output_name = first.get_output_names()[0]  # one output, named by Paddle (fetch_name_0)
        self.predictors: queue.SimpleQueue = queue.SimpleQueue()
        self.predictors.put(first)
        for _ in range(self.workers - 1):
            self.predictors.put(first.clone())
        self.mkldnn = mkldnn

    def run(self, ids: np.ndarray, types: np.ndarray) -> np.ndarray:
        """One model call on a padded batch, on a predictor no other thread holds."""
        predictor = self.predictors.get()
        try:
            for name, x in ((contract.INPUT_IDS, ids), (contract.TOKEN_TYPE_IDS, types)):
                handle = predictor.get_input_handle(name)
                handle.reshape(list(x.shape))
                handle.copy_from_cpu(np.ascontiguousarray(x, dtype=np.int64))
            predictor.run()
            return predictor.get_output_handle(self.output_name).copy_to_cpu()
        finally:
            self.predictors.put(predictor)
