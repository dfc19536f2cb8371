"""Offline prediction without Triton: the exported ONNX model (onnxruntime) or the
Paddle checkpoint, with the same tokenizer, thresholds and decoder as the server.

Both read label.txt and thresholds.json (per-label thresholds and the decoder
tuned on dev) from their folder, as the postprocess does (``LabelDecoder``); both
batch texts sorted by length, each batch padded to its own longest text. The ONNX
predictor runs the very bucketing the served model step runs (``runtime.bucketing``),
so its logits and the server's are the same computation.

With ``long_text`` set (off by default), ``probs`` and ``predict`` score a text
longer than max_seq_length as overlapping windows and pool their probabilities
per label (``runtime.long_text``), as the served ensemble does when built with the
same option; ``logits`` always truncates.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hiercls.data.batching import length_sorted_batches
from hiercls.modeling.checkpoint import load_checkpoint
from hiercls.modeling.inference import encode, paddle_logits
from hiercls.runtime.artifacts import (
    LABEL_FILE,
    ONNX_FILE,
    TOKENIZER_FILE,
    read_export_meta,
    read_train_meta,
    train_max_seq_length,
)
from hiercls.runtime.bucketing import DEFAULT_CALL_OVERHEAD_TOKENS
from hiercls.runtime.decoding import LabelDecoder, sigmoid
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.runtime.long_text import LongText, fold_windows, split_windows
from hiercls.runtime.onnx_runner import BucketedOnnxRunner
from hiercls.runtime.prediction import Prediction, from_decoded
from hiercls.runtime.tokenization import TextEncoder

BACKENDS = ("paddle", "onnx")


class Predictor:
    """Shared decoding; subclasses provide ``logits`` and ``window_logits``."""

    def __init__(self, folder: Path, long_text: LongText | None = None) -> None:
        self.decoding = LabelDecoder.from_folder(folder)
        self.long_text = long_text

    @property
    def hierarchy(self) -> LabelHierarchy:
        return self.decoding.hierarchy

    @property
    def thresholds(self) -> np.ndarray | float:
        return self.decoding.thresholds

    @property
    def decoder(self) -> str:
        return self.decoding.decoder

    def logits(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """One row per text, each truncated to max_seq_length."""
        raise NotImplementedError

    def window_logits(self, texts: Sequence[str], batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
        """(logits of every window [R, L], the text of each window [R]) under ``long_text``."""
        raise NotImplementedError

    def probs(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Label probabilities, one row per text: truncated, or pooled over windows."""
        if self.long_text is None:
            return sigmoid(self.logits(texts, batch_size))
        rows, text_index = self.window_logits(texts, batch_size)
        return fold_windows(sigmoid(rows), text_index, self.long_text.pool, len(texts))

    def decode(
        self, probs: np.ndarray, decoder: str | None = None, thresholds: np.ndarray | float | None = None
    ) -> np.ndarray:
        return self.decoding.override(thresholds, decoder).decode(probs)

    def predict(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        decoder: str | None = None,
        thresholds: np.ndarray | float | None = None,
    ) -> list[Prediction]:
        probs = self.probs(texts, batch_size)
        return from_decoded(list(texts), probs, self.decode(probs, decoder, thresholds), self.hierarchy)


def export_text_encoder(export_dir: str | Path, max_seq_length: int | None = None) -> TextEncoder:
    """The export's own tokenizer for offline use: unpadded batches and, unlike the
    server's, no cap on one call's characters in all (per-text limits stay). The serving
    cap is for requests from outside; offline callers pick their own chunks, and a chunk
    of a data set's longest texts runs past it."""
    export_dir = Path(export_dir)
    meta = read_export_meta(export_dir)
    return TextEncoder(
        export_dir / TOKENIZER_FILE,
        max_seq_length or meta["max_seq_length"],
        meta["pad_token_id"],
        pad_to_multiple_of=1,
        max_request_chars=None,
    )


