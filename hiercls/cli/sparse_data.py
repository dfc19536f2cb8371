"""Sparse data: find the dev examples least supported by the training data and the
unlabelled texts (data.txt) most similar to them, to label next.

    # analyse a checkpoint: writes sparse.tsv, valid.txt (to label), valid.tsv
    .venv/bin/python training/analysis/sparse_data.py find --params_path checkpoint \\
        --dataset_dir data/sample --sparse_num 20 --valid_num 20 --output_dir build/analysis/sparse

    # measure the effect: hide the labels of part of train.txt, use it as the pool,
    # retrain with the chosen texts (labels revealed) and with as many random ones
    .venv/bin/python training/analysis/sparse_data.py evaluate --dataset_dir data/sample \\
        --labelled_size 120 --sparse_num 16 --valid_num 40 --from_scratch --results_dir build/analysis/results
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from hiercls.analysis.sparse import SUPPORT_METHODS
from hiercls.cli.analysis_args import (
    add_checkpoint_args,
    add_data_args,
    add_eval_output_args,
    add_train_args,
    check_positive,
    command_line,
    set_device,
    train_config,
)
from hiercls.cli.args import HelpFormatter


def add_sparse_args(p: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    g = p.add_argument_group("sparse data")
    g.add_argument("--support_method", default="similarity", choices=SUPPORT_METHODS, help="How support is scored.")
    g.add_argument("--rationale_num", type=int, default=3, help="Training examples (k) averaged into a support score.")
    g.add_argument("--sparse_num", type=int, default=100, help="How many least supported dev examples to target.")
    g.add_argument("--valid_num", type=int, default=100, help="How many unlabelled texts to choose for labelling.")
    return g


def build_parser() -> argparse.ArgumentParser:
    from hiercls.runtime.artifacts import DATA_FILE

    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    find = sub.add_parser("find", formatter_class=HelpFormatter, help="Rank dev by support and choose texts to label.")
    data = add_data_args(find)
    data.add_argument("--unlabeled_file", default=DATA_FILE, help="Unlabelled texts inside dataset_dir.")
    add_checkpoint_args(find).add_argument(
        "--pooling", default="pooled", choices=["pooled", "mean"], help="Feature: pooled output or mean of last layer."
    )
    add_sparse_args(find).add_argument(
        "--valid_threshold", type=float, default=-1.0, help="Least cosine similarity for a chosen text (-1: any)."
    )
    out = find.add_argument_group("output")
    out.add_argument("--output_dir", default="build/analysis/sparse", help="Folder for the files below.")
    out.add_argument("--sparse_file", default="sparse.tsv", help="Least supported dev examples, with their scores.")
    out.add_argument("--valid_file", default="valid.txt", help="Texts to label (a .tsv of the same name adds context).")

    ev = sub.add_parser("evaluate", formatter_class=HelpFormatter, help="Simulate labelling on a labelled set and report the dev F1 change.")
    add_data_args(ev)
    add_sparse_args(ev)
    ev.add_argument(
        "--labelled_size", type=int, required=True, help="Training examples kept labelled; the rest is the pool."
    )
    add_train_args(ev)
    add_eval_output_args(ev, "sparse")
    return p


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    check_positive(parser, args, "rationale_num", "sparse_num", "batch_size", "labelled_size", "epochs")
    if args.valid_num < 0:
        parser.error(f"--valid_num must not be negative, got {args.valid_num}")
    set_device(args)
    if args.command == "find":
        find(args)
    else:
        evaluate(args)


def find(args: argparse.Namespace) -> None:
    from hiercls.analysis.features import CheckpointModel, check_same_labels
    from hiercls.analysis.sparse import find_sparse, sparse_vs_rest, write_sparse_outputs
    from hiercls.data.reading import dataset_files, read_examples, read_texts
    from hiercls.runtime.hierarchy import LabelHierarchy
    from hiercls.runtime.io import atomic_write_json

    files = dataset_files(
        args.dataset_dir, args.train_file, args.dev_file, args.label_file, data_file=args.unlabeled_file
    )
    model = CheckpointModel(args.params_path, args.batch_size, args.max_seq_length, args.pooling)
    check_same_labels(model.hierarchy, LabelHierarchy.from_file(files.label), str(files.label))
    train = read_examples(files.train, model.hierarchy)
    dev = read_examples(files.dev, model.hierarchy)
    if files.data is None:
        logging.warning(
            "%s not found: ranking dev only, nothing to choose for labelling",
            Path(args.dataset_dir) / args.unlabeled_file,
        )
    pool = read_texts(files.data) if files.data is not None else []
    res = find_sparse(
        model,
        train,
        dev,
        pool,
        args.support_method,
        args.rationale_num,
        args.sparse_num,
        args.valid_num,
        args.valid_threshold,
    )
    paths = write_sparse_outputs(Path(args.output_dir), res, dev, model.decoding, args.sparse_file, args.valid_file)
    check = sparse_vs_rest(res, dev, model.decoding)
    summary = {
        "support_method": args.support_method,
        "rationale_num": args.rationale_num,
        "dev": len(dev),
        "pool": len(res.pool_texts),
        "chosen": len(res.selections),
        "dev_scores": check,
        "files": {k: str(v) for k, v in paths.items()},
    }
    atomic_write_json(Path(args.output_dir) / "sparse_summary.json", summary)
    rest = check.get("rest", {}).get("micro_f1", float("nan"))
    logging.info(
        "dev micro F1 on the %d least supported examples %.4f, on the rest %.4f",
        check["sparse"]["count"],
        check["sparse"]["micro_f1"],
        rest,
    )
    logging.info("%d texts to label in %s (context in %s)", len(res.selections), paths["valid"], paths["valid_detail"])


def evaluate(args: argparse.Namespace) -> None:
    from hiercls.analysis.experiments import Runner, load_dataset, sparse_experiment, write_sparse_report

    ds = load_dataset(args.dataset_dir, args.train_file, args.dev_file, args.label_file)
    runner = Runner(train_config(args), ds, Path(args.work_dir), args.batch_size, args.eval_thresholds)
    result = sparse_experiment(
        ds,
        runner,
        args.labelled_size,
        args.sparse_num,
        args.valid_num,
        args.support_method,
        args.rationale_num,
        args.seed,
    )
    write_sparse_report(result, Path(args.results_dir), command_line())
    for name, arm in result["arms"].items():
        logging.info(
            "%-22s dev micro F1 %.4f macro F1 %.4f | sparse dev micro F1 %.4f",
            name,
            arm["dev"]["micro_f1"],
            arm["dev"]["macro_f1"],
            arm["sparse_dev"]["micro_f1"],
        )
    logging.info("report: %s", Path(args.results_dir) / "sparse.md")


if __name__ == "__main__":
    sys.exit(main())
