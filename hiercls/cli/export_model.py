"""Export a trained checkpoint to a static graph and ONNX, checking ONNX against Paddle.

    .venv/bin/python builders/export_model.py --params_path checkpoint --output_path export

``hiercls-export`` is the same command.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from hiercls.cli.args import HelpFormatter


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--params_path", default="./checkpoint", help="Checkpoint directory written by training/train.py.")
    p.add_argument("--output_path", default="./export", help="Export directory to (re)write.")
    p.add_argument("--max_seq_length", type=int, default=None, help="Serving max length (default: the training one).")
    p.add_argument("--opset_version", type=int, default=13, help="ONNX opset.")
    p.add_argument(
        "--parity_file",
        default=None,
        help="Texts (one per line) for the ONNX-vs-Paddle check; default: dev samples saved at training.",
    )
    p.add_argument("--parity_tolerance", type=float, default=1e-3, help="Largest allowed |logit difference|.")
    p.add_argument(
        "--optimize_graph",
        action="store_true",
        help="Apply onnxruntime's transformer optimizer (fusions) before the parity check. Off by default: on "
        "2-core CPUs it measured no faster than onnxruntime's own session-time fusions (benchmarks/README.md).",
    )
    return p


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    from hiercls.data.reading import read_texts
    from hiercls.export.onnx import export_checkpoint

    texts = read_texts(args.parity_file) if args.parity_file else None
    meta = export_checkpoint(
        args.params_path,
        args.output_path,
        args.max_seq_length,
        args.opset_version,
        texts,
        args.parity_tolerance,
        optimize=args.optimize_graph,
    )
    print(json.dumps(meta, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    sys.exit(main())
