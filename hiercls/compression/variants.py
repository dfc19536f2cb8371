"""fp32 / fp16 / int8 variants of an export folder, each behind a dev-set quality gate.

A variant is a copy of the export folder with model.onnx converted:

- ``fp16``: onnxruntime's float16 converter with the inputs and output kept in their
  original types (the model step's contract does not change); for GPUs, where it is
  fast; on CPU it runs, slowly. (onnxconverter-common's converter writes a graph
  onnxruntime refuses to load for this model: a Cast typed fp16 feeding fp32.)
- ``int8``: onnxruntime dynamic quantization (int8 weights, activations quantized
  per batch at run time); for CPUs.
- ``fp32``: the model unchanged (a baseline that goes through the same gate).

Before the variant replaces ``output_path`` it is evaluated on dev next to the fp32
model with the export's own tokenizer, thresholds and decoder; it is refused
(``GateError``) when its micro F1 is more than ``max_f1_drop`` points below the fp32
model's or any logit is NaN/inf. The Paddle static graph is not copied: it would be
the fp32 model under a variant's name.

fp16 needs one more check. onnxruntime's CPU provider has few fp16 kernels and runs
most fp16 nodes through casts to fp32, so on CPU an activation beyond fp16's range
(65504) stays finite, where a GPU would produce inf. The gate therefore also runs the
fp32 model on dev with every tensor the fp16 graph stores in fp16 exposed, and
refuses when any of them leaves fp16's range (``fp16_range``).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from hiercls.compression import matmul_roles
from hiercls.data.batching import length_sorted_batches
from hiercls.data.reading import read_examples
from hiercls.evaluation.metrics import scores
from hiercls.evaluation.predictor import OnnxPredictor, export_text_encoder
from hiercls.runtime import contract
from hiercls.runtime.artifacts import (
    DEV_FILE,
    EXPORT_META,
    LABEL_FILE,
    ONNX_FILE,
    STATIC_GRAPH_FILES,
    read_export_meta,
)
from hiercls.runtime.decoding import sigmoid
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.runtime.io import atomic_write_json

logger = logging.getLogger(__name__)

PRECISIONS = ("fp32", "fp16", "int8")
FP16_MAX = 65504.0  # largest finite float16


class GateError(RuntimeError):
    """The variant is worse than the gate allows; the message says by how much."""


def convert(src: Path, dst: Path, precision: str, keep_fp32: Sequence[str] = ()) -> None:
    """Write ``src`` (an fp32 ONNX model) converted to ``precision`` at ``dst``;
    ``keep_fp32`` (int8 only) names MatMul nodes left in fp32."""
    import onnx

    if keep_fp32 and precision != "int8":
        raise ValueError(f"--keep_fp32 applies to int8, not {precision}")

    if precision == "fp32":
        shutil.copy2(src, dst)
    elif precision == "fp16":
        from onnxruntime.transformers.float16 import convert_float_to_float16

        model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
        onnx.save(model, str(dst))
    elif precision == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        with _quiet_root_logger():
            # Per-channel scales: on the e5 student (duee, epoch-1 checkpoint) per-tensor
            # int8 lost 0.48 dev micro / 1.04 macro F1 points, per-channel 0.08 / +0.08.
            quantize_dynamic(
                str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=list(keep_fp32)
            )
    else:
        raise ValueError(f"unknown precision {precision!r}; choose one of {PRECISIONS}")
    if not dst.is_file() or dst.stat().st_size == 0:
        raise RuntimeError(f"{precision} conversion wrote no model to {dst}")
    onnx.checker.check_model(str(dst))


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    # onnxruntime's quantizer logs an INFO line per tensor on the root logger, and a
    # warning advising quant_pre_process, whose symbolic shape inference fails on
    # paddle2onnx's graphs (and whose optimisation did not make int8 faster here).
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    try:
        yield
    finally:
        root.setLevel(level)


@dataclass
class DevResult:
    micro_f1: float
    macro_f1: float
    finite: bool
    seconds: float


def evaluate_export(export_dir: str | Path, texts: list[str], y_true: np.ndarray, batch_size: int = 32) -> DevResult:
    """Dev scores of an export folder's model.onnx, decoded exactly as the server does."""
    t0 = time.time()
    predictor = OnnxPredictor(export_dir)
    logits = predictor.logits(texts, batch_size)
    seconds = time.time() - t0
    finite = bool(np.isfinite(logits).all())
    if not finite:
        return DevResult(float("nan"), float("nan"), False, seconds)
    pred = predictor.decode(sigmoid(logits))
    s = scores(y_true, pred)
    return DevResult(float(s.micro_f1), float(s.macro_f1), True, seconds)


