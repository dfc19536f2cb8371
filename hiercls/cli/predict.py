"""Predict label paths for unlabelled texts (data.txt) with a checkpoint or the exported ONNX model.

    .venv/bin/python training/predict.py --dataset_dir data/sample --params_path checkpoint
    .venv/bin/python training/predict.py --dataset_dir data/sample --params_path export --backend onnx

``hiercls-predict`` is the same command.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import Counter
from pathlib import Path

from hiercls.cli.args import HelpFormatter, add_predictor_args, long_text_from_args
from hiercls.cli.errors import prog, run_main


def build_parser() -> argparse.ArgumentParser:
    from hiercls.runtime.artifacts import DATA_FILE, LABEL_FILE

    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--dataset_dir", required=True, help="Folder with the data file and label.txt.")
    p.add_argument("--data_file", default=DATA_FILE, help="Texts to predict, one per line, inside dataset_dir.")
    p.add_argument("--label_file", default=LABEL_FILE, help="Label file inside dataset_dir; must match the model's.")
    add_predictor_args(p)
    p.add_argument(
        "--output_file", default="build/predictions.jsonl", help="One JSON object per text: text, labels, confidences."
    )
    return p


def run(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    from hiercls.data.reading import read_texts
    from hiercls.evaluation.predictor import load_predictor
    from hiercls.runtime.hierarchy import LabelHierarchy
    from hiercls.runtime.io import atomic_write_text

    dataset = Path(args.dataset_dir)
    predictor = load_predictor(
        args.backend, args.params_path, args.max_seq_length, args.device, long_text_from_args(args)
    )
    if (dataset / args.label_file).is_file() and LabelHierarchy.from_file(
        dataset / args.label_file
    ).labels != predictor.hierarchy.labels:
        sys.exit(f"{dataset / args.label_file} does not match the model's label.txt")
    texts = read_texts(dataset / args.data_file)
    t0 = time.perf_counter()
    predictions = predictor.predict(texts, args.batch_size, args.decoder, args.threshold)
    elapsed = time.perf_counter() - t0
    atomic_write_text(
        args.output_file, "".join(json.dumps(p.as_dict(), ensure_ascii=False) + "\n" for p in predictions)
    )
    counts = Counter(label for p in predictions for label in p.labels)
    print(
        f"{len(texts)} texts in {elapsed:.2f}s ({len(texts) / elapsed:.1f} texts/s), {sum(not p.labels for p in predictions)} without a label"
    )
    for label, n in counts.most_common(10):
        print(f"  {label}\t{n}")
    print(f"results: {args.output_file}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: expected errors end in one line, not a traceback."""
    return run_main(lambda: run(argv), prog())


if __name__ == "__main__":
    sys.exit(main())
