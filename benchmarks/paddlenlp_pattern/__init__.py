"""A re-creation of PaddleNLP's hierarchical Triton example, served beside ours in
one tritonserver so the two can be timed in alternating slices on one model.onnx.

What it keeps from PaddleNLP's ``applications/text_classification/hierarchical/
deploy/triton_serving`` (read there, written anew here):

- the tokenizer step calls the checkpoint's PaddleNLP tokenizer on each request's
  texts with ``max_length`` and ``padding=True`` (each request padded to its own
  longest text);
- the model step has no dynamic batching and one instance, onnxruntime with
  ``intra_op_thread_count 0`` (every core);
- the postprocess applies a sigmoid and a 0.5 threshold.

What differs, and why:

- the model step is a Python-backend model running onnxruntime, as ours is on
  this host: the tritonserver here has no onnxruntime backend, so both pay the
  same stub round trip;
- the postprocess answers every row (PaddleNLP's reads row 0 only, which would
  make it do 1/32 of the work at batch 32) and returns label ids and
  confidences, as PaddleNLP's does (no label paths);
- the tokenizer path is the checkpoint's, not a hub name, and the e5 student's
  tokenizer (ours, HF ``tokenizers`` behind PaddleNLP's call signature) stands
  in for PaddleNLP's where the checkpoint is an e5 one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tritonclient.grpc import model_config_pb2 as mc

from hiercls.repository.triton_config import render, tensor, wire_steps

HERE = Path(__file__).resolve().parent
LOGITS = "logits"


def names(prefix: str = "pnlp") -> dict[str, str]:
    return {
        "ensemble": f"{prefix}_seqcls",
        "tokenizer": f"{prefix}_tokenizer",
        "model": f"{prefix}_model",
        "postprocess": f"{prefix}_postprocess",
    }


def configs(
    num_labels: int, max_seq_length: int, prefix: str = "pnlp", max_batch_size: int = 64
) -> dict[str, mc.ModelConfig]:
    NAMES = names(prefix)
    tok = mc.ModelConfig(name=NAMES["tokenizer"], backend="python", max_batch_size=max_batch_size)
    tok.input.append(tensor(mc.ModelInput, "INPUT", "TYPE_STRING", [1]))
    tok.output.append(tensor(mc.ModelOutput, "input_ids", "TYPE_INT64", [-1]))
    tok.output.append(tensor(mc.ModelOutput, "token_type_ids", "TYPE_INT64", [-1]))
    tok.instance_group.add(count=1, kind=mc.ModelInstanceGroup.KIND_CPU)
    tok.parameters["max_seq_length"].string_value = str(max_seq_length)

    model = mc.ModelConfig(name=NAMES["model"], backend="python", max_batch_size=max_batch_size)
    model.input.append(tensor(mc.ModelInput, "input_ids", "TYPE_INT64", [-1]))
    model.input.append(tensor(mc.ModelInput, "token_type_ids", "TYPE_INT64", [-1]))
    model.output.append(tensor(mc.ModelOutput, LOGITS, "TYPE_FP32", [num_labels]))
    model.instance_group.add(count=1, kind=mc.ModelInstanceGroup.KIND_CPU)
    model.parameters["intra_op_thread_count"].string_value = "0"

    post = mc.ModelConfig(name=NAMES["postprocess"], backend="python", max_batch_size=max_batch_size)
    post.input.append(tensor(mc.ModelInput, LOGITS, "TYPE_FP32", [num_labels]))
    post.output.append(tensor(mc.ModelOutput, "label", "TYPE_INT64", [-1]))
    post.output.append(tensor(mc.ModelOutput, "confidence", "TYPE_FP32", [-1]))
    post.instance_group.add(count=1, kind=mc.ModelInstanceGroup.KIND_CPU)

    ens = mc.ModelConfig(name=NAMES["ensemble"], platform="ensemble", max_batch_size=max_batch_size)
    ens.input.append(tensor(mc.ModelInput, "INPUT", "TYPE_STRING", [1]))
    ens.output.extend(post.output)
    wire_steps(ens, [tok, model, post])
    return {c.name: c for c in (tok, model, post, ens)}


def add_to_repository(
    repository: Path, checkpoint: Path, model_onnx: Path, num_labels: int, max_seq_length: int, prefix: str = "pnlp"
) -> dict[str, str]:
    """Write the four PaddleNLP-pattern models into an existing repository; returns
    their names by role."""
    NAMES = names(prefix)
    files = {NAMES["tokenizer"]: "tokenizer.py", NAMES["model"]: "model.py", NAMES["postprocess"]: "postprocess.py"}
    for name, config in configs(num_labels, max_seq_length, prefix).items():
        version = repository / name / "1"
        if (repository / name).exists():
            shutil.rmtree(repository / name)
        version.mkdir(parents=True)
        (repository / name / "config.pbtxt").write_text(render(config), encoding="utf-8")
        if name in files:
            shutil.copy2(HERE / files[name], version / "model.py")
    shutil.copytree(checkpoint, repository / NAMES["tokenizer"] / "1" / "checkpoint",
                    ignore=shutil.ignore_patterns("*.pdparams"))
    (repository / NAMES["model"] / "1" / "model.onnx").symlink_to(Path(model_onnx).resolve())
    return NAMES
