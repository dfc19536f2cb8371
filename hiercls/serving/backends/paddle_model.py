"""Model step that serves the exported static graph (inference.json +
inference.pdiparams) with Paddle Inference inside the Python backend: the same
tensor contract, ragged batching and length bucketing as ``onnx_model.py``
(``runtime.model_step``), only the runner differs. The serving environment needs
paddlepaddle for this step (requirements-serving-paddle.txt); the ONNX step does not.
"""

from __future__ import annotations

try:
    from hiercls_runtime import contract, guards
    from hiercls_runtime.model_step import execute_requests, runner_options
    from hiercls_runtime.paddle_runner import BucketedPaddleRunner
    from hiercls_runtime.triton_args import output_dtypes, parse_args
except ImportError:
    from hiercls.runtime import contract, guards
    from hiercls.runtime.model_step import execute_requests, runner_options
    from hiercls.runtime.paddle_runner import BucketedPaddleRunner
    from hiercls.runtime.triton_args import output_dtypes, parse_args


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        import triton_python_backend_utils as pb_utils

        self.pb = pb_utils
        config, params, version_dir = parse_args(args)
        self.dtypes = output_dtypes(pb_utils, config)
        self.pad_id = int(params["pad_token_id"])
        self.runner = BucketedPaddleRunner(
            version_dir,
            self.pad_id,
            **runner_options(params),
            mkldnn=params.get("paddle_mkldnn", "false") == "true",
        )
        self.limits = guards.IdLimits.from_params(params)  # direct callers are checked too (issue 14)

    def execute(self, requests):
        return execute_requests(self.pb, requests, self.runner, self.pad_id, self.dtypes[contract.LOGITS], self.limits)

    def finalize(self) -> None:
        self.runner.close()
