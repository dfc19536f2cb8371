"""Model step for CPU hosts whose Triton has no onnxruntime backend (the tritonserver
bundled in nvidia-pytriton): runs model.onnx with onnxruntime inside the Python
backend. The NGC image serves the same model.onnx with ``backend: "onnxruntime"``.

The inputs allow ragged batches, so the dynamic batcher merges requests whose
texts differ in length (it merges only equal shapes otherwise, which under
single-text load almost never happens). All rows it hands over are then run
length-bucketed (``runtime.bucketing``): sorted by length and cut into sub-batches
padded only to their own longest row. The pad id is masked inside the model, so
each row's logits do not depend on its neighbours or on the split.
"""

from __future__ import annotations

import numpy as np

try:
    from hiercls_runtime import contract, guards
    from hiercls_runtime.bucketing import DEFAULT_CALL_OVERHEAD_TOKENS
    from hiercls_runtime.onnx_runner import BucketedOnnxRunner
    from hiercls_runtime.triton_args import output_dtypes, parse_args
except ImportError:
    from hiercls.runtime import contract, guards
    from hiercls.runtime.bucketing import DEFAULT_CALL_OVERHEAD_TOKENS
    from hiercls.runtime.onnx_runner import BucketedOnnxRunner
    from hiercls.runtime.triton_args import output_dtypes, parse_args

MODEL_FILE = "model.onnx"


def pad_to(x: np.ndarray, width: int, value: int) -> np.ndarray:
    if x.shape[1] == width:
        return x
    out = np.full((x.shape[0], width), value, dtype=x.dtype)
    out[:, : x.shape[1]] = x
    return out


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        import triton_python_backend_utils as pb_utils

        self.pb = pb_utils
        config, params, version_dir = parse_args(args)
        self.dtypes = output_dtypes(pb_utils, config)
        self.pad_id = int(params["pad_token_id"])
        self.runner = BucketedOnnxRunner(
            version_dir / MODEL_FILE,
            self.pad_id,
            threads_per_call=int(params.get("intra_op_num_threads", "1")),
            workers=int(params.get("model_workers", "0")),
            call_overhead_tokens=float(params.get("bucket_call_overhead_tokens", DEFAULT_CALL_OVERHEAD_TOKENS)),
        )
        self.limits = guards.IdLimits.from_params(params)  # direct callers are checked too (issue 14)

    def execute(self, requests):
        pb = self.pb
        batch, responses = [], [None] * len(requests)
        for i, request in enumerate(requests):
            try:
                ids = pb.get_input_tensor_by_name(request, contract.INPUT_IDS).as_numpy()
                types = pb.get_input_tensor_by_name(request, contract.TOKEN_TYPE_IDS).as_numpy()
                ids, types = guards.check_id_matrices(ids, types, self.limits)
                batch.append((i, ids, types))
            except Exception as e:
                responses[i] = pb.InferenceResponse(error=pb.TritonError(f"{contract.LOGITS}: {e}"))
        if batch:
            try:
                width = max(ids.shape[1] for _, ids, _ in batch)
                ids = np.concatenate([pad_to(x, width, self.pad_id) for _, x, _ in batch])
                types = np.concatenate([pad_to(t, width, 0) for _, _, t in batch])
                logits = self.runner(ids, types)
                logits = logits.astype(self.dtypes[contract.LOGITS])
                start = 0
                for i, x, _ in batch:
                    rows = logits[start : start + len(x)]
                    start += len(x)
                    responses[i] = pb.InferenceResponse(output_tensors=[pb.Tensor(contract.LOGITS, rows)])
            except Exception as e:
                for i, _, _ in batch:
                    responses[i] = pb.InferenceResponse(error=pb.TritonError(f"model: {e}"))
        return responses

    def finalize(self) -> None:
        self.runner.close()
