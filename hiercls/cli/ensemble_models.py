"""Average several export folders' label probabilities in one export folder.

    .venv/bin/python builders/ensemble_models.py \\
        --members build/duee_e5_6l/export,build/duee_e5_12l/export \\
        --output_path build/duee_ensemble/export --dataset_dir build/duee_split

The members must share label.txt, tokenizer.json and max_seq_length: models trained
on the same labels (seeds or depths of one recipe; a student started from a teacher
keeps its vocabulary). model.onnx becomes one graph that runs every member on the same
input and outputs the logit of their mean probability, so the repository builder,
evaluate.py and predict.py take the folder as one model; its CPU cost is the members'
together. With --dataset_dir the thresholds and decoder are chosen out of fold on dev
for the ensemble, as training does for one model, and dev F1 of the ensemble and of
each member is printed, each scored the same two ways: with thresholds chosen out of
fold (so a member's own per-label thresholds, fitted on this very dev file, do not
flatter it) and at 0.5 with the closure decoder. Keep the ensemble only if it wins
there. ``hiercls-ensemble`` is the same command.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hiercls.cli.args import HelpFormatter
from hiercls.cli.errors import prog, run_main

if TYPE_CHECKING:
    from hiercls.training.tuning import TuningResult


def build_parser() -> argparse.ArgumentParser:
    from hiercls.runtime.artifacts import DEV_FILE

    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--members", required=True, help="Comma-separated export folders (two or more).")
    p.add_argument("--output_path", required=True, help="Export folder to (re)write with the ensemble.")
    p.add_argument("--weights", default=None, help="Comma-separated positive weights, one per member (default: equal).")
    p.add_argument(
        "--dataset_dir", default=None, help="Choose thresholds on this folder's dev file (default: 0.5 everywhere)."
    )
    p.add_argument("--dev_file", default=DEV_FILE, help="Dev file inside dataset_dir.")
    p.add_argument("--batch_size", type=int, default=32, help="Texts per onnxruntime call on dev.")
    return p


def main(argv: list[str] | None = None) -> int:
    return run_main(lambda: _main(argv), prog())


def _main(argv: list[str] | None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    from hiercls.export.ensemble import EnsembleError, build_ensemble

    members = [Path(m) for m in args.members.split(",") if m.strip()]
    try:
        weights = [float(w) for w in args.weights.split(",")] if args.weights else None
    except ValueError:
        parser.error(f"--weights must be numbers, got {args.weights!r}")
    try:
        meta = build_ensemble(members, args.output_path, weights)
    except EnsembleError as e:
        parser.error(str(e))
    if args.dataset_dir:
        meta["dev"] = tune_on_dev(Path(args.output_path), members, args.dataset_dir, args.dev_file, args.batch_size)
    print(json.dumps(meta, ensure_ascii=False, indent=2))
    return 0


def tune_on_dev(output: Path, members: list[Path], dataset_dir: str, dev_file: str, batch_size: int) -> dict:
    """Thresholds for the ensemble chosen out of fold on dev (written to its
    thresholds.json); dev micro/macro F1 of the ensemble and of each member, out of
    fold and at 0.5. A member's shipped thresholds were fitted on this dev file, so
    scoring it with them would compare an in-sample figure with an out-of-fold one."""
    from hiercls.compression.variants import dev_set
    from hiercls.evaluation.predictor import OnnxPredictor
    from hiercls.runtime.artifacts import THRESHOLDS_FILE
    from hiercls.training.tuning import save_tuning, tune

    texts, y_true = dev_set(dataset_dir, output, dev_file)
    report = {}
    for name, folder in [("ensemble", output), *((str(m), m) for m in members)]:
        predictor = OnnxPredictor(folder)
        result = tune(predictor.probs(texts, batch_size), y_true, predictor.hierarchy)
        if folder == output:
            save_tuning(output / THRESHOLDS_FILE, predictor.hierarchy, result)
        report[name] = dev_summary(result)
        logging.info("dev %s: %s", name, report[name])
    return report


def dev_summary(result: TuningResult) -> dict:
    """Percent micro/macro F1 of the chosen candidate out of fold and of 0.5 with closure
    (both empty when dev is too small for folds: tune() then keeps 0.5 untested)."""
    from hiercls.training.tuning import candidate

    def pct(f1: dict[str, float]) -> dict[str, float]:
        return {k: round(100 * v, 2) for k, v in f1.items()}

    return {
        "out_of_fold": pct(result.chosen_out_of_fold),
        "at_0.5": pct(result.default_out_of_fold),
        "policy": candidate(result.policy, result.decoder),
    }


if __name__ == "__main__":
    sys.exit(main())
