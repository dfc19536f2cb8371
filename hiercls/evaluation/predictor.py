"""Offline prediction without Triton: the exported ONNX model (onnxruntime) or the
Paddle checkpoint, with the same tokenizer, thresholds and decoder as the server.

Both read label.txt and thresholds.json (per-label thresholds and the decoder
tuned on dev) from their folder; both batch texts sorted by length, each batch
padded to its own longest text. The ONNX predictor runs the very bucketing the
served model step runs (``runtime.bucketing``), so its logits and the server's are
the same computation.

With ``long_text`` set (off by default), ``probs`` and ``predict`` score a text
longer than max_seq_length as overlapping windows and pool their probabilities
per label (``runtime.long_text``), as the served ensemble does when built with the
same option; ``logits`` always truncates.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hiercls.data.batching import length_sorted_batches
from hiercls.modeling.checkpoint import load_checkpoint
from hiercls.modeling.inference import encode, paddle_logits
from hiercls.runtime.bucketing import DEFAULT_CALL_OVERHEAD_TOKENS
from hiercls.runtime.decoding import decode, sigmoid
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.runtime.long_text import LongText, fold_windows, split_windows
from hiercls.runtime.onnx_runner import BucketedOnnxRunner
from hiercls.runtime.prediction import Prediction, from_decoded
from hiercls.runtime.thresholds import THRESHOLDS_FILE, load_decoder, load_thresholds
from hiercls.runtime.tokenization import TOKENIZER_FILE, TextEncoder

BACKENDS = ("paddle", "onnx")


class Predictor:
    """Shared decoding; subclasses provide ``logits`` and ``window_logits``."""

    def __init__(self, folder: Path, long_text: LongText | None = None) -> None:
        self.hierarchy = LabelHierarchy.from_file(folder / "label.txt")
        self.thresholds = load_thresholds(folder / THRESHOLDS_FILE, self.hierarchy)
        self.decoder = load_decoder(folder / THRESHOLDS_FILE)
        self.long_text = long_text

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
        t = self.thresholds if thresholds is None else thresholds
        return decode(probs, t, self.hierarchy, decoder or self.decoder)

    def predict(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        decoder: str | None = None,
        thresholds: np.ndarray | float | None = None,
    ) -> list[Prediction]:
        probs = self.probs(texts, batch_size)
        return from_decoded(list(texts), probs, self.decode(probs, decoder, thresholds), self.hierarchy)


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
        meta = json.loads((export_dir / "export_meta.json").read_text(encoding="utf-8"))
        self.encoder = TextEncoder(
            export_dir / TOKENIZER_FILE,
            max_seq_length or meta["max_seq_length"],
            meta["pad_token_id"],
            pad_to_multiple_of=1,
        )
        self.runner = BucketedOnnxRunner(
            export_dir / "model.onnx", self.encoder.pad_id, threads, workers, call_overhead_tokens
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
        meta_file = params_path / "train_meta.json"
        meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.is_file() else {}
        self.max_seq_length = max_seq_length or meta.get("max_seq_length", 128)
        if self.model.num_labels != len(self.hierarchy):
            raise ValueError(
                f"{params_path}: model has {self.model.num_labels} outputs, label.txt {len(self.hierarchy)}"
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