def fp16_range(export_dir: Path, fp16_model: Path, texts: list[str], batch_size: int = 8) -> tuple[float, str]:
    """(largest |value|, tensor name) over the fp32 model's activations on ``texts``,
    for the tensors the fp16 graph computes in fp16; above FP16_MAX a GPU overflows."""
    import onnx
    import onnxruntime as ort

    half = onnx.shape_inference.infer_shapes(onnx.load(str(fp16_model)))
    fp16_names = {
        v.name
        for v in [*half.graph.value_info, *half.graph.output]
        if v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT16
    }
    full = onnx.load(str(export_dir / ONNX_FILE))
    outputs = {o.name for o in full.graph.output}
    watched = sorted({o for n in full.graph.node for o in n.output} & fp16_names - outputs)
    full.graph.output.extend(onnx.ValueInfoProto(name=name) for name in watched)
    session = ort.InferenceSession(full.SerializeToString(), providers=["CPUExecutionProvider"])
    names = watched or [contract.LOGITS]  # the logits stay fp32 (keep_io_types)
    encoder = export_text_encoder(export_dir)
    peak, where = 0.0, ""
    for idx in length_sorted_batches([len(t) for t in texts], batch_size):
        ids, types = encoder.encode([texts[i] for i in idx])
        values = session.run(names, {contract.INPUT_IDS: ids, contract.TOKEN_TYPE_IDS: types})
        for name, value in zip(names, values):
            value = np.asarray(value)
            if value.dtype.kind != "f" or value.size == 0:
                continue
            finite = np.abs(value[np.isfinite(value)])
            top = float(finite.max()) if finite.size else 0.0
            if top > peak:
                peak, where = top, name
    return peak, where


def check_gate(reference: DevResult, candidate: DevResult, max_f1_drop: float, what: str = "variant") -> float:
    """The micro-F1 drop in points; raises GateError past ``max_f1_drop`` or on NaN/inf."""
    if not reference.finite:
        raise GateError("the fp32 reference model itself produces NaN/inf logits on dev: fix it before converting")
    if not candidate.finite:
        raise GateError(f"{what} produces NaN/inf logits on dev (fp16 overflow?): refused")
    drop = 100 * (reference.micro_f1 - candidate.micro_f1)
    if drop > max_f1_drop:
        raise GateError(
            f"{what} loses {drop:.2f} points of dev micro F1 ({100 * reference.micro_f1:.2f} -> "
            f"{100 * candidate.micro_f1:.2f}), more than --max_f1_drop {max_f1_drop:g}: refused"
        )
    return drop


def check_export_dir(export_dir: Path) -> None:
    missing = [n for n in (ONNX_FILE, EXPORT_META, LABEL_FILE) if not (export_dir / n).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{export_dir} is not an export folder (missing {missing}): pass a folder written by "
            "builders/export_model.py or training/prune.py"
        )


