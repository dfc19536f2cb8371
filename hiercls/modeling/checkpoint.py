"""A training checkpoint folder: written whole or not at all, and loaded back.

A checkpoint is what PaddleNLP's ``save_pretrained`` writes (config.json, weights,
vocabulary) plus label.txt, thresholds.json and train_meta.json. Training, DynaBERT
and every reader of checkpoints (export, predictor, analyses) go through here.
"""

from __future__ import annotations

from pathlib import Path

from hiercls.modeling.encoders import checkpoint_module
from hiercls.runtime.artifacts import LABEL_FILE, MODEL_CONFIG_FILE, THRESHOLDS_FILE, TRAIN_META
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.runtime.io import atomic_write_json, fresh_dir, swap_dir
from hiercls.runtime.thresholds import default_thresholds, save_thresholds


def save_checkpoint(save_dir: Path, model, tokenizer, hierarchy: LabelHierarchy, meta: dict) -> None:
    """Write the checkpoint to a temp dir, then swap it in: a crash never leaves half
    a checkpoint in save_dir."""
    tmp = fresh_dir(save_dir.with_name(save_dir.name + ".tmp"))
    model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    hierarchy.save(tmp / LABEL_FILE)
    save_thresholds(tmp / THRESHOLDS_FILE, hierarchy, default_thresholds(hierarchy), source="default")
    atomic_write_json(tmp / TRAIN_META, meta)
    swap_dir(tmp, save_dir)


def load_checkpoint(params_path: str | Path):
    """(model, tokenizer) from a directory written by training/train.py (or prune.py)."""
    params_path = Path(params_path)
    if not (params_path / MODEL_CONFIG_FILE).is_file():
        raise FileNotFoundError(f"{params_path} is not a checkpoint directory (no {MODEL_CONFIG_FILE})")
    encoder = checkpoint_module(params_path)
    if encoder is not None:
        return encoder.load_checkpoint(params_path)

    from paddlenlp.transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(str(params_path))
    tokenizer = AutoTokenizer.from_pretrained(str(params_path))
    model.eval()
    return model, tokenizer


def sample_texts(texts: list[str], n: int = 16) -> list[str]:
    """n texts spread over the length range, shortest to longest (kept in train_meta.json
    for the export's Paddle-vs-ONNX check)."""
    by_len = sorted(set(texts), key=len)
    if len(by_len) <= n:
        return by_len
    return [by_len[round(i * (len(by_len) - 1) / (n - 1))] for i in range(n)]
