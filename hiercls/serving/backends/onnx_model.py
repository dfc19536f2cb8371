"""Model step for CPU hosts whose Triton has no onnxruntime backend (the tritonserver
bundled in nvidia-pytriton): runs model.onnx with onnxruntime inside the Python
backend. The NGC image serves the same model.onnx with ``backend: "onnxruntime"``.

Requests are merged ragged and run length-bucketed (``runtime.model_step``).
"""

from __future__ import annotations

try:
    from hiercls_runtime import contract, guards
    from hiercls_runtime.artifacts import ONNX_FILE
    from hiercls_runtime.model_step import execute_requests, runner_options
    from hiercls_runtime.onnx_runner import BucketedOnnxRunner
    from hiercls_runtime.triton_args import output_dtypes, parse_args
except ImportError:
    from hiercls.runtime import contract, guards
    from hiercls.runtime.artifacts import ONNX_FILE
    from hiercls.runtime.model_step import execute_requests, runner_options
    from hiercls.runtime.onnx_runner import BucketedOnnxRunner
    from hiercls.runtime.triton_args import output_dtypes, parse_args


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        import triton_python_backend_utils as pb_utils

        self.pb = pb_utils
        config, params, version_dir = parse_args(args)
        self.dtypes = output_dtypes(pb_utils, config)
        self.pad_id = int(params["pad_token_id"])
        self.runner = BucketedOnnxRunner(version_dir / ONNX_FILE, self.pad_id, **runner_options(params))
        self.limits = guards.IdLimits.from_params(params)  # direct callers are checked too (issue 14)

    def execute(self, requests):
        return execute_requests(self.pb, requests, self.runner, self.pad_id, self.dtypes[contract.LOGITS], self.limits)

    def finalize(self) -> None:
        self.runner.close()
