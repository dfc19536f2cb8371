"""Assemble a Triton model repository from an export folder.

    <repo>/repository.json            the RepositorySpec it was built from
    <repo>/tokenizer/1/model.py       + tokenizer.json, hiercls_runtime/
    <repo>/seqcls_model/1/model.onnx  (+ model.py, hiercls_runtime/ on the cpu target)
                                      or inference.json + inference.pdiparams (runtime paddle)
    <repo>/seqcls_postprocess/1/...   + label.txt, thresholds.json
    <repo>/seqcls/1/                  the ensemble (empty version folder)

Each model folder is written to a temp folder and renamed into place, so a
repository is never left half-built, and files beside the models (a README) are
left alone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from hiercls import runtime
from hiercls.repository.limits import tokenizer_vocab_size
from hiercls.repository.triton_config import RepositorySpec, render, repository_configs
from hiercls.runtime.artifacts import (
    CONFIG_FILE,
    EXPORT_META,
    LABEL_FILE,
    MODEL_VERSION,
    ONNX_FILE,
    PARAMS_FILE,
    PROGRAM_FILE,
    PYTHON_MODEL_FILE,
    RUNTIME_PACKAGE,
    SPEC_FILE,
    THRESHOLDS_FILE,
    TOKENIZER_FILE,
    read_export_meta,
)
from hiercls.runtime.decoding import LabelDecoder
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.runtime.io import atomic_write_json, atomic_write_text, fresh_dir, swap_dir
from hiercls.runtime.thresholds import load_decoder
from hiercls.serving import backends

BACKENDS_DIR = Path(backends.__file__).parent
RUNTIME_DIR = Path(runtime.__file__).parent


def spec_from_export(export_dir: str | Path, **overrides) -> RepositorySpec:
    meta = read_export_meta(export_dir)
    fields = dict(
        num_labels=meta["num_labels"], max_seq_length=meta["max_seq_length"], pad_token_id=meta["pad_token_id"]
    )
    # The decoder tuned on dev travels in thresholds.json; a flag still overrides it.
    fields["decoder"] = load_decoder(Path(export_dir) / THRESHOLDS_FILE)
    fields["vocab_size"] = tokenizer_vocab_size(Path(export_dir) / TOKENIZER_FILE)  # issue 14
    fields.update({k: v for k, v in overrides.items() if v is not None})
    return RepositorySpec(**fields)


# Runtime modules only the Paddle model step imports: left out of every other model,
# so an onnx repository holds no code that imports paddle.
PADDLE_ONLY = ("paddle_runner.py",)


def _python_model(version_dir: Path, backend_file: str, with_paddle: bool = False) -> None:
    shutil.copy2(BACKENDS_DIR / backend_file, version_dir / PYTHON_MODEL_FILE)
    skip = ("__pycache__", "*.pyc", *(() if with_paddle else PADDLE_ONLY))
    shutil.copytree(RUNTIME_DIR, version_dir / RUNTIME_PACKAGE, ignore=shutil.ignore_patterns(*skip))


def model_files(runtime: str) -> tuple[str, ...]:
    """The export's files the model step of ``runtime`` serves."""
    return (PROGRAM_FILE, PARAMS_FILE) if runtime == "paddle" else (ONNX_FILE,)


def _check_export(export_dir: Path, runtime: str = "onnx") -> LabelHierarchy:
    needed = (*model_files(runtime), TOKENIZER_FILE, LABEL_FILE, EXPORT_META)
    missing = [n for n in needed if not (export_dir / n).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{export_dir} is not an export folder: missing {missing} (run builders/export_model.py)"
        )
    # What the postprocess will load: fail here, not at server start.
    return LabelDecoder.from_folder(export_dir).hierarchy


def build_repository(export_dir: str | Path, output_dir: str | Path, spec: RepositorySpec) -> list[str]:
    """Write the four models of ``spec`` into output_dir; returns their names."""
    export_dir, output_dir = Path(export_dir), Path(output_dir)
    hierarchy = _check_export(export_dir, spec.runtime)
    if len(hierarchy) != spec.num_labels:
        raise ValueError(f"spec has {spec.num_labels} labels, {export_dir}/{LABEL_FILE} has {len(hierarchy)}")
    names = spec.names
    configs = repository_configs(spec)
    output_dir.mkdir(parents=True, exist_ok=True)
    staging = fresh_dir(output_dir / ".staging")
    version = {name: staging / name / MODEL_VERSION for name in configs}
    for d in version.values():
        d.mkdir(parents=True, exist_ok=True)

    _python_model(version[names.tokenizer], "tokenizer.py")
    shutil.copy2(export_dir / TOKENIZER_FILE, version[names.tokenizer] / TOKENIZER_FILE)

    for f in model_files(spec.runtime):
        shutil.copy2(export_dir / f, version[names.model] / f)
    if spec.target == "cpu":
        _python_model(version[names.model], f"{spec.runtime}_model.py", with_paddle=spec.runtime == "paddle")

    _python_model(version[names.postprocess], "postprocess.py")
    for f in (LABEL_FILE, THRESHOLDS_FILE):
        if (export_dir / f).is_file():
            shutil.copy2(export_dir / f, version[names.postprocess] / f)

    for name, config in configs.items():
        atomic_write_text(staging / name / CONFIG_FILE, render(config))

    previous = _previous_models(output_dir)
    for name in configs:
        swap_dir(staging / name, output_dir / name)
    for stale in previous - set(configs):
        shutil.rmtree(output_dir / stale, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)
    atomic_write_json(output_dir / SPEC_FILE, {"models": list(configs), "spec": spec.to_dict()})
    return list(configs)


def _previous_models(output_dir: Path) -> set[str]:
    f = output_dir / SPEC_FILE
    return set(json.loads(f.read_text(encoding="utf-8")).get("models", [])) if f.is_file() else set()
