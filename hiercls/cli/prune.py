"""DynaBERT width pruning of a fine-tuned checkpoint (PaddleSlim OFA), PaddleNLP-compatible flags.

The checkpoint of training/train.py's example (2 heads, so 1/2 is the width that fits):

    .venv/bin/python training/prune.py --params_dir checkpoint --dataset_dir data/sample \\
        --output_dir build/prune --width_mult 1/2 --num_train_epochs 3 --learning_rate 1e-3

PaddleNLP's documented command (applications/text_classification/hierarchical) runs as
it is, in a folder laid out as PaddleNLP's (./data, ./checkpoint):

    python training/prune.py \\
        --device "cpu" \\
        --output_dir "./prune" \\
        --per_device_train_batch_size 32 \\
        --per_device_eval_batch_size 32 \\
        --learning_rate 3e-5 \\
        --num_train_epochs 10 \\
        --logging_steps 5 \\
        --save_steps 50 \\
        --seed 3 \\
        --dataset_dir "data" \\
        --max_seq_length 128 \\
        --params_dir "./checkpoint" \\
        --width_mult '2/3'

and so does its newer spelling, several widths at once: --width_mult_list '3/4' '2/3' '1/2'.

Distils every width from the checkpoint (the teacher) and writes, per width W,
output_dir/checkpoints/width_mult_W (a checkpoint) and output_dir/width_mult_W (an
export folder: static graph + model.onnx, ready for builders/build_repository.py and
builders/quantize_model.py). A width must keep whole attention heads (12 heads: 3/4,
2/3, 1/2 ...); one that does not is refused from config.json before anything is loaded.
``hiercls-prune`` is the same command.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from hiercls.cli.args import DEVICES, HelpFormatter
from hiercls.training.config import DEFAULT_WIDTH, PruneConfig

D = PruneConfig  # the defaults, once


def width_mult(text: str) -> float:
    from hiercls.compression.pruning import parse_width_mult

    try:
        return parse_width_mult(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    data = p.add_argument_group("data")
    data.add_argument("--dataset_dir", required=True, help="Folder with train.txt, dev.txt and label.txt.")
    data.add_argument(
        "--max_seq_length", type=int, default=D.max_seq_length, help="Longest token sequence; longer texts are cut."
    )
    model = p.add_argument_group("model")
    model.add_argument(
        "--params_dir",
        default=f"./{D.params_dir}",
        help="Fine-tuned checkpoint to prune, written by training/train.py (default: ./checkpoint).",
    )
    widths = model.add_mutually_exclusive_group()
    widths.add_argument(
        "--width_mult",
        type=width_mult,
        nargs="+",
        default=None,
        help="Share of heads and FFN neurons to keep: 3/4, 2/3, 1/2 or 0.75 ... (default: 2/3).",
    )
    widths.add_argument(
        "--width_mult_list",
        type=width_mult,
        nargs="+",
        default=None,
        help="Several widths trained together, as newer PaddleNLP spells it: '3/4' '2/3' '1/2'.",
    )
    opt = p.add_argument_group("optimisation")
    opt.add_argument(
        "--device",
        default=D.device,
        choices=DEVICES,
        help="Device to train on (default: gpu if Paddle has CUDA, else cpu).",
    )
    opt.add_argument(
        "--per_device_train_batch_size", type=int, default=D.train_batch_size, help="Texts per training step."
    )
    opt.add_argument(
        "--per_device_eval_batch_size", type=int, default=D.eval_batch_size, help="Texts per evaluation batch."
    )
    opt.add_argument(
        "--learning_rate", type=float, default=D.learning_rate, help="Peak learning rate of AdamW (linear decay)."
    )
    opt.add_argument("--num_train_epochs", type=int, default=D.epochs, help="Passes over train.txt.")
    opt.add_argument(
        "--importance_batches",
        type=int,
        default=D.importance_batches,
        help="Training batches used to score heads and neurons.",
    )
    opt.add_argument("--seed", type=int, default=D.seed, help="Random seed.")
    out = p.add_argument_group("output")
    out.add_argument(
        "--output_dir",
        required=True,
        help="Where checkpoints/ and one export folder per width go (required, as in PaddleNLP).",
    )
    out.add_argument("--logging_steps", type=int, default=D.logging_steps, help="Log loss and rate every N steps.")
    out.add_argument(
        "--save_steps",
        type=int,
        default=D.save_steps,
        help="Evaluate every width on dev every N steps (and after each epoch).",
    )
    return p


def prune_config(args: argparse.Namespace) -> PruneConfig:
    """The flags as a PruneConfig: either width spelling, and PaddleNLP 2.3's
    --params_dir naming the weights file inside the checkpoint."""
    params = Path(args.params_dir)
    return PruneConfig(
        output_dir=Path(args.output_dir),
        params_dir=params.parent if params.is_file() else params,
        width_mult=args.width_mult or args.width_mult_list or [DEFAULT_WIDTH],
        max_seq_length=args.max_seq_length,
        device=args.device,
        train_batch_size=args.per_device_train_batch_size,
        eval_batch_size=args.per_device_eval_batch_size,
        learning_rate=args.learning_rate,
        epochs=args.num_train_epochs,
        importance_batches=args.importance_batches,
        seed=args.seed,
        logging_steps=args.logging_steps,
        save_steps=args.save_steps,
    )


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    counts = vars(args)
    for flag in (
        "per_device_train_batch_size",
        "per_device_eval_batch_size",
        "num_train_epochs",
        "save_steps",
        "logging_steps",
        "importance_batches",
    ):
        if counts[flag] < 1:
            parser.error(f"--{flag} must be at least 1")
    config = prune_config(args)

    from hiercls.compression.pruning import check_widths

    try:
        check_widths(config.params_dir, config.width_mult)  # config.json only: nothing loaded yet
    except ValueError as e:
        # One line, no usage text: the fix is in the message.
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None

    from hiercls.compression import dynabert

    summary = dynabert.prune_from_files(config, args.dataset_dir)
    print(json.dumps({k: v for k, v in summary.items() if k != "history"}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    sys.exit(main())
