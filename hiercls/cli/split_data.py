"""Carve a test split off train.txt (stratified by label set, fixed seed).

    .venv/bin/python training/split_data.py --dataset_dir data/sample \\
        --output_dir build/sample_split --test_ratio 0.1 --seed 42

The output folder is a complete dataset_dir (train.txt without the split, test.txt,
dev.txt, label.txt, data.txt) for train.py and evaluate.py. Never tune on test.txt:
dev chooses the epoch and the thresholds, test.txt only reports. ``hiercls-split-data``
is the same command.
"""

from __future__ import annotations

import argparse
import logging
import sys

from hiercls.cli.args import HelpFormatter
from hiercls.cli.errors import prog, run_main


def run(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    p = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--dataset_dir", required=True, help="Folder with train.txt, dev.txt and label.txt.")
    p.add_argument("--output_dir", required=True, help="Where the split dataset folder is written.")
    p.add_argument("--test_ratio", type=float, default=0.1, help="Share of each label set's texts moved to test.txt.")
    p.add_argument("--seed", type=int, default=42, help="Random seed of the split.")
    args = p.parse_args(argv)
    if not 0.0 < args.test_ratio < 1.0:
        p.error(f"--test_ratio must be between 0 and 1, got {args.test_ratio}")
    from hiercls.data.split import write_split

    s = write_split(args.dataset_dir, args.output_dir, args.test_ratio, args.seed)
    logging.info(
        "%s: train %d, test %d lines (%d label sets; %d lines of single-text label sets kept in train)",
        args.output_dir,
        s.train,
        s.test,
        s.groups,
        s.kept_in_train,
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point: expected errors end in one line, not a traceback."""
    return run_main(lambda: run(argv), prog())


if __name__ == "__main__":
    sys.exit(main())
