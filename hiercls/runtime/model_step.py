"""The cpu model step's request handling, shared by the Python-backend model steps
(``backends/onnx_model.py``, ``backends/paddle_model.py``): they differ only in the
runner that computes logits, so batching, padding and errors cannot drift apart.

The inputs allow ragged batches, so the dynamic batcher merges requests whose
texts differ in length (it merges only equal shapes otherwise, which under
single-text load almost never happens). All rows it hands over are then run
length-bucketed (``bucketing``): sorted by length and cut into sub-batches padded
only to their own longest row. The pad id is masked inside the model, so each
row's logits do not depend on its neighbours or on the split.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import contract, guards
from .bucketing import DEFAULT_CALL_OVERHEAD_TOKENS


def runner_options(params: dict[str, str]) -> dict:
    """The runner settings a model step's config carries (written by triton_config)."""
    return {
        "threads_per_call": int(params.get("intra_op_num_threads", "1")),
        "workers": int(params.get("model_workers", "0")),
        "call_overhead_tokens": float(params.get("bucket_call_overhead_tokens", DEFAULT_CALL_OVERHEAD_TOKENS)),
    }


def pad_to(x: np.ndarray, width: int, value: int) -> np.ndarray:
    if x.shape[1] == width:
        return x
    out = np.full((x.shape[0], width), value, dtype=x.dtype)
    out[:, : x.shape[1]] = x
    return out


def execute_requests(
    pb,
    requests: list,
    runner: Callable[[np.ndarray, np.ndarray], np.ndarray],
    pad_id: int,
    logits_dtype,
    limits: guards.IdLimits,
) -> list:
    """One response per request: every valid request's rows run together through
    ``runner(ids, types) -> logits``; a malformed request fails alone. ``limits``
    bound what a direct caller of the model step may send (issue 14)."""
    batch, responses = [], [None] * len(requests)
    for i, request in enumerate(requests):
        try:
            ids = pb.get_input_tensor_by_name(request, contract.INPUT_IDS).as_numpy()
            types = pb.get_input_tensor_by_name(request, contract.TOKEN_TYPE_IDS).as_numpy()
            ids, types = guards.check_id_matrices(ids, types, limits)
            batch.append((i, ids, types))
        except Exception as e:
            responses[i] = pb.InferenceResponse(error=pb.TritonError(f"{contract.LOGITS}: {e}"))
    if batch:
        try:
            width = max(ids.shape[1] for _, ids, _ in batch)
            ids = np.concatenate([pad_to(x, width, pad_id) for _, x, _ in batch])
            types = np.concatenate([pad_to(t, width, 0) for _, _, t in batch])
            logits = runner(ids, types).astype(logits_dtype)
            start = 0
            for i, x, _ in batch:
                rows = logits[start : start + len(x)]
                start += len(x)
                responses[i] = pb.InferenceResponse(output_tensors=[pb.Tensor(contract.LOGITS, rows)])
        except Exception as e:
            for i, _, _ in batch:
                responses[i] = pb.InferenceResponse(error=pb.TritonError(f"model: {e}"))
    return responses
