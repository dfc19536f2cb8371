"""Augmentation: label-preserving character edits (synonym/character substitution,
insertion, deletion, swap) for the labels with few training examples.

    # write aug.txt (the new lines) and train_aug.txt (train.txt + aug.txt)
    .venv/bin/python training/analysis/augment_data.py augment --dataset_dir data/sample \\
        --min_count 30 --create_n 2 --aug_strategy mix --output_dir build/analysis/augment

    # measure it: train with and without, compare dev F1 of the rare labels
    .venv/bin/python training/analysis/augment_data.py evaluate --dataset_dir data/sample --min_count 30 \\
        --from_scratch --results_dir build/analysis/results
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from hiercls.analysis.augment import AUG_STRATEGIES, SYNONYMS_FILE
from hiercls.cli.analysis_args import (
    add_data_args,
    add_eval_output_args,
    add_train_args,
    check_positive,
    command_line,
    set_device,
    train_config,
)
from hiercls.cli.args import HelpFormatter


def add_aug_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("augmentation")
    g.add_argument(
        "--min_count", type=int, required=True, help="Augment labels with fewer training examples, up to this."
    )
    g.add_argument("--create_n", type=int, default=2, help="Most variants made from one training example.")
    g.add_argument(
        "--aug_strategy", default="mix", choices=AUG_STRATEGIES, help="Edit used (mix: a random one per edit)."
    )
    g.add_argument("--aug_percent", type=float, default=0.1, help="Edits per variant as a share of the text's length.")
    g.add_argument("--protect_top", type=int, default=8, help="Most label-typical characters per label never edited.")
    g.add_argument("--synonym_file", default=str(SYNONYMS_FILE), help="Synonym groups, one per line.")
    g.add_argument("--seed", type=int, default=3, help="Seed of every random choice.")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    aug = sub.add_parser("augment", formatter_class=HelpFormatter, help="Write augmented lines for the rare labels.")
    add_data_args(aug, dev=False)
    add_aug_args(aug)
    out = aug.add_argument_group("output")
    out.add_argument("--output_dir", default="build/analysis/augment", help="Folder for the files below.")
    out.add_argument("--aug_file", default="aug.txt", help="The new lines only (train.txt layout).")
    out.add_argument("--train_aug_file", default="train_aug.txt", help="train.txt with the new lines appended.")

    ev = sub.add_parser("evaluate", formatter_class=HelpFormatter, help="Train with and without augmentation and compare rare-label F1.")
    add_data_args(ev)
    add_aug_args(ev)
    ev.add_argument("--train_size", type=int, default=None, help="Use a random subset of train.txt of this size.")
    # One --seed (from the augmentation group) drives both the edits and the training runs.
    add_train_args(ev, seed=False)
    add_eval_output_args(ev, "augment")
    return p


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    check_positive(parser, args, "min_count", "create_n", "train_size", "epochs", "batch_size")
    if not 0 < args.aug_percent <= 1:
        parser.error(f"--aug_percent must lie in (0, 1], got {args.aug_percent}")
    if args.command == "augment":
        augment(args)
    else:
        evaluate(args)


def augment(args: argparse.Namespace) -> None:
    from collections import Counter

    from hiercls.analysis.augment import augment_rare, load_synonyms, rare_labels
    from hiercls.analysis.records import format_line
    from hiercls.data.reading import dataset_files, read_examples
    from hiercls.runtime.hierarchy import LabelHierarchy
    from hiercls.runtime.io import atomic_write_text

    files = dataset_files(args.dataset_dir, args.train_file, label_file=args.label_file)
    h = LabelHierarchy.from_file(files.label)
    train = read_examples(files.train, h)
    rare = rare_labels(train, h, args.min_count)
    new = augment_rare(
        train,
        h,
        args.min_count,
        args.create_n,
        args.aug_strategy,
        args.aug_percent,
        args.seed,
        load_synonyms(args.synonym_file),
        args.protect_top,
    )
    lines = "".join(format_line(e.text, e.labels) + "\n" for e in new)
    out = Path(args.output_dir)
    atomic_write_text(out / args.aug_file, lines)
    # The original lines stay as they were written; only the new ones are appended.
    original = files.train.read_text(encoding="utf-8-sig")
    atomic_write_text(out / args.train_aug_file, original + ("" if original.endswith("\n") else "\n") + lines)
    before = Counter(x for e in train for x in e.labels)
    after = before + Counter(x for e in new for x in e.labels)
    for label in rare:
        logging.info("%-24s %4d -> %4d", label, before[label], after[label])
    logging.info(
        "%d rare labels, %d new lines in %s and %s", len(rare), len(new), out / args.aug_file, out / args.train_aug_file
    )


def evaluate(args: argparse.Namespace) -> None:
    from hiercls.analysis.augment import load_synonyms
    from hiercls.analysis.experiments import Runner, augment_experiment, load_dataset, write_augment_report

    set_device(args)
    ds = load_dataset(args.dataset_dir, args.train_file, args.dev_file, args.label_file)
    runner = Runner(train_config(args), ds, Path(args.work_dir), args.batch_size, args.eval_thresholds)
    result = augment_experiment(
        ds,
        runner,
        args.min_count,
        args.create_n,
        args.aug_strategy,
        args.aug_percent,
        args.train_size,
        args.seed,
        load_synonyms(args.synonym_file),
        args.protect_top,
    )
    write_augment_report(result, Path(args.results_dir), command_line())
    for name, arm in result["arms"].items():
        logging.info(
            "%-8s augmentation: dev micro F1 %.4f macro F1 %.4f, rare-label macro F1 %s",
            name,
            arm["dev"]["micro_f1"],
            arm["dev"]["macro_f1"],
            arm["rare_macro_f1"],
        )
    logging.info("report: %s", Path(args.results_dir) / "augment.md")


if __name__ == "__main__":
    sys.exit(main())
