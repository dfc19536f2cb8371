"""Dirty data: rank training examples by how likely their labels are wrong and write
the top suspects with their current and suggested labels.

    # analyse a checkpoint: writes train_dirty.txt (to relabel), train_dirty_rest.txt, train_dirty.tsv
    .venv/bin/python training/analysis/dirty_data.py find --params_path checkpoint \\
        --dataset_dir data/sample --dirty_num 20 --output_dir build/analysis/dirty

    # out-of-fold scores (confident learning): K retrainings with the checkpoint's recipe
    .venv/bin/python training/analysis/dirty_data.py find --params_path checkpoint --dataset_dir data/sample \\
        --method cv --folds 3 --epochs 10

    # measure it: swap the labels of 10% of train.txt and report precision@k of finding them
    .venv/bin/python training/analysis/dirty_data.py evaluate --dataset_dir data/sample --noise_rate 0.1 \\
        --from_scratch --results_dir build/analysis/results

``cat train_dirty_rest.txt train_dirty.txt`` (after relabelling) is the cleaned training file.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from hiercls.analysis.dirty import DIRTY_METHODS
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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    find = sub.add_parser("find", formatter_class=HelpFormatter, help="Rank training examples and write the suspects.")
    add_data_args(find)
    add_checkpoint_args(find)
    g = find.add_argument_group("dirty data")
    g.add_argument("--method", default="loss", choices=DIRTY_METHODS, help="Suspicion score (cv needs --folds).")
    g.add_argument(
        "--folds", type=int, default=0, help="K for --method cv: K models, each scoring the fold it never saw."
    )
    g.add_argument("--dirty_num", type=int, default=100, help="How many top suspects to write.")
    g.add_argument("--dirty_threshold", type=float, default=None, help="Write only suspects scoring above this.")
    add_train_args(find, "training recipe for --folds (default: the checkpoint's model)", device=False)
    find.set_defaults(model_name=None, train_max_seq_length=None)
    out = find.add_argument_group("output")
    out.add_argument("--output_dir", default="build/analysis/dirty", help="Folder for the files below.")
    out.add_argument(
        "--dirty_file", default="train_dirty.txt", help="Suspects in train.txt layout (a .tsv adds scores)."
    )
    out.add_argument("--rest_file", default="train_dirty_rest.txt", help="The other training lines.")
    out.add_argument("--work_dir", default="build/analysis/dirty_folds", help="Fold checkpoints for --folds.")

    ev = sub.add_parser("evaluate", formatter_class=HelpFormatter, help="Inject label noise into a labelled set and report precision@k.")
    add_data_args(ev)
    g = ev.add_argument_group("noise")
    g.add_argument("--noise_rate", type=float, default=0.1, help="Share of training examples whose labels are swapped.")
    g.add_argument("--train_size", type=int, default=None, help="Use a random subset of train.txt of this size.")
    g.add_argument("--folds", type=int, default=0, help="Also score out-of-fold (cv) with K extra trainings (0: off).")
    add_train_args(ev)
    add_eval_output_args(ev, "dirty")
    return p


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    check_positive(parser, args, "dirty_num", "batch_size", "train_size", "epochs")
    if args.folds == 1 or args.folds < 0:
        parser.error(f"--folds must be 0 (off) or at least 2, got {args.folds}")
    if args.command == "find" and (args.method == "cv") != (args.folds >= 2):
        parser.error("--method cv and --folds K (K >= 2) go together")
    set_device(args)
    if args.command == "find":
        find(args)
    else:
        evaluate(args)


def find(args: argparse.Namespace) -> None:
    from hiercls.analysis.dirty import find_dirty, score_dirty, write_dirty_outputs
    from hiercls.analysis.features import CheckpointModel, check_same_labels
    from hiercls.data.reading import dataset_files, read_examples
    from hiercls.runtime.artifacts import read_train_meta, train_max_seq_length
    from hiercls.runtime.hierarchy import LabelHierarchy

    files = dataset_files(args.dataset_dir, args.train_file, args.dev_file, args.label_file)
    model = CheckpointModel(args.params_path, args.batch_size, args.max_seq_length)
    check_same_labels(model.hierarchy, LabelHierarchy.from_file(files.label), str(files.label))
    train = read_examples(files.train, model.hierarchy)
    if args.method == "cv":
        from hiercls.analysis.experiments import Runner, load_dataset, out_of_fold_probs

        meta = read_train_meta(args.params_path)
        if args.model_name is None:
            args.model_name = meta.get("model_name", "hiercls-tiny")
            args.from_scratch = args.from_scratch or bool(meta.get("from_scratch", False))
        args.train_max_seq_length = train_max_seq_length(meta, args.train_max_seq_length)
        ds = load_dataset(args.dataset_dir, args.train_file, args.dev_file, args.label_file)
        runner = Runner(train_config(args), ds, Path(args.work_dir), args.batch_size, args.eval_thresholds)
        result = score_dirty("cv", train, model.hierarchy, out_of_fold_probs(runner, train, args.folds, args.seed))
    else:
        result = find_dirty(model, train, args.method)
    paths = write_dirty_outputs(
        Path(args.output_dir),
        result,
        train,
        model.decoding,
        args.dirty_num,
        args.dirty_threshold,
        args.dirty_file,
        args.rest_file,
    )
    logging.info(
        "suspects in %s (scores and suggested labels in %s), the rest in %s",
        paths["dirty"],
        paths["detail"],
        paths["rest"],
    )


def evaluate(args: argparse.Namespace) -> None:
    from hiercls.analysis.experiments import Runner, dirty_experiment, load_dataset, write_dirty_report

    ds = load_dataset(args.dataset_dir, args.train_file, args.dev_file, args.label_file)
    runner = Runner(train_config(args), ds, Path(args.work_dir), args.batch_size, args.eval_thresholds)
    result = dirty_experiment(ds, runner, args.noise_rate, args.train_size, args.folds, args.seed)
    write_dirty_report(result, Path(args.results_dir), command_line())
    for method, r in result["methods"].items():
        logging.info(
            "%-12s precision@%d %.4f, average precision %.4f",
            method,
            result["noisy_examples"],
            r["precision_at_k"][str(result["noisy_examples"])],
            r["average_precision"],
        )
    logging.info("report: %s", Path(args.results_dir) / "dirty.md")


if __name__ == "__main__":
    sys.exit(main())
