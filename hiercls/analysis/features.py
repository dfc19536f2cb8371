"""Encoder features, logits and classifier weights of a checkpoint written by
training/train.py: what the sparse- and dirty-data analyses compute on.

The ``pooled`` feature is exactly the input of the classifier layer
(``logits = pooled @ W.T + b`` in eval mode), which representer-point scores
rely on; ``mean`` (mean of the last hidden states over real tokens) is offered
for similarity search only.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hiercls.data.batching import length_sorted_batches, pad_batch
from hiercls.modeling.checkpoint import load_checkpoint
from hiercls.modeling.inference import encode
from hiercls.runtime.artifacts import LABEL_FILE, read_train_meta, train_max_seq_length
from hiercls.runtime.decoding import LabelDecoder, sigmoid
from hiercls.runtime.hierarchy import LabelHierarchy

logger = logging.getLogger(__name__)

POOLINGS: tuple[str, ...] = ("pooled", "mean")
LOG_EVERY_S = 10.0


@dataclass
class Encoded:
    """Features and logits of N texts, in input order."""

    features: np.ndarray  # [N, H] float32
    logits: np.ndarray  # [N, L] float32

    @property
    def probs(self) -> np.ndarray:
        return sigmoid(self.logits)


def check_same_labels(checkpoint_labels: LabelHierarchy, data_labels: LabelHierarchy, where: str) -> None:
    """The analyses index logits by label: a dataset with another label list would
    silently mismatch every column."""
    diff = checkpoint_labels.difference(data_labels, "checkpoint", "data")
    if diff:
        raise ValueError(
            f"{where} does not match the checkpoint's {LABEL_FILE} ({diff}): "
            "analyse with the checkpoint trained on this label file"
        )


class CheckpointModel:
    """A trained checkpoint that turns texts into features and logits."""

    def __init__(
        self,
        params_path: str | Path,
        batch_size: int = 64,
        max_seq_length: int | None = None,
        pooling: str = "pooled",
    ) -> None:

        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; choose one of {POOLINGS}")
        if batch_size < 1:
            raise ValueError(f"--batch_size must be positive, got {batch_size}")
        self.params_path = Path(params_path)
        self.model, self.tokenizer = load_checkpoint(self.params_path)
        self.decoding = LabelDecoder.from_folder(self.params_path)
        self.hierarchy = self.decoding.hierarchy
        self.max_seq_length = train_max_seq_length(read_train_meta(self.params_path), max_seq_length)
        self.batch_size = batch_size
        self.pooling = pooling
        self.pad_id = int(self.tokenizer.pad_token_id or 0)

    def classifier(self) -> tuple[np.ndarray, np.ndarray]:
        """(W [L, H], b [L]) of the output layer; paddle stores Linear weights as [in, out]."""
        layer = self.model.classifier
        return layer.weight.numpy().T.astype(np.float32), layer.bias.numpy().astype(np.float32)

    def encode(self, texts: list[str], what: str = "texts") -> Encoded:
        """Features and logits of texts, length-sorted batches, input order out."""
        import paddle

        if not texts:
            raise ValueError(f"no {what} to encode")
        ids = encode(self.tokenizer, texts, self.max_seq_length)
        features: dict[int, np.ndarray] = {}
        logits: dict[int, np.ndarray] = {}
        self.model.eval()
        t0 = last = time.time()
        with paddle.no_grad():
            for idx in length_sorted_batches([len(x) for x in ids], self.batch_size):
                x = paddle.to_tensor(pad_batch([ids[i] for i in idx], self.pad_id))
                sequence, pooled = self.model.ernie(x, token_type_ids=paddle.zeros_like(x))[:2]
                out = self.model.classifier(pooled).numpy()
                if self.pooling == "pooled":
                    feat = pooled.numpy()
                else:
                    mask = (x != self.pad_id).astype("float32").unsqueeze(-1)
                    feat = ((sequence * mask).sum(axis=1) / mask.sum(axis=1)).numpy()
                features.update(zip(idx.tolist(), feat.astype(np.float32)))
                logits.update(zip(idx.tolist(), out.astype(np.float32)))
                now = time.time()
                if now - last >= LOG_EVERY_S:
                    rate = len(features) / (now - t0)
                    logger.info(
                        "encoding %s: %d/%d, %.0f texts/s, ETA %.0fs",
                        what,
                        len(features),
                        len(ids),
                        rate,
                        (len(ids) - len(features)) / rate,
                    )
                    last = now
        logger.info("encoded %d %s in %.1fs", len(ids), what, time.time() - t0)
        order = range(len(ids))
        return Encoded(np.stack([features[i] for i in order]), np.stack([logits[i] for i in order]))
