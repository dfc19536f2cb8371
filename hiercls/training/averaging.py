"""Averaging the weights of the last epochs (``--average_last_epochs``).

The mean of the last few epochs' weights often generalises better than any one of
them (the end of a decaying schedule wanders around a flat minimum). It is kept
only when it beats the best single epoch on dev micro F1, the same criterion that
picks the epoch, so test data still plays no part.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from hiercls.modeling.checkpoint import load_checkpoint, save_checkpoint
from hiercls.runtime.artifacts import LABEL_FILE, read_train_meta
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.training.selection import evaluate_micro_f1

logger = logging.getLogger(__name__)


def epoch_files(folder: Path) -> dict[int, Path]:
    out = {}
    for p in folder.glob("epoch_*.pdparams"):
        m = re.fullmatch(r"epoch_(\d+)\.pdparams", p.name)
        if m:
            out[int(m.group(1))] = p
    return dict(sorted(out.items()))


def mean_state(paths: list[Path]) -> dict:
    import paddle

    total: dict[str, np.ndarray] = {}
    for p in paths:
        for k, v in paddle.load(str(p)).items():
            a = v.numpy() if hasattr(v, "numpy") else np.asarray(v)
            total[k] = total[k] + a.astype(np.float64) if k in total else a.astype(np.float64)
    return {k: (v / len(paths)).astype(np.float32) for k, v in total.items()}


def average_last_epochs(
    save_dir: Path, epochs_dir: Path, last: int, dev_ids, y_dev: np.ndarray, batch_size: int
) -> dict:
    """Average the last ``last`` epochs found in epochs_dir; if the mean scores a
    higher dev micro F1 than the checkpoint in save_dir, write it there."""
    files = epoch_files(epochs_dir)
    chosen = list(files)[-last:]
    if len(chosen) < 2:
        logger.info("averaging: %d epoch file(s) in %s, nothing to average", len(chosen), epochs_dir)
        return {"kept": False, "epochs": chosen}
    hierarchy = LabelHierarchy.from_file(save_dir / LABEL_FILE)
    meta = read_train_meta(save_dir)
    model, tokenizer = load_checkpoint(save_dir)
    pad_id = int(tokenizer.pad_token_id)
    best = meta["dev"]  # the checkpoint's dev scores, from the same evaluate_micro_f1 when it was saved
    model.set_state_dict(mean_state([files[e] for e in chosen]))
    mean = evaluate_micro_f1(model, dev_ids, y_dev, hierarchy, batch_size, pad_id)
    kept = mean["micro_f1"] > best["micro_f1"]
    logger.info(
        "averaging epochs %s: dev micro F1 %.4f vs best single epoch (%s) %.4f: %s",
        chosen,
        mean["micro_f1"],
        meta.get("epoch"),
        best["micro_f1"],
        "kept" if kept else "not kept",
    )
    if kept:
        meta.update(averaged_epochs=chosen, dev=mean, best_single_epoch={"epoch": meta.get("epoch"), "dev": best})
        save_checkpoint(save_dir, model, tokenizer, hierarchy, meta)
    return {"kept": kept, "epochs": chosen, "dev_micro_f1": mean["micro_f1"], "best_single": best["micro_f1"]}
