"""Offline prediction without Triton: the exported ONNX model (onnxruntime) or the
Paddle checkpoint, with the same tokenizer, thresholds and decoder as the server."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hiercls.batching import length_sorted_batches
from hiercls.prediction import Prediction, from_decoded
from hiercls.runtime import contract
from hiercls.runtime.decoding import decode, sigmoid
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.runtime.thresholds import THRESHOLDS_FILE, load_thresholds
from hiercls.runtime.tokenization import TOKENIZER_FILE, TextEncoder


class OnnxPredictor:
    """Predicts from an export folder (builders/export_model.py)."""

    def __init__(self, export_dir: str | Path, max_seq_length: int | None = None, threads: int = 0) -> None:
        import json

        import onnxruntime as ort

        export_dir = Path(export_dir)
        meta = json.loads((export_dir / "export_meta.json").read_text(encoding="utf-8"))
        self.hierarchy = LabelHierarchy.from_file(export_dir / "label.txt")
        self.thresholds = load_thresholds(export_dir / THRESHOLDS_FILE, self.hierarchy)
        self.encoder = TextEncoder(
            export_dir / TOKENIZER_FILE,
            max_seq_length or meta["max_seq_length"],
            meta["pad_token_id"],
            pad_to_multiple_of=1,
        )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(export_dir / "model.onnx"), options, providers=["CPUExecutionProvider"])

    def logits(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), len(self.hierarchy)), dtype=np.float32)
        # Length is measured in characters: cheap, and close enough to sort by.
        for idx in length_sorted_batches([len(t) for t in texts], batch_size):
            ids, types = self.encoder.encode([texts[i] for i in idx])
            out[idx] = self.session.run([contract.LOGITS], {contract.INPUT_IDS: ids, contract.TOKEN_TYPE_IDS: types})[0]
        return out

    def predict(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        decoder: str = "closure",
        thresholds: np.ndarray | float | None = None,
    ) -> list[Prediction]:
        probs = sigmoid(self.logits(texts, batch_size))
        pred = decode(probs, self.thresholds if thresholds is None else thresholds, self.hierarchy, decoder)
        return from_decoded(list(texts), probs, pred, self.hierarchy)