def dev_set(dataset_dir: str | Path, export_dir: str | Path, dev_file: str = DEV_FILE) -> tuple[list[str], np.ndarray]:
    """Dev texts and multi-hot labels, read against the export's own label.txt."""
    check_export_dir(Path(export_dir))
    hierarchy = LabelHierarchy.from_file(Path(export_dir) / LABEL_FILE)
    examples = read_examples(Path(dataset_dir) / dev_file, hierarchy)
    return [e.text for e in examples], hierarchy.multi_hot([e.labels for e in examples])


def build_variant(
    export_dir: str | Path,
    output_path: str | Path,
    precision: str,
    texts: list[str],
    y_true: np.ndarray,
    max_f1_drop: float = 0.3,
    batch_size: int = 32,
    keep_fp32: Sequence[str] = (),
) -> dict:
    """Convert, gate and, only if the gate passes, move the variant into ``output_path``.
    ``keep_fp32``: matmuls left in fp32 by role (``0.ffn2``, ``0``, ``head``: see
    hiercls.compression.matmul_roles)."""
    export_dir, output_path = Path(export_dir), Path(output_path)
    check_export_dir(export_dir)
    if output_path.resolve() == export_dir.resolve():
        raise ValueError("--output_path must differ from --export_dir: the fp32 model is the gate's reference")
    meta = read_export_meta(export_dir)
    if meta.get("precision", "fp32") != "fp32":
        raise ValueError(f"{export_dir} holds a {meta['precision']} model: convert the fp32 export")

    kept_nodes: list[str] = []
    if keep_fp32:
        import onnx

        if precision != "int8":
            raise ValueError(f"--keep_fp32 applies to int8, not {precision}")
        kept_nodes = matmul_roles.resolve(onnx.load(str(export_dir / ONNX_FILE)), keep_fp32)
    tmp = output_path.with_name(output_path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(export_dir, tmp, ignore=shutil.ignore_patterns(*STATIC_GRAPH_FILES))
    try:
        t0 = time.time()
        convert(export_dir / ONNX_FILE, tmp / ONNX_FILE, precision, keep_fp32=kept_nodes)
        logger.info("%s conversion: %.1fs, %s", precision, time.time() - t0, tmp / ONNX_FILE)
        reference = evaluate_export(export_dir, texts, y_true, batch_size)
        candidate = evaluate_export(tmp, texts, y_true, batch_size)
        logger.info(
            "dev micro F1: fp32 %.4f, %s %.4f (%d texts; %.1fs vs %.1fs)",
            reference.micro_f1,
            precision,
            candidate.micro_f1,
            len(texts),
            reference.seconds,
            candidate.seconds,
        )
        drop = check_gate(reference, candidate, max_f1_drop, f"the {precision} model")
        extra = {}
        if precision == "fp16":
            peak, where = fp16_range(export_dir, tmp / ONNX_FILE, texts)
            extra["fp16_max_abs_activation"] = {"value": round(peak, 3), "tensor": where}
            if peak > FP16_MAX:
                raise GateError(
                    f"the fp16 model would overflow on a GPU: tensor {where!r} reaches {peak:.3g} on dev, "
                    f"beyond fp16's {FP16_MAX:g} (it becomes inf, then NaN): refused"
                )
            logger.info("fp16 range: largest activation %.3g (%s), limit %g", peak, where, FP16_MAX)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    meta.update(
        precision=precision,
        source_export=str(export_dir.resolve()),
        **({"keep_fp32": {"roles": list(keep_fp32), "nodes": kept_nodes}} if keep_fp32 else {}),
        gate={
            "dev_texts": len(texts),
            "max_f1_drop": max_f1_drop,
            "micro_f1_drop_points": round(drop, 4),
            "fp32": asdict(reference),
            precision: asdict(candidate),
            **extra,
        },
        onnx_bytes=(tmp / ONNX_FILE).stat().st_size,
    )
    atomic_write_json(tmp / EXPORT_META, meta)
    old = output_path.with_name(output_path.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if output_path.exists():
        output_path.rename(old)
    tmp.rename(output_path)
    shutil.rmtree(old, ignore_errors=True)
    return meta