class OnnxPredictor(Predictor):
    """Predicts from an export folder (builders/export_model.py)."""

    # Texts tokenized at a time; the bucketing plan spans each chunk.
    CHUNK = 1024

    def __init__(
        self,
        export_dir: str | Path,
        max_seq_length: int | None = None,
        threads: int = 1,
        call_overhead_tokens: float = DEFAULT_CALL_OVERHEAD_TOKENS,
        workers: int = 0,
        long_text: LongText | None = None,
    ) -> None:
        """threads: onnxruntime threads per call (0: all cores in one call);
        workers: calls at once (0: one per core)."""
        export_dir = Path(export_dir)
        super().__init__(export_dir, long_text)
        self.encoder = export_text_encoder(export_dir, max_seq_length)
        self.runner = BucketedOnnxRunner(
            export_dir / ONNX_FILE, self.encoder.pad_id, threads, workers, call_overhead_tokens
        )
        self.session = self.runner.session
        self.run = self.runner.run  # one model call on a padded batch

    def logits(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """batch_size caps the rows of one model call; the bucketing plan picks the rest."""
        out = np.zeros((len(texts), len(self.hierarchy)), dtype=np.float32)
        # Chunks of texts of similar length in characters (cheap to sort by), so that
        # tokenizing a chunk pads little; within a chunk the plan works on token counts.
        for idx in length_sorted_batches([len(t) for t in texts], self.CHUNK):
            ids, types = self.encoder.encode([texts[i] for i in idx])
            out[idx] = self.runner(ids, types, max_rows=batch_size)
        return out

    def window_logits(self, texts: Sequence[str], batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
        rows, index = [], []
        for idx in length_sorted_batches([len(t) for t in texts], self.CHUNK):
            ids, types, text_index = self.encoder.encode_windows([texts[i] for i in idx], self.long_text)
            rows.append(self.runner(ids, types, max_rows=batch_size))
            index.append(idx[text_index])
        return np.concatenate(rows), np.concatenate(index)


class PaddlePredictor(Predictor):
    """Predicts from a training checkpoint (training/train.py --save_dir)."""

    def __init__(
        self,
        params_path: str | Path,
        max_seq_length: int | None = None,
        device: str | None = None,
        long_text: LongText | None = None,
    ) -> None:
        import paddle

        params_path = Path(params_path)
        if device:
            paddle.set_device(device)
        super().__init__(params_path, long_text)
        self.model, self.tokenizer = load_checkpoint(params_path)
        self.max_seq_length = train_max_seq_length(read_train_meta(params_path), max_seq_length)
        if self.model.num_labels != len(self.hierarchy):
            raise ValueError(
                f"{params_path}: model has {self.model.num_labels} outputs, {LABEL_FILE} {len(self.hierarchy)}"
            )

    def logits(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        ids = encode(self.tokenizer, list(texts), self.max_seq_length)
        return paddle_logits(self.model, ids, batch_size, int(self.tokenizer.pad_token_id))

    def window_logits(self, texts: Sequence[str], batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
        # Untruncated, with the special-token mask the windows are cut by; PaddleNLP
        # gives no token types here, and the model is fed zeros for them anyway.
        enc = self.tokenizer(list(texts), return_special_tokens_mask=True, return_token_type_ids=False)
        rows, index = [], []
        for t, (ids, mask) in enumerate(zip(enc["input_ids"], enc["special_tokens_mask"])):
            windows = split_windows(ids, [0] * len(ids), mask, self.max_seq_length, self.long_text)
            rows += [w for w, _ in windows]
            index += [t] * len(windows)
        logits = paddle_logits(self.model, rows, batch_size, int(self.tokenizer.pad_token_id))
        return logits, np.asarray(index, dtype=np.int64)


def load_predictor(
    backend: str,
    path: str | Path,
    max_seq_length: int | None = None,
    device: str | None = None,
    long_text: LongText | None = None,
) -> Predictor:
    """``paddle``: path is a checkpoint; ``onnx``: path is an export folder. ``long_text``:
    windows for texts over max_seq_length (None: truncate)."""
    if backend == "paddle":
        return PaddlePredictor(path, max_seq_length, device, long_text)
    if backend == "onnx":
        return OnnxPredictor(path, max_seq_length, long_text=long_text)
    raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
