"""The artefact layout: every file name a data set, a checkpoint, an export folder and
a model repository hold, and the reading of the metadata files beside them.

This is the one place these names are spelled (as ``contract`` is for tensor names):
training writes them, the exporter and the repository builder copy them, the
predictors, backends and benchmarks read them. Standard library only: the folder is
copied into the Triton repository as ``hiercls_runtime``.

    dataset_dir/    train.txt dev.txt [test.txt] [data.txt] label.txt      (PaddleNLP layout)
    checkpoint/     model_state.pdparams config.json vocab.txt tokenizer_config.json
                    label.txt thresholds.json train_meta.json [train_history.json]
    export/         model.onnx inference.json inference.pdiparams tokenizer.json
                    label.txt thresholds.json export_meta.json (+ the checkpoint's tokenizer
                    files and train_meta.json); an fp16/int8 variant is the same folder
                    with model.onnx converted and no static graph
    model_repository/
                    repository.json  <model>/config.pbtxt  <model>/1/{model.py, hiercls_runtime/, ...}
"""

from __future__ import annotations

import json
from pathlib import Path

# PaddleNLP's data set layout (training/train.py --dataset_dir).
TRAIN_FILE = "train.txt"
DEV_FILE = "dev.txt"
TEST_FILE = "test.txt"
DATA_FILE = "data.txt"
# One label path per line; logit i is line i. Also in every checkpoint, export and postprocess.
LABEL_FILE = "label.txt"

# Checkpoint (training/train.py --save_dir), as PaddleNLP's save_pretrained writes it plus ours.
WEIGHTS_FILE = "model_state.pdparams"
MODEL_CONFIG_FILE = "config.json"
VOCAB_FILE = "vocab.txt"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
# Per-label thresholds and the decoder tuned with them.
THRESHOLDS_FILE = "thresholds.json"
# How the checkpoint was trained: model_name, max_seq_length, sample_texts, ...
TRAIN_META = "train_meta.json"
TRAIN_HISTORY = "train_history.json"

# Export folder (builders/export_model.py).
ONNX_FILE = "model.onnx"
# The static graph: <prefix>.json (PIR) or <prefix>.pdmodel (older Paddle) + <prefix>.pdiparams.
STATIC_PREFIX = "inference"
PROGRAM_FILE = f"{STATIC_PREFIX}.json"
LEGACY_PROGRAM_FILE = f"{STATIC_PREFIX}.pdmodel"
PARAMS_FILE = f"{STATIC_PREFIX}.pdiparams"
PARAMS_INFO_FILE = f"{PARAMS_FILE}.info"
STATIC_GRAPH_FILES = (PROGRAM_FILE, LEGACY_PROGRAM_FILE, PARAMS_FILE, PARAMS_INFO_FILE)
TOKENIZER_FILE = "tokenizer.json"
# num_labels, max_seq_length, pad_token_id, parity, precision of a variant.
EXPORT_META = "export_meta.json"
# The checkpoint files an export carries along (thresholds and labels for serving,
# the slow tokenizer's files and train_meta for whoever inspects it later).
EXPORT_COPIES = (LABEL_FILE, THRESHOLDS_FILE, VOCAB_FILE, TOKENIZER_CONFIG_FILE, TRAIN_META)

# Model repository (builders/build_repository.py).
SPEC_FILE = "repository.json"
CONFIG_FILE = "config.pbtxt"
MODEL_VERSION = "1"
PYTHON_MODEL_FILE = "model.py"
RUNTIME_PACKAGE = "hiercls_runtime"

# The max_seq_length of a checkpoint that does not record one (PaddleNLP's default,
# and training/train.py's).
DEFAULT_MAX_SEQ_LENGTH = 128


def _read_json(path: Path, fix: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not valid JSON ({e}); {fix}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object; {fix}")
    return data


def read_train_meta(checkpoint: str | Path) -> dict:
    """train_meta.json of a checkpoint ({} when absent: an older or foreign checkpoint)."""
    path = Path(checkpoint) / TRAIN_META
    if not path.is_file():
        return {}
    return _read_json(path, "retrain or delete the file")


def train_max_seq_length(meta: dict, override: int | None = None) -> int:
    """``override`` when given, else the length the checkpoint was trained with, else
    the default: the one rule every reader of a checkpoint follows."""
    return int(override or meta.get("max_seq_length") or DEFAULT_MAX_SEQ_LENGTH)


def read_export_meta(export_dir: str | Path) -> dict:
    """export_meta.json of an export folder; missing means it is not an export folder."""
    path = Path(export_dir) / EXPORT_META
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: pass a folder written by builders/export_model.py")
    return _read_json(path, "export the checkpoint again")


def version_dir(repository: str | Path, model: str) -> Path:
    """<repository>/<model>/1: where a model's files live."""
    return Path(repository) / model / MODEL_VERSION
