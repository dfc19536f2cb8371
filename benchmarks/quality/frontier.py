"""Quality on the held-out test split against CPU cost, for every exported model.

    .venv/bin/python -m benchmarks.quality.frontier --dataset_dir build/duee_split \
        --model "e5-6l=build/duee_e5_6l/export" --model "e5-6l-int8=build/duee_e5_6l/export_int8" \
        --recipe "e5-6l=scripts/train_duee.sh" --output benchmarks/quality/frontier

dataset_dir is a split made by training/split_data.py: test.txt never chose
anything (dev picked the epoch, thresholds and decoder), so its numbers are what
users get. Each model is scored on dev and test with its thresholds.json and with
0.5 everywhere (same decoder): the difference on test is the thresholds' real gain.
CPU cost: onnxruntime, batches of 32 random test texts, models interleaved round by
round (a shared host's load falls on all alike); the median of the rounds. It is
timed twice: on one thread, which is CPU time per text and how the server's model
step runs (one thread per worker), and on all cores, which is latency. The first
--threads value is the cost the plot and the goal use. Writes <output>.md, .json and
.png (F1 against cost).

Trained models live in build/, which does not travel between machines. Two flags keep
the table whole without training everything again:
  --reference NAME=EXPORT   the 1.0x of the cost column, timed but not scored: an
                            untrained export of the reference's shape does (cost is the
                            graph's, not the weights'; benchmarks.quality.reference_export)
  --earlier REPORT.json     rows of an earlier report (same reference name) that no
                            --model of this run replaces, kept as they were measured
"""

from __future__ import annotations

import argparse
import logging
import statistics
from pathlib import Path

import numpy as np

from benchmarks.common import (
    interleaved_ms_per_item,
    machine_line,
    md_table,
    name_value_pairs,
    onnx_batches_runner,
    read_json,
    write_report,
)

logger = logging.getLogger("frontier")


def quality(predictor, examples, hierarchy) -> dict:
    from hiercls.evaluation.metrics import report

    y = hierarchy.multi_hot([e.labels for e in examples]).astype(bool)
    probs = predictor.probs([e.text for e in examples])
    out = {}
    for name, thresholds in (("tuned", predictor.thresholds), ("0.5", 0.5)):
        pred = predictor.decode(probs, thresholds=thresholds)
        rep = report(y, pred, hierarchy)
        out[name] = {
            **rep["overall"],
            "levels": {k: v["micro_f1"] for k, v in rep["levels"].items()},
            "violation_rate": rep["violation_rate"],
        }
    return out


def thread_label(threads: int) -> str:
    return "all cores" if threads == 0 else f"{threads} thread" + ("s" if threads > 1 else "")


def cost(row: dict, threads: int) -> float | None:
    t = row["timing"].get(str(threads))
    return t["cost"] if t else None


