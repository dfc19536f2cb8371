"""Argument groups shared by the prediction-side CLIs (evaluate.py, predict.py), so a
flag means the same thing, with the same default, in every command."""

from __future__ import annotations

import argparse

DEVICES = ("cpu", "gpu", "xpu", "npu")


def add_predictor_args(p: argparse.ArgumentParser) -> None:
    m = p.add_argument_group("model")
    m.add_argument("--params_path", default="./checkpoint", help="Checkpoint folder (paddle) or export folder (onnx).")
    m.add_argument(
        "--backend",
        default="paddle",
        choices=["paddle", "onnx"],
        help="Run the Paddle checkpoint or the exported ONNX model.",
    )
    m.add_argument("--device", default=None, choices=DEVICES, help="Paddle device (default: gpu if available).")
    m.add_argument(
        "--max_seq_length", type=int, default=None, help="Longest token sequence (default: the training one)."
    )
    m.add_argument("--batch_size", type=int, default=32, help="Texts per batch (batches are length-sorted).")
    d = p.add_argument_group("decoding")
    d.add_argument(
        "--threshold", type=float, default=None, help="One threshold for every label, overriding thresholds.json."
    )
    d.add_argument("--decoder", default=None, choices=["closure", "topdown"], help="Override the decoder tuned on dev.")
