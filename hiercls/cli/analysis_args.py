"""Argument groups shared by the training/analysis/ commands.

The experiments train models with ``hiercls.training.train.train``; these groups expose
the recipe flags worth changing and ``train_config`` maps them onto a TrainConfig
(whose defaults fill the rest).
"""

from __future__ import annotations

import argparse
import shlex
import sys

from hiercls.analysis.experiments import EVAL_THRESHOLDS
from hiercls.cli.args import DEVICES
from hiercls.runtime.artifacts import DEV_FILE, LABEL_FILE, TRAIN_FILE
from hiercls.training.config import TrainConfig


def add_data_args(p: argparse.ArgumentParser, train: bool = True, dev: bool = True) -> argparse._ArgumentGroup:
    g = p.add_argument_group("data")
    g.add_argument("--dataset_dir", required=True, help="Folder with train.txt, dev.txt, label.txt (PaddleNLP layout).")
    if train:
        g.add_argument("--train_file", default=TRAIN_FILE, help="Training file inside dataset_dir.")
    if dev:
        g.add_argument("--dev_file", default=DEV_FILE, help="Dev file inside dataset_dir.")
    g.add_argument("--label_file", default=LABEL_FILE, help="Label file inside dataset_dir.")
    return g


def add_checkpoint_args(p: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    g = p.add_argument_group("model")
    g.add_argument("--params_path", required=True, help="Checkpoint directory written by training/train.py.")
    g.add_argument("--device", default=None, choices=DEVICES, help="Paddle device (default: gpu if available).")
    g.add_argument("--batch_size", type=int, default=64, help="Texts per forward pass.")
    g.add_argument(
        "--max_seq_length", type=int, default=None, help="Longest token sequence (default: the checkpoint's)."
    )
    return g


def add_train_args(
    p: argparse.ArgumentParser,
    title: str = "training recipe of every retrained model",
    device: bool = True,
    seed: bool = True,
) -> None:
    """Training flags; ``device`` and ``seed`` are left out where the command already has them."""
    g = p.add_argument_group(title)
    g.add_argument(
        "--model_name", default="hiercls-tiny", help="PaddleNLP name, local directory, or a shape with --from_scratch."
    )
    g.add_argument("--from_scratch", action="store_true", help="Random weights of that shape, vocabulary from train.")
    g.add_argument("--epochs", type=int, default=10, help="Passes over each training set.")
    g.add_argument("--train_batch_size", type=int, default=16, help="Texts per training step.")
    g.add_argument("--learning_rate", type=float, default=3e-3, help="Peak learning rate of AdamW.")
    g.add_argument("--warmup_steps", type=int, default=20, help="Linear warm-up steps (0: none).")
    g.add_argument(
        "--train_max_seq_length",
        type=int,
        default=TrainConfig.max_seq_length,
        help="Longest token sequence in training.",
    )
    if device:
        g.add_argument("--device", default=None, choices=DEVICES, help="Paddle device (default: gpu if available).")
    g.add_argument(
        "--eval_thresholds",
        default="default",
        choices=EVAL_THRESHOLDS,
        help="Score arms at 0.5 + closure (default) or with each checkpoint's tuned thresholds.",
    )
    if seed:
        g.add_argument("--seed", type=int, default=3, help="Seed of the training runs and of every random choice.")


def train_config(args: argparse.Namespace) -> TrainConfig:
    """The recipe of every model an experiment trains (save_dir is set per run)."""
    return TrainConfig(
        model_name=args.model_name,
        from_scratch=args.from_scratch,
        epochs=args.epochs,
        batch_size=args.train_batch_size,
        learning_rate=args.learning_rate,
        warmup_steps=args.warmup_steps,
        max_seq_length=args.train_max_seq_length,
        device=args.device,
        seed=args.seed,
        logging_steps=10**9,  # one log line per epoch: the experiments train several models
    )


def set_device(args: argparse.Namespace) -> None:
    """Resolve ``--device`` (None: gpu when Paddle has one) and make it Paddle's."""
    import paddle

    from hiercls.modeling.inference import default_device

    args.device = args.device or default_device()
    paddle.set_device(args.device)


def command_line() -> str:
    """How this process was started, for the reports."""
    return shlex.join(["python", *sys.argv])


def add_eval_output_args(p: argparse.ArgumentParser, name: str) -> argparse._ArgumentGroup:
    """The output flags every ``evaluate`` sub-command shares; ``name`` is the analysis."""
    out = p.add_argument_group("output")
    out.add_argument("--work_dir", default=f"build/analysis/{name}_eval", help="Training files and checkpoints.")
    out.add_argument("--results_dir", default="build/analysis/results", help=f"{name}.md, {name}.json and {name}.png.")
    out.add_argument("--batch_size", type=int, default=64, help="Texts per forward pass when encoding.")
    return out


def check_positive(parser: argparse.ArgumentParser, args: argparse.Namespace, *names: str) -> None:
    values = vars(args)
    for name in names:
        value = values.get(name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be positive, got {value}")