def plot(rows: list[dict], path: Path, ref_name: str, threads: int) -> None:
    """Test F1 against cost relative to the reference (not ms: rows carried over from an
    earlier report were timed beside another instance of the reference). A row timed
    only another way (an older report) is drawn hollow at that cost."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for key, marker, color in (("micro_f1", "o", "tab:blue"), ("macro_f1", "s", "tab:orange")):
        for r in rows:
            x, same = cost(r, threads), True
            if x is None:
                x, same = next(iter(r["timing"].values()))["cost"], False
            y = 100 * r["test"]["tuned"][key]
            face = color if same else "none"
            label = f"test {key.replace('_', ' ')}" if r is rows[0] else None
            ax.scatter([x], [y], marker=marker, facecolors=face, edgecolors=color, label=label)
            ax.annotate(r["name"], (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.axvline(0.25, color="grey", linestyle="--", linewidth=1)
    ax.annotate(f"1/4 of {ref_name}", (0.25, 1), xycoords=("data", "axes fraction"), xytext=(3, -12),
                textcoords="offset points", fontsize=8, color="grey")  # fmt: skip
    ax.set_xscale("log")
    ax.margins(x=0.12, y=0.08)
    ax.set_xlabel(f"CPU time per text relative to {ref_name} ({thread_label(threads)}, batch 32, log scale)")
    ax.set_ylabel("F1 on the held-out test split (%)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=120)
    tmp.replace(path)


def earlier_rows(path: Path, ref_name: str, replaced: set[str], ap) -> list[dict]:
    """Rows of an earlier frontier report, kept only when their cost has the same 1.0x."""
    try:
        old = read_json(path)
    except (OSError, ValueError) as e:
        ap.error(f"--earlier {path}: {e}")
    rows = old.get("models") or []
    # Reports from before --reference named no reference: their first row was the 1.0x.
    old_ref = old.get("reference") or (rows[0]["name"] if rows else None)
    if old_ref != ref_name:
        ap.error(f"--earlier {path}: its costs are relative to {old_ref}, this run's to {ref_name}")
    kept = []
    for r in rows:
        if r["name"] not in replaced:
            r = {**r, "earlier_report": r.get("earlier_report") or f"{path} ({old.get('machine', '?')})"}
            if "timing" not in r:  # reports before --threads took a list were timed on all cores
                r["timing"] = {"0": {"ms_per_text": r.pop("ms_per_text"), "cost": r.pop("cost_vs_reference")}}
                r.pop("ms_per_text_rounds", None)
            kept.append(r)
    return kept


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    ap = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=lambda prog: argparse.RawDescriptionHelpFormatter(prog, width=100),
    )
    ap.add_argument("--dataset_dir", required=True, help="Split folder with dev.txt, test.txt and label.txt.")
    ap.add_argument(
        "--model",
        action="append",
        required=True,
        help="NAME=EXPORT_DIR, repeatable; without --reference the first is the 1.0x.",
    )
    ap.add_argument(
        "--recipe", action="append", help="NAME=how it was made, shown in the table (also for --earlier rows)."
    )
    ap.add_argument(
        "--reference", help="NAME=EXPORT_DIR timed as the 1.0x cost but not scored (default: the first --model)."
    )
    ap.add_argument("--earlier", help="An earlier report's .json: its rows that no --model replaces are kept.")
    ap.add_argument("--batch_size", type=int, default=32, help="Texts per timed call.")
    ap.add_argument("--batches", type=int, default=8, help="Timed batches per round.")
    ap.add_argument("--rounds", type=int, default=7, help="Interleaved timing rounds.")
    ap.add_argument(
        "--threads",
        default="1,0",
        help="onnxruntime threads per timed call, comma-separated, each timed in its own rounds (0: all "
        "cores); the first is the cost the plot uses.",
    )
    ap.add_argument("--output", default="build/quality/frontier", help="Report path without suffix.")
    args = ap.parse_args(argv)
    try:
        thread_counts = [int(t) for t in args.threads.split(",")]
    except ValueError:
        ap.error(f"--threads {args.threads!r}: give whole numbers separated by commas, such as 1,0")
    models = name_value_pairs(args.model, "--model", ap)
    recipes = name_value_pairs(args.recipe, "--recipe", ap)
    reference = name_value_pairs([args.reference] if args.reference else None, "--reference", ap)
    ref_name = next(iter(reference), None) or next(iter(models))
    if reference and ref_name in models:
        ap.error(f"--reference {ref_name} is also a --model: drop --reference to use that model as 1.0x")
    earlier = earlier_rows(Path(args.earlier), ref_name, set(models), ap) if args.earlier else []
    for r in earlier:  # a recipe can be re-described (its script changed since)
        r["recipe"] = recipes.get(r["name"], r["recipe"])

    from hiercls.data.reading import read_examples
    from hiercls.evaluation.predictor import OnnxPredictor
    from hiercls.runtime.artifacts import DEV_FILE, LABEL_FILE, ONNX_FILE, TEST_FILE
    from hiercls.runtime.hierarchy import LabelHierarchy

    data = Path(args.dataset_dir)
    if not (data / TEST_FILE).is_file():
        ap.error(f"{data}/{TEST_FILE} not found: make the split with training/split_data.py")
    hierarchy = LabelHierarchy.from_file(data / LABEL_FILE)
    dev = read_examples(data / DEV_FILE, hierarchy)
    test = read_examples(data / TEST_FILE, hierarchy)
    picks = np.random.default_rng(0).choice(len(test), size=args.batch_size * args.batches, replace=False)
    picked = [test[i].text for i in picks]
    timed_texts = [picked[b * args.batch_size : (b + 1) * args.batch_size] for b in range(args.batches)]

    def timed_run(folder: str, threads: int):
        """The export's session over the timed batches, encoded once and warmed up."""
        predictor = OnnxPredictor(folder, threads=threads, workers=1)
        run = onnx_batches_runner(predictor.session, [predictor.encoder.encode(t) for t in timed_texts])
        run()
        return run

    rows = []
    for name, folder in models.items():
        predictor = OnnxPredictor(folder, workers=1)
        if predictor.hierarchy.labels != hierarchy.labels:
            ap.error(f"{folder}: its label.txt differs from {data}/label.txt")
        logger.info("%s: scoring dev (%d) and test (%d)", name, len(dev), len(test))
        rows.append(
            {
                "name": name,
                "export": folder,
                "recipe": recipes.get(name, ""),
                "dev": quality(predictor, dev, hierarchy),
                "test": quality(predictor, test, hierarchy),
                "onnx_mb": round((Path(folder) / ONNX_FILE).stat().st_size / 2**20, 1),
                "timing": {},
            }
        )
    timed = {**models, **reference}
    for threads in thread_counts:
        runs = {name: timed_run(folder, threads) for name, folder in timed.items()}
        timings = interleaved_ms_per_item(
            runs,
            args.rounds,
            args.batch_size * args.batches,
            lambda n, t=threads: logger.info("timing on %s: round %d/%d", thread_label(t), n, args.rounds),
        )
        del runs
        ref = statistics.median(timings[ref_name])
        for r in rows:
            median = statistics.median(timings[r["name"]])
            r["timing"][str(threads)] = {
                "ms_per_text": round(median, 3),
                "cost": round(median / ref, 3),
                "cost_rounds": [round(x / y, 3) for x, y in zip(timings[r["name"]], timings[ref_name])],
            }
    rows += earlier

    def pct(x: float) -> str:
        return f"{100 * x:.2f}"

    def fmt(r: dict, threads: int, key: str, form: str) -> str:
        t = r["timing"].get(str(threads))
        return form.format(t[key]) if t else "–"

    table = md_table(
        [
            "model",
            "test micro F1",
            "test macro F1",
            "test exact",
            "test L1 / L2 micro",
            "test violations",
            "test micro / macro at 0.5",
            "dev micro / macro",
            *[f"CPU ms/text, {thread_label(t)}" for t in thread_counts[:1]],
            *[f"cost, {thread_label(t)}" for t in thread_counts],
            "model.onnx MB",
            "recipe",
        ],
        [
            [
                r["name"],
                pct(r["test"]["tuned"]["micro_f1"]),
                pct(r["test"]["tuned"]["macro_f1"]),
                pct(r["test"]["tuned"]["accuracy"]),
                " / ".join(pct(v) for v in r["test"]["tuned"]["levels"].values()),
                f"{100 * r['test']['tuned']['violation_rate']:.1f}%",
                f"{pct(r['test']['0.5']['micro_f1'])} / {pct(r['test']['0.5']['macro_f1'])}",
                f"{pct(r['dev']['tuned']['micro_f1'])} / {pct(r['dev']['tuned']['macro_f1'])}",
                *[fmt(r, t, "ms_per_text", "{:.2f}") for t in thread_counts[:1]],
                *[fmt(r, t, "cost", "{:.2f}x") for t in thread_counts],
                r["onnx_mb"],
                r["recipe"] + (" (earlier run)" if r.get("earlier_report") else ""),
            ]
            for r in rows
        ],
    )
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    plot(rows, out.with_suffix(".png"), ref_name, thread_counts[0])
    md = [
        f"# Quality (held-out test split, {len(test)} texts; dev {len(dev)}) against CPU cost",
        "",
        f"Machine: {machine_line()}. Command: `python -m benchmarks.quality.frontier "
        + " ".join(f"--model {n}={f}" for n, f in models.items())
        + "".join(f" --reference {n}={f}" for n, f in reference.items())
        + (f" --earlier {args.earlier}" if args.earlier else "")
        + f" --threads {args.threads}`",
        "",
        f"![frontier]({out.with_suffix('.png').name})",
        "",
        table,
        "",
        f"Thresholds as in each model's thresholds.json (chosen out of fold on dev); '0.5' uses 0.5 for every "
        f"label with the same decoder. Cost: median of {args.rounds} interleaved rounds of {args.batches} batches "
        f"of {args.batch_size} test texts, relative to {ref_name}, on "
        + " and on ".join(thread_label(t) for t in thread_counts)
        + " (onnxruntime intra-op threads; one thread is CPU time per text and how the server's workers run the "
        "model)"
        + (f" (an untrained export of its shape, timed only: {reference[ref_name]})" if reference else "")
        + "."
        + (
            f" Rows marked 'earlier run' are kept from {args.earlier} as measured there (same reference; "
            "'–' where that report did not time them that way)."
            if earlier
            else ""
        ),
        "",
    ]
    report_json = {"machine": machine_line(), "dataset_dir": str(data), "reference": ref_name, "models": rows}
    write_report(out, md, report_json)


if __name__ == "__main__":
    main()
