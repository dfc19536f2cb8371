"""DynaBERT width pruning of a fine-tuned checkpoint (PaddleSlim OFA), PaddleNLP-compatible flags.

    python training/prune.py --params_dir checkpoint --dataset_dir data/sample \
        --output_dir build/prune --width_mult 1/2 --num_train_epochs 3 --learning_rate 1e-3

Distils every width from the checkpoint (the teacher) and writes, per width W,
output_dir/checkpoints/width_mult_W (a checkpoint) and output_dir/width_mult_W (an
export folder: static graph + model.onnx, ready for builders/build_repository.py and
builders/quantize_model.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hiercls.cli_args import DEVICES  # noqa: E402


def width_mult(text: str) -> float:
    from hiercls.compression.pruning import parse_width_mult

    try:
        return parse_width_mult(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = p.add_argument_group("data")
    data.add_argument("--dataset_dir", required=True, help="Folder with train.txt, dev.txt and label.txt.")
    data.add_argument("--max_seq_length", type=int, default=128, help="Longest token sequence; longer texts are cut.")
    model = p.add_argument_group("model")
    model.add_argument(
        "--params_dir", required=True, help="Fine-tuned checkpoint to prune (written by training/train.py)."
    )
    model.add_argument(
        "--width_mult",
        type=width_mult,
        nargs="+",
        default=[width_mult("3/4")],
        help="Widths to keep, as fractions of heads and FFN neurons (3/4 2/3 1/2 or 0.75 ...).",
    )
    opt = p.add_argument_group("optimisation")
    opt.add_argument(
        "--device",
        default=None,
        choices=DEVICES,
        help="Device to train on (default: gpu if Paddle has CUDA, else cpu).",
    )
    opt.add_argument("--per_device_train_batch_size", type=int, default=32, help="Texts per training step.")
    opt.add_argument("--per_device_eval_batch_size", type=int, default=32, help="Texts per evaluation batch.")
    opt.add_argument("--learning_rate", type=float, default=3e-5, help="Peak learning rate of AdamW (linear decay).")
    opt.add_argument("--num_train_epochs", type=int, default=1, help="Passes over train.txt.")
    opt.add_argument(
        "--importance_batches", type=int, default=32, help="Training batches used to score heads and neurons."
    )
    opt.add_argument("--seed", type=int, default=3, help="Random seed.")
    out = p.add_argument_group("output")
    out.add_argument(
        "--output_dir", default="build/prune", help="Where checkpoints/ and one export folder per width go."
    )
    out.add_argument("--logging_steps", type=int, default=5, help="Log loss and rate every N steps.")
    out.add_argument(
        "--save_steps", type=int, default=100, help="Evaluate every width on dev every N steps (and after each epoch)."
    )
    return p


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    for flag in (
        "per_device_train_batch_size",
        "per_device_eval_batch_size",
        "num_train_epochs",
        "save_steps",
        "logging_steps",
        "importance_batches",
    ):
        if getattr(args, flag) < 1:
            build_parser().error(f"--{flag} must be at least 1")
    from hiercls.compression.dynabert import prune

    summary = prune(args)
    print(json.dumps({k: v for k, v in summary.items() if k != "history"}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
