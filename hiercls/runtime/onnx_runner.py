"""model.onnx on onnxruntime (CPU), run length-bucketed: the computation of the cpu
model step and of the offline ONNX predictor, so the two cannot drift apart.

By default each call is single-threaded and one worker thread per core runs
sub-batches side by side (see ``bucketing``). Intra-op spinning is off: spinning
threads hold a core that the tokenizer, postprocess and gRPC threads of the same
server need.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import contract
from .bucketing import DEFAULT_CALL_OVERHEAD_TOKENS, BucketedRunner


class BucketedOnnxRunner(BucketedRunner):
    def __init__(
        self,
        model_path: str | Path,
        pad_id: int,
        threads_per_call: int = 1,
        workers: int = 0,
        call_overhead_tokens: float = DEFAULT_CALL_OVERHEAD_TOKENS,
        spinning: bool = False,
    ) -> None:
        """threads_per_call: onnxruntime intra-op threads (0: every core, one worker);
        workers: sub-batches run at once (0: cores / threads_per_call)."""
        import onnxruntime as ort

        super().__init__(pad_id, threads_per_call, workers, call_overhead_tokens, "onnx")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])

    def run(self, ids: np.ndarray, types: np.ndarray) -> np.ndarray:
        """One model call on a padded batch."""
        return self.session.run([contract.LOGITS], {contract.INPUT_IDS: ids, contract.TOKEN_TYPE_IDS: types})[0]
