"""Evaluate a checkpoint (or an exported ONNX model) on dev or test data.

    .venv/bin/python training/evaluate.py --dataset_dir data/sample --params_path checkpoint
    # after builders/export_model.py --params_path checkpoint --output_path export:
    .venv/bin/python training/evaluate.py --dataset_dir data/sample --params_path export --backend onnx \\
        --test_file test.txt

Prints exact-match accuracy, micro/macro P/R/F1, per level and per class (keyed on
the full label path), the hierarchy-violation rate of the raw thresholded output,
writes bad cases (Prediction<TAB>Label<TAB>Text) and a JSON report (build/ by
default). ``hiercls-evaluate`` is the same command.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from hiercls.cli.args import HelpFormatter, add_predictor_args, long_text_from_args
from hiercls.cli.errors import prog, run_main


def build_parser() -> argparse.ArgumentParser:
    from hiercls.runtime.artifacts import DEV_FILE, LABEL_FILE, TRAIN_FILE

    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    data = p.add_argument_group("data")
    data.add_argument("--dataset_dir", required=True, help="Folder with label.txt and the evaluation file.")
    data.add_argument("--dev_file", default=DEV_FILE, help="File to evaluate, inside dataset_dir.")
    data.add_argument("--test_file", default=None, help="Evaluate this file (e.g. test.txt) instead of --dev_file.")
    data.add_argument("--train_file", default=TRAIN_FILE, help="Training file, for per-class train counts (optional).")
    data.add_argument("--label_file", default=LABEL_FILE, help="Label file inside dataset_dir; must match the model's.")
    add_predictor_args(p)
    o = p.add_argument_group("output")
    o.add_argument("--bad_case_path", default="build/bad_case.txt", help="Where to write misclassified texts.")
    o.add_argument("--report_path", default=None, help="JSON report (default: next to the bad cases, report.json).")
    return p


def run(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    from hiercls.data.reading import read_examples
    from hiercls.evaluation.predictor import load_predictor
    from hiercls.evaluation.report import evaluation_report, format_report, write_bad_cases
    from hiercls.runtime.hierarchy import LabelHierarchy
    from hiercls.runtime.io import atomic_write_json

    dataset = Path(args.dataset_dir)
    hierarchy = LabelHierarchy.from_file(dataset / args.label_file)
    predictor = load_predictor(
        args.backend, args.params_path, args.max_seq_length, args.device, long_text_from_args(args)
    )
    if predictor.hierarchy.labels != hierarchy.labels:
        sys.exit(
            f"{dataset / args.label_file} does not match the model's label.txt: same labels in the same order are needed"
        )
    eval_file = dataset / (args.test_file or args.dev_file)
    examples = read_examples(eval_file, hierarchy)
    train_counts, train_size = None, None
    if (dataset / args.train_file).is_file():
        train = read_examples(dataset / args.train_file, hierarchy)
        train_counts = hierarchy.multi_hot([e.labels for e in train]).sum(0)
        train_size = len(train)

    probs = predictor.probs([e.text for e in examples], args.batch_size)
    thresholds = predictor.thresholds if args.threshold is None else args.threshold
    pred = predictor.decode(probs, args.decoder, thresholds)
    rep = evaluation_report(probs, examples, hierarchy, pred, thresholds, train_counts)
    rep.update(
        eval_file=str(eval_file),
        decoder=args.decoder or predictor.decoder,
        backend=args.backend,
        long_text=vars(long_text_from_args(args)) if args.long_text_windows else None,
        thresholds=f"single {args.threshold:.3f}" if args.threshold is not None else "per-label (thresholds.json)",
    )
    print(format_report(rep, train_size))
    n_bad = write_bad_cases(args.bad_case_path, examples, pred, hierarchy)
    report_path = Path(args.report_path or Path(args.bad_case_path).with_name("report.json"))
    atomic_write_json(report_path, rep)
    logging.info("%d bad cases written to %s; JSON report %s", n_bad, args.bad_case_path, report_path)


def main(argv: list[str] | None = None) -> int:
    """Entry point: expected errors end in one line, not a traceback."""
    return run_main(lambda: run(argv), prog())


if __name__ == "__main__":
    sys.exit(main())
