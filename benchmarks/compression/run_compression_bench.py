"""fp32 / fp16 / int8 x DynaBERT widths, side by side: dev F1, model size, CPU latency.

    python -m benchmarks.compression.run_compression_bench --dataset_dir data/sample

Stages (each a real command of this repository, outputs under --work_dir):

1. teacher: a randomly initialised ERNIE of --hidden_size / --num_layers / 12 heads
   (12 heads so that 3/4, 2/3 and 1/2 all keep whole heads) with a character
   vocabulary from train.txt, fine-tuned by training/train.py (skipped with --params_dir);
2. builders/export_model.py for the full-width model, training/prune.py for --width_mult;
3. for every width, builders/quantize_model.py's library path builds fp16 and int8
   variants and gates them against that width's fp32 model (the verdict at
   --max_f1_drop is recorded; every variant is measured, refused or not);
4. every model is timed in one process, interleaved round by round (the order rotates
   each round), on the same batches of --batch_size dev texts through onnxruntime's
   CPU provider with --threads threads, each batch padded to its own longest text.

Writes results.md, results.json and results.png into --results_dir.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("OMP_NUM_THREADS", "2")

logger = logging.getLogger("compression_bench")

NUM_HEADS = 12
PATH_ARGS = ("dataset_dir", "params_dir", "work_dir", "results_dir")  # written relative to the repository


def build_parser() -> argparse.ArgumentParser:
    from hiercls.runtime.artifacts import DEFAULT_MAX_SEQ_LENGTH

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = p.add_argument_group("data")
    data.add_argument("--dataset_dir", default=str(ROOT / "data" / "sample"), help="PaddleNLP-format data set.")
    data.add_argument("--max_seq_length", type=int, default=DEFAULT_MAX_SEQ_LENGTH, help="Longest token sequence.")
    teacher = p.add_argument_group("teacher")
    teacher.add_argument("--params_dir", default=None, help="Use this fine-tuned checkpoint instead of training one.")
    teacher.add_argument("--hidden_size", type=int, default=96, help="Teacher width (a multiple of 12).")
    teacher.add_argument("--num_layers", type=int, default=2, help="Teacher encoder layers.")
    teacher.add_argument("--epochs", type=int, default=40, help="Teacher training epochs.")
    teacher.add_argument("--learning_rate", type=float, default=3e-3, help="Teacher peak learning rate.")
    prune = p.add_argument_group("pruning")
    prune.add_argument("--width_mult", nargs="+", default=["3/4", "2/3", "1/2"], help="DynaBERT widths.")
    prune.add_argument("--prune_epochs", type=int, default=5, help="DynaBERT distillation epochs.")
    prune.add_argument("--prune_learning_rate", type=float, default=1e-3, help="DynaBERT peak learning rate.")
    gate = p.add_argument_group("gate and timing")
    gate.add_argument("--max_f1_drop", type=float, default=0.3, help="Gate: largest allowed micro-F1 drop (points).")
    gate.add_argument("--batch_size", type=int, default=32, help="Texts per onnxruntime call when timing.")
    gate.add_argument("--batches", type=int, default=8, help="Timed batches per model per round.")
    gate.add_argument("--rounds", type=int, default=9, help="Timing rounds (median reported).")
    gate.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads.")
    gate.add_argument("--seed", type=int, default=3, help="Seed for training and the timed batches.")
    out = p.add_argument_group("output")
    out.add_argument("--work_dir", default=str(ROOT / "build" / "compression"), help="Models and exports.")
    out.add_argument("--results_dir", default=str(Path(__file__).resolve().parent), help="results.md/json/png.")
    return p


def rel(path: Path) -> str:
    """A path relative to the repository root when it lies inside it."""
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def run(*args: str) -> None:
    """A repository script with this interpreter; its progress log shows in ours."""
    cmd = [sys.executable, *args]
    logger.info("$ %s", " ".join(cmd[1:]))
    t0 = time.time()
    proc = subprocess.run(cmd, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{args[0]} exited {proc.returncode}")
    logger.info("  done in %.0fs", time.time() - t0)


def write_base_model(out: Path, dataset_dir: Path, hidden: int, layers: int) -> None:
    """A random ERNIE with 12 heads and the hiercls-tiny recipe otherwise (see
    hiercls.modeling.models.EXTRA_SHAPES), saved as a local model directory for train.py."""
    from paddlenlp.transformers import ErnieConfig, ErnieForSequenceClassification, ErnieTokenizer

    from hiercls.data.reading import dataset_files, read_examples
    from hiercls.modeling import models as modeling
    from hiercls.runtime.artifacts import VOCAB_FILE
    from hiercls.runtime.hierarchy import LabelHierarchy

    if hidden % NUM_HEADS:
        raise SystemExit(f"--hidden_size {hidden} is not a multiple of {NUM_HEADS} heads")
    files = dataset_files(dataset_dir)
    hierarchy = LabelHierarchy.from_file(files.label)
    vocab = modeling.build_char_vocab(e.text for e in read_examples(files.train, hierarchy))
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / VOCAB_FILE).write_text("".join(f"{t}\n" for t in vocab), encoding="utf-8")
    cfg = modeling.shape_config("hiercls-tiny")
    cfg.update(
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=NUM_HEADS,
        intermediate_size=4 * hidden,
        vocab_size=len(vocab),
        pad_token_id=0,
        num_labels=len(hierarchy),
    )
    ErnieForSequenceClassification(ErnieConfig(**cfg)).save_pretrained(str(tmp))
    ErnieTokenizer(vocab_file=str(tmp / VOCAB_FILE)).save_pretrained(str(tmp))
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


def make_models(args: argparse.Namespace, work: Path) -> tuple[dict[str, Path], dict]:
    """{width label: fp32 export folder}, and facts about the teacher."""
    from hiercls.compression.pruning import parse_width_mult, width_dir_name
    from hiercls.runtime.artifacts import MODEL_CONFIG_FILE

    if args.params_dir:
        params = Path(args.params_dir)
    else:
        base, params = work / "base_model", work / "teacher"
        write_base_model(base, Path(args.dataset_dir), args.hidden_size, args.num_layers)
        run(
            "training/train.py",
            *("--dataset_dir", args.dataset_dir, "--save_dir", str(params), "--model_name", str(base)),
            *("--epochs", str(args.epochs), "--batch_size", "16", "--learning_rate", str(args.learning_rate)),
            *("--warmup", "--warmup_steps", "20", "--max_seq_length", str(args.max_seq_length)),
            *("--seed", str(args.seed), "--logging_steps", "1000", "--device", "cpu"),
        )
    run("builders/export_model.py", "--params_path", str(params), "--output_path", str(work / "export_full"))
    run(
        "training/prune.py",
        *("--params_dir", str(params), "--dataset_dir", args.dataset_dir, "--output_dir", str(work / "prune")),
        *("--width_mult", *args.width_mult, "--num_train_epochs", str(args.prune_epochs)),
        *("--learning_rate", str(args.prune_learning_rate), "--max_seq_length", str(args.max_seq_length)),
        *("--seed", str(args.seed), "--logging_steps", "50", "--save_steps", "50", "--device", "cpu"),
    )
    models = {"1": work / "export_full"}
    for text in args.width_mult:
        models[text] = work / "prune" / width_dir_name(parse_width_mult(text))
    config = json.loads((params / MODEL_CONFIG_FILE).read_text(encoding="utf-8"))
    teacher = {
        "checkpoint": rel(params),
        "hidden_size": config["hidden_size"],
        "num_hidden_layers": config["num_hidden_layers"],
        "num_attention_heads": config["num_attention_heads"],
        "intermediate_size": config["intermediate_size"],
        "vocab_size": config["vocab_size"],
    }
    return models, teacher


def make_variants(args, work: Path, models: dict[str, Path], texts, y) -> list[dict]:
    from hiercls.compression.variants import GateError, build_variant
    from hiercls.runtime.artifacts import ONNX_FILE

    rows = []
    for width, fp32_dir in models.items():
        for precision in ("fp32", "fp16", "int8"):
            row = {"width": width, "precision": precision}
            out = work / "variants" / f"{fp32_dir.name}_{precision}"
            try:
                # Measure every variant: the verdict at --max_f1_drop is recorded, not
                # enforced (no F1 drop exceeds 100 points; NaN and fp16 overflow still refuse).
                meta = build_variant(fp32_dir, out, precision, texts, y, max_f1_drop=100.0)
            except GateError as e:
                logger.warning("width %s %s refused outright: %s", width, precision, e)
                rows.append({**row, "refused": str(e)})
                continue
            gate = meta["gate"]
            drop = gate["micro_f1_drop_points"]
            row.update(
                path=rel(out),
                micro_f1=gate[precision]["micro_f1"],
                macro_f1=gate[precision]["macro_f1"],
                drop_points=drop,
                passes_gate=bool(drop <= args.max_f1_drop),
                mb=(out / ONNX_FILE).stat().st_size / 2**20,
            )
            if "fp16_max_abs_activation" in gate:
                row["fp16_max_abs_activation"] = gate["fp16_max_abs_activation"]["value"]
            rows.append(row)
    return rows


def time_models(args, rows: list[dict], texts: list[str]) -> dict:
    """Adds median/min/max ms per text to each row; models interleaved within each round."""
    import numpy as np
    import onnxruntime as ort

    from benchmarks.common import interleaved_ms_per_item, onnx_batches_runner
    from hiercls.evaluation.predictor import export_text_encoder
    from hiercls.runtime.artifacts import ONNX_FILE

    timed = [r for r in rows if "path" in r]
    rng = np.random.default_rng(args.seed)
    picks = rng.choice(
        len(texts), size=args.batch_size * args.batches, replace=len(texts) < args.batch_size * args.batches
    )
    encoder = export_text_encoder(ROOT / timed[0]["path"])  # every model shares the teacher's tokenizer
    batches = [
        encoder.encode([texts[i] for i in picks[b * args.batch_size : (b + 1) * args.batch_size]])
        for b in range(args.batches)
    ]
    sessions = []
    for r in timed:
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        s = ort.InferenceSession(str(ROOT / r["path"] / ONNX_FILE), options, providers=["CPUExecutionProvider"])
        onnx_batches_runner(s, batches[:2])()  # warm-up
        sessions.append(s)
    t_start = time.time()

    def progress(done: int) -> None:
        eta = (time.time() - t_start) / done * (args.rounds - done)
        logger.info("timing round %d/%d, ETA %.0fs", done, args.rounds, eta)

    by_index = interleaved_ms_per_item(
        {str(i): onnx_batches_runner(s, batches) for i, s in enumerate(sessions)},
        args.rounds,
        args.batch_size * args.batches,
        progress,
    )
    per_text = [by_index[str(i)] for i in range(len(timed))]
    for r, values in zip(timed, per_text):
        r["ms_per_text"] = float(np.median(values))
        r["ms_per_text_min"] = float(np.min(values))
        r["ms_per_text_max"] = float(np.max(values))
    lengths = [ids.shape[1] for ids, _ in batches]
    return {"padded_length_mean": float(np.mean(lengths)), "padded_length_max": int(max(lengths))}


def machine() -> dict:
    from benchmarks.common import machine_info

    return {**machine_info(), "load_average_1min_at_end": os.getloadavg()[0]}


def width_label(width: str) -> str:
    return "full (1)" if width == "1" else width


def write_markdown(path: Path, result: dict) -> None:
    from hiercls.runtime.io import atomic_write_text

    args, t = result["args"], result["teacher"]
    lines = [
        "# Compression results: DynaBERT widths x fp32 / fp16 / int8",
        "",
        f"Teacher: ERNIE, hidden {t['hidden_size']}, {t['num_hidden_layers']} layers, "
        f"{t['num_attention_heads']} heads, FFN {t['intermediate_size']}, vocabulary {t['vocab_size']} "
        f"(characters of train.txt), fine-tuned from random weights on `{args['dataset_dir']}`; "
        f"dev set: {result['dev_texts']} texts. Pruned with `training/prune.py` "
        f"({args['prune_epochs']} epochs of DynaBERT distillation), variants built with "
        "`hiercls.compression.variants` (the code behind `builders/quantize_model.py`).",
        "",
        f"Latency: ms per text at batch {args['batch_size']} ({args['batches']} batches of dev texts, each "
        f"padded to its own longest: mean {result['timing']['padded_length_mean']:.0f} tokens), onnxruntime "
        f"{result['machine']['onnxruntime']} CPU provider, {args['threads']} threads, median of "
        f"{args['rounds']} interleaved rounds (min-max in brackets), all models in one process on "
        f"{result['machine']['cpu']} ({result['machine']['cores']} cores, shared with other jobs: "
        f"1-min load {result['machine']['load_average_1min_at_end']:.1f} at the end).",
        "",
        f"Gate: refuse when dev micro F1 falls more than {args['max_f1_drop']} points below the same "
        "width's fp32 model, or any logit is NaN/inf, or (fp16) any fp16 activation leaves fp16's range.",
        "",
        "| width | precision | micro F1 | macro F1 | Δ micro F1 vs fp32 (pts) | gate | size (MB) | ms/text | speed vs full fp32 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    base = next((r for r in result["rows"] if r["width"] == "1" and r["precision"] == "fp32"), None)
    for r in result["rows"]:
        if "refused" in r:
            lines.append(
                f"| {width_label(r['width'])} | {r['precision']} | – | – | – | refused: {r['refused']} | – | – | – |"
            )
            continue
        speed = f"{base['ms_per_text'] / r['ms_per_text']:.2f}x" if base else ""
        lines.append(
            f"| {width_label(r['width'])} | {r['precision']} | {100 * r['micro_f1']:.2f} | {100 * r['macro_f1']:.2f} "
            f"| {0.0 - r['drop_points']:+.2f} | {'pass' if r['passes_gate'] else 'refuse'} | {r['mb']:.2f} "
            f"| {r['ms_per_text']:.3f} ({r['ms_per_text_min']:.3f}-{r['ms_per_text_max']:.3f}) | {speed} |"
        )
    lines += ["", f"Command: `{result['command']}` ({result['seconds']:.0f} s in all).", ""]
    atomic_write_text(path, "\n".join(lines))


def plot(path: Path, rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in rows if "path" in r]
    colors = {"fp32": "tab:blue", "fp16": "tab:orange", "int8": "tab:green"}
    markers = {w: m for w, m in zip(dict.fromkeys(r["width"] for r in rows), "os^Dv<>")}
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12.5, 4.2))
    for r in rows:
        # Hollow: measured, but refused by the gate at --max_f1_drop.
        face = colors[r["precision"]] if r["passes_gate"] else "none"
        kw = dict(edgecolors=colors[r["precision"]], facecolors=face, marker=markers[r["width"]], s=60)
        ax1.scatter(r["ms_per_text"], 100 * r["micro_f1"], **kw)
        ax2.scatter(r["mb"], 100 * r["micro_f1"], **kw)
    for ax, xlabel in ((ax1, "CPU ms per text (batch 32, median)"), (ax2, "model.onnx size (MB)")):
        ax.set_xlabel(xlabel)
        ax.set_ylabel("dev micro F1 (%)")
        ax.grid(alpha=0.3)
    handles = [plt.Line2D([], [], color=c, marker="o", ls="", label=p) for p, c in colors.items()]
    handles += [
        plt.Line2D([], [], color="gray", marker=m, ls="", label=f"width {width_label(w)}") for w, m in markers.items()
    ]
    handles.append(plt.Line2D([], [], color="gray", marker="o", mfc="none", ls="", label="refused by the gate"))
    fig.suptitle("DynaBERT width x precision: quality vs CPU latency and size")
    fig.tight_layout(rect=(0, 0, 0.84, 1))
    fig.legend(handles=handles, fontsize=8, loc="center right")
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    from hiercls.compression.variants import dev_set
    from hiercls.runtime.io import atomic_write_json

    t0 = time.time()
    work, results = Path(args.work_dir), Path(args.results_dir)
    work.mkdir(parents=True, exist_ok=True)
    models, teacher = make_models(args, work)
    texts, y = dev_set(args.dataset_dir, models["1"])
    rows = make_variants(args, work, models, texts, y)
    timing = time_models(args, rows, texts)
    result = {
        "command": " ".join(
            ["python", str(Path(sys.argv[0]).as_posix()), *(argv if argv is not None else sys.argv[1:])]
        ),
        "args": {k: rel(v) if k in PATH_ARGS and v else v for k, v in vars(args).items()},
        "teacher": teacher,
        "dev_texts": len(texts),
        "machine": machine(),
        "timing": timing,
        "rows": rows,
        "seconds": time.time() - t0,
    }
    results.mkdir(parents=True, exist_ok=True)
    atomic_write_json(results / "results.json", result)
    write_markdown(results / "results.md", result)
    plot(results / "results.png", rows)
    logger.info("wrote %s/results.{md,json,png}", results)


if __name__ == "__main__":
    main()
