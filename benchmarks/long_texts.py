"""Long texts: F1 and cost of scoring texts longer than max_seq_length as overlapping
windows (pooled per label with max or mean) against truncating them.

Two sets, both from a labelled dev file: the dev texts longer than the limit as they
are, and a long-text set built by joining dev texts that share one label set until
each joined text is about ``--join_factor`` times max_seq_length tokens (written under
build/, never committed). Each set is scored by the offline ONNX predictor, which
runs the same tokenizer windows and folding as the served ensemble, with truncation
and with windows (max, mean); thresholds and decoder are the export's.

    python -m benchmarks.long_texts --export_dir build/duee_e5_6l/export \\
        --dataset_dir /work/shared/data/duee_hier --output benchmarks/results/long_texts_duee
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]

from benchmarks.common import RESULTS_DIR, command_line, machine_info, machine_line, md_table, write_report  # noqa: E402  (after OMP_NUM_THREADS)


def build_parser() -> argparse.ArgumentParser:
    from hiercls.runtime.artifacts import DEV_FILE

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--export_dir", required=True, help="Export folder (builders/export_model.py) of a trained model.")
    p.add_argument("--dataset_dir", required=True, help="Folder with label.txt and the dev file.")
    p.add_argument("--dev_file", default=DEV_FILE, help="Labelled file inside dataset_dir.")
    p.add_argument("--join_factor", type=float, default=3.0, help="Joined texts reach this many times max_seq_length.")
    p.add_argument(
        "--max_seq_length", type=int, default=None, help="Token limit (default: the export's); lower it for short data."
    )
    p.add_argument("--max_windows", type=int, default=8, help="Windows per text at most.")
    p.add_argument("--stride", type=int, default=32, help="Tokens shared by consecutive windows.")
    p.add_argument("--batch_size", type=int, default=32, help="Rows per model call at most.")
    p.add_argument("--work_dir", default=str(ROOT / "build" / "long_texts"), help="Where the joined set is written.")
    p.add_argument("--output", default=str(RESULTS_DIR / "long_texts"), help="Writes OUTPUT.md and OUTPUT.json.")
    return p


def joined_set(examples, counts: list[int], target: int) -> list[tuple[str, tuple[str, ...]]]:
    """Dev texts of one label set, in file order, joined until each reaches ``target`` tokens."""
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, e in enumerate(examples):
        groups[e.labels].append(i)
    out = []
    for labels, idx in groups.items():
        text, tokens = [], 0
        for i in idx:
            text.append(examples[i].text)
            tokens += counts[i]
            if tokens >= target:
                out.append(("。".join(text), labels))
                text, tokens = [], 0
    return out


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    from hiercls.data.reading import read_examples
    from hiercls.evaluation.metrics import scores
    from hiercls.evaluation.predictor import OnnxPredictor
    from hiercls.runtime.artifacts import LABEL_FILE
    from hiercls.runtime.hierarchy import LabelHierarchy
    from hiercls.runtime.long_text import LongText

    dataset = Path(args.dataset_dir)
    hierarchy = LabelHierarchy.from_file(dataset / LABEL_FILE)
    examples = read_examples(dataset / args.dev_file, hierarchy)
    base = OnnxPredictor(args.export_dir, args.max_seq_length)
    if base.hierarchy.labels != hierarchy.labels:
        sys.exit(f"{dataset}/{LABEL_FILE} does not match the model's")
    limit = base.encoder.max_seq_length
    counts = base.encoder.token_counts([e.text for e in examples])
    long_dev = [(e.text, e.labels) for e, n in zip(examples, counts) if n > limit]
    joined = joined_set(examples, counts, int(args.join_factor * limit))
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    (work / "dev_joined.txt").write_text("".join(f"{t}\t{','.join(lab)}\n" for t, lab in joined), encoding="utf-8")
    logging.info(
        "%d of %d dev texts exceed %d tokens; joined set: %d texts", len(long_dev), len(examples), limit, len(joined)
    )

    modes = {
        "truncate": None,
        "windows, max": LongText(args.max_windows, args.stride, "max"),
        "windows, mean": LongText(args.max_windows, args.stride, "mean"),
    }
    rows, result = [], {"machine": machine_info(), "args": vars(args), "limit_tokens": limit, "sets": {}}
    for set_name, data in (("dev texts over the limit", long_dev), ("joined dev texts", joined)):
        if not data:
            rows.append([set_name, 0, "–", "–", "–", "–", "–", "–"])
            continue
        texts = [t for t, _ in data]
        y_true = hierarchy.multi_hot([list(lab) for _, lab in data]).astype(bool)
        n_tokens = base.encoder.token_counts(texts)
        result["sets"][set_name] = {"texts": len(texts), "mean_tokens": sum(n_tokens) / len(n_tokens), "modes": {}}
        for mode, lt in modes.items():
            base.long_text = lt
            base.probs(texts[:4], args.batch_size)  # warm-up
            t0 = time.perf_counter()
            probs = base.probs(texts, args.batch_size)
            elapsed = time.perf_counter() - t0
            pred = base.decode(probs)
            s = scores(y_true, pred).as_dict()
            model_rows = len(texts) if lt is None else len(base.encoder.encode_windows(texts, lt)[2])
            result["sets"][set_name]["modes"][mode] = {**s, "seconds": elapsed, "model_rows": model_rows}
            rows.append(
                [
                    set_name,
                    len(texts),
                    f"{sum(n_tokens) / len(n_tokens):.0f}",
                    mode,
                    f"{100 * s['micro_f1']:.2f}",
                    f"{100 * s['macro_f1']:.2f}",
                    model_rows,
                    f"{len(texts) / elapsed:.1f}",
                ]
            )
            logging.info("%s, %s: micro F1 %.4f, %.1f texts/s", set_name, mode, s["micro_f1"], len(texts) / elapsed)
    md = [
        "# Long texts: windows vs truncation\n",
        f"Machine: {machine_line(result['machine'])}.\n",
        f"Model: `{args.export_dir}` (max_seq_length {limit}); data: `{dataset / args.dev_file}`. Windows: at most "
        f"{args.max_windows} a text, {args.stride} tokens shared by neighbours. Offline ONNX predictor (the served "
        "ensemble's tokenizer windows and folding), export's thresholds and decoder. Joined set: dev texts of one "
        f"label set joined until {args.join_factor:g} x max_seq_length tokens.\n",
        md_table(
            ["set", "texts", "mean tokens", "mode", "micro F1", "macro F1", "model rows", "texts/s"],
            rows,
        ),
        f"\nCommand: `{command_line(__file__, argv)}`\n",
    ]
    write_report(args.output, md, result)


if __name__ == "__main__":
    main()
