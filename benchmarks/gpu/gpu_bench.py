"""ONNX Runtime latency of exported models at batch 32: CUDA and TensorRT execution
providers, fp32 and fp16, in ms per text next to PaddleNLP's V100 figures.

    benchmarks/gpu/run_gpu_bench.sh export build/bench/ernie-3.0-nano-zh/export

writes gpu_bench.{md,json,png} to --output_dir (default $OUT, else build/gpu_bench).

- fp32 runs model.onnx as exported; CUDA fp16 runs a copy converted with
  onnxruntime.transformers.float16 (keep_io_types: int64 ids in, fp32 logits out);
  TensorRT fp16 runs the fp32 model with trt_fp16_enable, which is what the gpu
  target's `precision_mode: FP16` accelerator does inside Triton.
- Inputs are [batch, seq_length] random token ids with no padding: the encoder's
  cost depends only on the shape, so this is the cost of a batch padded to
  seq_length. Each row also records the largest logit difference from CPU fp32.
- The providers are whatever the installed onnxruntime has. Without CUDA or
  TensorRT (the CPU wheel) it measures CPUExecutionProvider and says so in every
  output: those numbers are not GPU numbers.
- Exports too big to copy to a GPU machine: ``--make_skeleton DIR`` writes
  weight-free copies (graph and small tensors only); a skeleton is filled with
  random weights where it runs. Timing depends on the graph and shapes, not on
  the weight values, so a skeleton times like its export.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.common import ROOT, machine_info, md_table
from hiercls.runtime import contract
from hiercls.runtime.artifacts import EXPORT_META, ONNX_FILE, TRAIN_META
from hiercls.runtime.io import atomic_write_json, atomic_write_text

logger = logging.getLogger("gpu_bench")

DEFAULT_OUTPUT = ROOT / "build" / "gpu_bench"
PROVIDERS = {"tensorrt": "TensorrtExecutionProvider", "cuda": "CUDAExecutionProvider", "cpu": "CPUExecutionProvider"}
PRECISIONS = ("fp32", "fp16")
META_FILES = (EXPORT_META, TRAIN_META)

# The seed's figures (PaddleNLP applications/text_classification/hierarchical, Tesla
# V100, batch 32): ms per text. Keys: (model_name, width_mult).
V100_MS_PER_TEXT = {
    ("ernie-3.0-medium-zh", 1.0): 2.42,
    ("ernie-3.0-nano-zh", 1.0): 0.54,
    ("ernie-3.0-medium-zh", 0.75): 0.81,
}

# Skeletons: float tensors with at least this many elements lose their data (the
# weight matrices and embeddings); shape constants and small vectors stay exact.
SKELETON_MIN_ELEMENTS = 4096
SKELETON_WEIGHTS = "weights.random.bin"
SKELETON_KEY = "hiercls_skeleton"
RANDOM_WEIGHT_STD = 0.02  # BERT's init scale: keeps fp16 activations in range


@dataclass
class Row:
    model: str
    provider: str
    precision: str
    batch_size: int
    seq_length: int
    ran_on: str = ""
    ms_per_text: float = float("nan")
    ms_per_batch_p50: float = float("nan")
    ms_per_batch_p90: float = float("nan")
    texts_per_s: float = float("nan")
    iterations: int = 0
    first_run_s: float = float("nan")  # session's first batch: TensorRT builds its engine here
    max_abs_diff_vs_cpu_fp32: float = float("nan")
    v100_ms_per_text: float | None = None
    note: str = ""


@dataclass
class Model:
    name: str
    folder: Path
    onnx_path: Path
    work_dir: Path  # this model's scratch folder (inflated skeleton, fp16 copy)
    skeleton: bool
    meta: dict = field(default_factory=dict)

    @property
    def reference(self) -> float | None:
        key = (self.meta.get("model_name"), float(self.meta.get("width_mult", 1.0)))
        return V100_MS_PER_TEXT.get(key)


# -- skeletons -------------------------------------------------------------------------


def make_skeleton(export_dir: Path, out_dir: Path) -> Path:
    """A weight-free copy of an export folder: model.onnx whose large float tensors
    point at a weights file that is not written, plus the meta files."""
    import onnx

    if not (export_dir / ONNX_FILE).is_file():
        raise FileNotFoundError(f"{export_dir}: no {ONNX_FILE} (pass an export folder from builders/export_model.py)")
    model = onnx.load(str(export_dir / ONNX_FILE))
    offset = 0
    for tensor in model.graph.initializer:
        n = 1
        for d in tensor.dims:
            n *= d
        if tensor.data_type != onnx.TensorProto.FLOAT or n < SKELETON_MIN_ELEMENTS:
            continue
        tensor.ClearField("raw_data")
        tensor.ClearField("float_data")
        del tensor.external_data[:]
        for key, value in (("location", SKELETON_WEIGHTS), ("offset", offset), ("length", 4 * n)):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, str(value)
        tensor.data_location = onnx.TensorProto.EXTERNAL
        offset += 4 * n
    entry = model.metadata_props.add()
    entry.key, entry.value = SKELETON_KEY, str(offset)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".{ONNX_FILE}.tmp"
    onnx.save(model, str(tmp))
    os.replace(tmp, out_dir / ONNX_FILE)
    for name in META_FILES:
        if (export_dir / name).is_file():
            shutil.copy2(export_dir / name, out_dir / name)
    logger.info("skeleton %s: %.1f MB of weights left out", out_dir, offset / 1e6)
    return out_dir


def skeleton_size(onnx_path: Path) -> int | None:
    """Bytes of random weights a skeleton needs, or None for a complete model."""
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    for entry in model.metadata_props:
        if entry.key == SKELETON_KEY:
            return int(entry.value)
    return None


def folder_label(folder: Path) -> str:
    """'build/bench/ernie-3.0-nano-zh/export' -> 'ernie-3.0-nano-zh-export': export
    folders are often all called export."""
    return "-".join(folder.resolve().parts[-2:])


def open_model(folder: Path, work_dir: Path, seed: int) -> Model:
    onnx_path = folder / ONNX_FILE
    if not onnx_path.is_file():
        raise FileNotFoundError(f"{folder}: no {ONNX_FILE} (pass an export folder from builders/export_model.py)")
    meta = {}
    for name in META_FILES:
        f = folder / name
        if f.is_file():
            meta.update({k: v for k, v in json.loads(f.read_text(encoding="utf-8")).items() if not isinstance(v, dict)})
    name = str(meta.get("model_name", folder.name))
    if "width_mult" in meta:
        name += f" w{meta['width_mult']}"
    scratch = work_dir / folder_label(folder)
    scratch.mkdir(parents=True, exist_ok=True)
    size = skeleton_size(onnx_path)
    if size is not None:
        import numpy as np

        shutil.copy2(onnx_path, scratch / ONNX_FILE)
        rng = np.random.default_rng(seed)
        weights = (rng.standard_normal(size // 4, dtype=np.float32) * RANDOM_WEIGHT_STD).tobytes()
        (scratch / SKELETON_WEIGHTS).write_bytes(weights)
        onnx_path = scratch / ONNX_FILE
    return Model(name, folder, onnx_path, scratch, size is not None, meta)


# -- sessions ----------------------------------------------------------------------------


def to_fp16(model: Model) -> Path:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    out = model.work_dir / "model.fp16.onnx"
    if not out.is_file():
        converted = convert_float_to_float16(onnx.load(str(model.onnx_path)), keep_io_types=True)
        onnx.save(converted, str(out))
    return out


def provider_chain(provider: str, precision: str, shape: tuple[int, int], input_names: list[str], args) -> list:
    cuda = ("CUDAExecutionProvider", {"device_id": args.device_id})
    if provider == "cpu":
        return ["CPUExecutionProvider"]
    if provider == "cuda":
        return [cuda, "CPUExecutionProvider"]
    # One optimisation profile covering batch 1..B and length 1..T, so a new shape
    # inside it does not rebuild the engine.
    lo = ",".join(f"{n}:1x1" for n in input_names)
    hi = ",".join(f"{n}:{shape[0]}x{shape[1]}" for n in input_names)
    trt = {
        "device_id": args.device_id,
        "trt_fp16_enable": precision == "fp16",
        "trt_max_workspace_size": 1 << 30,
        "trt_engine_cache_enable": True,
        "trt_engine_cache_path": str(Path(args.output_dir) / "trt_cache"),
        "trt_profile_min_shapes": lo,
        "trt_profile_opt_shapes": hi,
        "trt_profile_max_shapes": hi,
    }
    return [("TensorrtExecutionProvider", trt), cuda, "CPUExecutionProvider"]


def make_inputs(batch: int, length: int, seed: int) -> dict:
    import numpy as np

    rng = np.random.default_rng(seed)
    # Ids 1..99 exist in every vocabulary and none is the pad id 0: no row is masked.
    ids = rng.integers(1, 100, size=(batch, length), dtype=np.int64)
    return {contract.INPUT_IDS: ids, contract.TOKEN_TYPE_IDS: np.zeros_like(ids)}


def time_session(session, feeds: dict, args) -> tuple[list[float], float, object]:
    """(per-batch seconds, first run seconds, first logits). Bounded by --iterations
    and --max_seconds, after --warmup untimed runs."""
    t0 = time.perf_counter()
    (logits,) = session.run([contract.LOGITS], feeds)
    first = time.perf_counter() - t0
    for _ in range(args.warmup):
        session.run([contract.LOGITS], feeds)
    times: list[float] = []
    deadline = time.monotonic() + args.max_seconds
    while len(times) < args.iterations and (not times or time.monotonic() < deadline):
        t = time.perf_counter()
        session.run([contract.LOGITS], feeds)
        times.append(time.perf_counter() - t)
    return times, first, logits


def bench_one(model: Model, provider: str, precision: str, length: int, reference, args) -> Row:
    import numpy as np
    import onnxruntime as ort

    row = Row(model.name, provider, precision, args.batch_size, length, v100_ms_per_text=model.reference)
    feeds = make_inputs(args.batch_size, length, args.seed)
    try:
        # CUDA and CPU need an fp16 graph; TensorRT takes the fp32 one and a flag.
        path = to_fp16(model) if precision == "fp16" and provider != "tensorrt" else model.onnx_path
        chain = provider_chain(provider, precision, feeds[contract.INPUT_IDS].shape, list(feeds), args)
        session = ort.InferenceSession(str(path), providers=chain)
        row.ran_on = session.get_providers()[0]
        if row.ran_on != PROVIDERS[provider]:
            row.note = f"{PROVIDERS[provider]} did not start (onnxruntime fell back to {row.ran_on}); "
        times, row.first_run_s, logits = time_session(session, feeds, args)
    except Exception as e:  # noqa: BLE001 - one configuration failing must not hide the others
        row.note += f"failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}"
        logger.warning("%s %s %s: %s", model.name, provider, precision, row.note)
        return row
    p50 = statistics.median(times)
    row.iterations = len(times)
    row.ms_per_batch_p50 = 1e3 * p50
    row.ms_per_batch_p90 = 1e3 * sorted(times)[min(len(times) - 1, int(0.9 * len(times)))]
    row.ms_per_text = row.ms_per_batch_p50 / args.batch_size
    row.texts_per_s = args.batch_size / p50
    row.max_abs_diff_vs_cpu_fp32 = float(np.max(np.abs(logits.astype(np.float32) - reference)))
    logger.info(
        "%s %s %s T=%d: %.3f ms/text (%d runs, first run %.1fs, max |diff| %.2g)",
        model.name,
        provider,
        precision,
        length,
        row.ms_per_text,
        row.iterations,
        row.first_run_s,
        row.max_abs_diff_vs_cpu_fp32,
    )
    return row


def cpu_reference(model: Model, length: int, args):
    import onnxruntime as ort

    session = ort.InferenceSession(str(model.onnx_path), providers=["CPUExecutionProvider"])
    return session.run([contract.LOGITS], make_inputs(args.batch_size, length, args.seed))[0]


def json_ready(d: dict) -> dict:
    """NaN (no measurement) -> None, so the JSON stays standard."""
    return {k: None if isinstance(x, float) and x != x else x for k, x in d.items()}


def choose_providers(requested: list[str], available: list[str]) -> tuple[list[str], list[str]]:
    """(providers to measure, notes). 'auto' = every GPU provider present, else CPU."""
    notes = []
    if requested == ["auto"]:
        chosen = [p for p in ("tensorrt", "cuda") if PROVIDERS[p] in available]
        if not chosen:
            notes.append(
                f"NO GPU PROVIDER: this onnxruntime has {available} (install onnxruntime-gpu for CUDA/TensorRT); "
                "the rows below are CPUExecutionProvider numbers, not comparable with the V100 figures."
            )
            chosen = ["cpu"]
        elif "tensorrt" not in chosen:
            notes.append("TensorrtExecutionProvider not available in this onnxruntime: CUDA only.")
        return chosen, notes
    missing = [p for p in requested if PROVIDERS[p] not in available]
    if missing:
        notes.append(f"requested {missing} not in this onnxruntime's providers {available}: those rows fail.")
    return requested, notes


def gpu_name() -> str:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip().splitlines()[0]
    except (OSError, subprocess.TimeoutExpired):
        pass
    return "none found (no nvidia-smi)"


# -- report ------------------------------------------------------------------------------


def render_markdown(report: dict) -> str:
    env = report["environment"]
    lines = [
        "# onnxruntime at batch {b}: ms per text".format(b=report["batch_size"]),
        "",
        f"- GPU: {env['gpu']}",
        f"- machine: {env['cpu']}, {env['cores']} cores, {env['memory']}, Python {env['python']}",
        f"- onnxruntime {env['onnxruntime_version']}, providers available: {', '.join(env['providers_available'])}",
        f"- command: `{report['command']}`",
    ]
    lines += [f"- **{n}**" for n in report["notes"]]
    lines += [
        "",
        "ms/text = median batch latency / batch size (session.run with host numpy in and out). "
        "V100 = the seed's figure for that model (PaddleNLP, Tesla V100, batch 32). "
        "max |diff| = largest logit difference from CPU fp32 on the same batch.",
        "",
    ]
    header = [
        "model",
        "provider",
        "precision",
        "T",
        "ms/text",
        "V100 ms/text",
        "ms/batch p50",
        "p90",
        "texts/s",
        "runs",
        "first run s",
        "max diff",
        "note",
    ]

    def v(x):  # JSON has null where a run produced no number; md_table prints NaN as "–"
        return float("nan") if x is None else x

    rows = [
        [
            r["model"] + (" (skeleton)" if r.get("skeleton") else ""),
            r["ran_on"] or r["provider"],
            r["precision"],
            r["seq_length"],
            v(r["ms_per_text"]),
            v(r["v100_ms_per_text"]),
            v(r["ms_per_batch_p50"]),
            v(r["ms_per_batch_p90"]),
            v(r["texts_per_s"]),
            r["iterations"],
            v(r["first_run_s"]),
            v(r["max_abs_diff_vs_cpu_fp32"]),
            r["note"],
        ]
        for r in report["rows"]
    ]
    return "\n".join(lines) + md_table(header, rows)


def plot(report: dict, path: Path) -> bool:
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in report["rows"] if r["ms_per_text"] is not None]
    labels = [f"{r['model']} T={r['seq_length']}\n{r['ran_on'] or r['provider']} {r['precision']}" for r in rows]
    values = [r["ms_per_text"] for r in rows]
    refs = {}
    for r in rows:
        if r["v100_ms_per_text"] is not None:
            refs[f"{r['model']} V100 (seed)"] = r["v100_ms_per_text"]
    labels += list(refs)
    values += list(refs.values())
    colors = ["tab:blue"] * len(rows) + ["tab:gray"] * len(refs)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(labels) + 1.2))
    ax.barh(range(len(labels)), values, color=colors)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"ms per text at batch {report['batch_size']} (lower is better)")
    ax.set_title(f"onnxruntime on {report['environment']['gpu']}"[:90], fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def run(args) -> dict:
    import onnxruntime as ort

    out_dir = Path(args.output_dir)
    work_dir = out_dir / "work"
    available = ort.get_available_providers()
    providers, notes = choose_providers(args.providers, available)
    models = [open_model(Path(d), work_dir, args.seed) for d in args.export_dir]
    if any(m.skeleton for m in models):
        notes.append("skeleton models carry random weights: timings hold, max diff is a numerics check only.")
    total = len(models) * len(args.seq_length) * len(providers) * len(args.precision)
    rows, start = [], time.monotonic()
    for model in models:
        for length in args.seq_length:
            reference = cpu_reference(model, length, args)
            for provider in providers:
                for precision in args.precision:
                    row = bench_one(model, provider, precision, length, reference, args)
                    rows.append({**json_ready(asdict(row)), "skeleton": model.skeleton})
                    done = len(rows)
                    eta = (time.monotonic() - start) / done * (total - done)
                    logger.info("%d/%d configurations done, ETA %.0fs", done, total, eta)
    info = machine_info()
    env = {
        **info,
        "gpu": gpu_name(),
        "onnxruntime_version": ort.__version__,
        "providers_available": available,
    }
    return {
        "batch_size": args.batch_size,
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "environment": env,
        "notes": notes,
        "rows": rows,
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--export_dir", nargs="+", required=True, help="Export folders (or skeletons) holding model.onnx.")
    p.add_argument(
        "--output_dir",
        default=os.environ.get("OUT") or str(DEFAULT_OUTPUT),
        help="Where gpu_bench.{md,json,png} go (default $OUT, else build/gpu_bench).",
    )
    p.add_argument(
        "--make_skeleton",
        metavar="DIR",
        default=None,
        help="Only write weight-free copies of the export folders to DIR/<name>/ and exit.",
    )
    g = p.add_argument_group("what to measure")
    g.add_argument(
        "--providers",
        nargs="+",
        default=["auto"],
        choices=["auto", *PROVIDERS],
        help="Execution providers; auto = TensorRT and CUDA when present, else CPU.",
    )
    g.add_argument("--precision", nargs="+", default=list(PRECISIONS), choices=PRECISIONS, help="Precisions to run.")
    g.add_argument("--batch_size", type=int, default=32, help="Texts per batch (the seed's figures use 32).")
    g.add_argument("--seq_length", type=int, nargs="+", default=[128], help="Token lengths to measure.")
    g.add_argument("--device_id", type=int, default=0, help="GPU to run on.")
    t = p.add_argument_group("bounds")
    t.add_argument("--warmup", type=int, default=10, help="Untimed runs after the first, per configuration.")
    t.add_argument("--iterations", type=int, default=100, help="Timed runs per configuration, at most.")
    t.add_argument("--max_seconds", type=float, default=30.0, help="Stop timing a configuration after this long.")
    t.add_argument("--seed", type=int, default=0, help="Seed of the inputs and of skeleton weights.")
    return p


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    if args.batch_size < 1 or min(args.seq_length) < 2 or args.iterations < 1:
        sys.exit("--batch_size and --iterations must be >= 1 and every --seq_length >= 2")
    try:
        if args.make_skeleton:
            for d in args.export_dir:
                make_skeleton(Path(d), Path(args.make_skeleton) / folder_label(Path(d)))
            return
        report = run(args)
    except FileNotFoundError as e:
        sys.exit(f"gpu_bench: {e}")
    out = Path(args.output_dir)
    atomic_write_json(out / "gpu_bench.json", report)
    atomic_write_text(out / "gpu_bench.md", render_markdown(report))
    plotted = plot(report, out / "gpu_bench.png")
    shutil.rmtree(out / "work", ignore_errors=True)
    print(render_markdown(report))
    logger.info("wrote %s/gpu_bench.{md,json%s}", out, ",png" if plotted else "")


if __name__ == "__main__":
    main()
