"""Running a Paddle model on texts: tokenizing, batched logits, the default device.

Training, distillation, the offline predictor, the export's parity check, the
analyses and DynaBERT all score texts the same way, through these three functions.
"""

from __future__ import annotations

import numpy as np

from hiercls.data.batching import length_sorted_batches, pad_batch


def encode(tokenizer, texts: list[str], max_seq_length: int) -> list[list[int]]:
    """Token ids of each text, cut to max_seq_length (no token types: the model gets zeros)."""
    enc = tokenizer(texts, max_length=max_seq_length, truncation=True, return_token_type_ids=False)
    return enc["input_ids"]


def paddle_logits(model, ids: list[list[int]], batch_size: int, pad_id: int = 0) -> np.ndarray:
    """Logits for pre-tokenised texts, length-sorted batches, original order out."""
    import paddle

    rows: dict[int, np.ndarray] = {}
    model.eval()
    with paddle.no_grad():
        for idx in length_sorted_batches([len(x) for x in ids], batch_size):
            x = paddle.to_tensor(pad_batch([ids[i] for i in idx], pad_id))
            logits = model(x, token_type_ids=paddle.zeros_like(x))
            rows.update(zip(idx.tolist(), logits.numpy().astype(np.float32)))
    return np.stack([rows[i] for i in range(len(ids))])


def default_device() -> str:
    """``gpu`` when Paddle was built with CUDA and sees a GPU, else ``cpu``."""
    import paddle

    return "gpu" if paddle.device.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0 else "cpu"
