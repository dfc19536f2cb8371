"""Argument groups shared by the CLIs (evaluate.py, predict.py, build_repository.py,
the benchmarks), so a flag means the same thing, with the same default, in every command."""

from __future__ import annotations

import argparse

from hiercls.runtime.long_text import DEFAULT_POOL, DEFAULT_STRIDE, POOLS, LongText

DEVICES = ("cpu", "gpu", "xpu", "npu")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """``--help`` keeps the docstring's examples as written and names every flag's
    default (argparse's ArgumentDefaultsHelpFormatter would also print "default:
    None" and "default: False" for flags whose help already says what happens)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (
            "default" in text.lower()
            or action.default in (None, False, argparse.SUPPRESS)
            or not action.option_strings
            or isinstance(action, argparse._StoreConstAction)
        ):
            return text
        return text + " (default: %(default)s)"


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
    add_long_text_args(p, "Score a longer text as up to this many overlapping windows and pool them (0: truncate).")


def add_long_text_args(p: argparse.ArgumentParser, windows_help: str) -> None:
    """--long_text_windows/--long_text_stride/--long_text_pool, with one set of
    defaults for evaluate.py, predict.py and build_repository.py."""
    lt = p.add_argument_group("long texts (off by default: texts are truncated to max_seq_length)")
    lt.add_argument("--long_text_windows", type=int, default=0, help=windows_help)
    lt.add_argument(
        "--long_text_stride", type=int, default=DEFAULT_STRIDE, help="Tokens shared by consecutive windows."
    )
    lt.add_argument(
        "--long_text_pool", default=DEFAULT_POOL, choices=POOLS, help="How window probabilities are combined per label."
    )


def add_batching_args(g: argparse._ActionsContainer) -> None:
    """The model repository's batching and instance flags. Defaults are RepositorySpec's
    (hiercls.repository.triton_config), and each flag stores under its field's name, so that
    ``spec_fields(vars(args))`` is the spec's overrides."""
    from hiercls.repository.triton_config import spec_defaults

    d = spec_defaults()
    g.add_argument("--max_batch_size", type=int, default=d["max_batch_size"], help="Largest batch any model accepts.")
    g.add_argument(
        "--preferred_batch_size",
        dest="preferred_batch_sizes",
        metavar="SIZE",
        type=int,
        nargs="+",
        default=list(d["preferred_batch_sizes"]),
        help="Batch sizes the dynamic batcher aims for.",
    )
    g.add_argument(
        "--max_queue_delay_us",
        dest="max_queue_delay_microseconds",
        metavar="US",
        type=int,
        default=d["max_queue_delay_microseconds"],
        help="How long the batcher waits to fill a batch.",
    )
    g.add_argument("--model_instances", type=int, default=d["model_instances"], help="Instances of the model step.")
    g.add_argument(
        "--intra_op_threads",
        dest="intra_op_num_threads",
        metavar="THREADS",
        type=int,
        default=d["intra_op_num_threads"],
        help="cpu target: onnxruntime threads per model call (0 = all cores in one call).",
    )


def long_text_from_args(args: argparse.Namespace):
    """The ``LongText`` options of the flags above, or None when windows are off."""
    if not args.long_text_windows:
        return None
    return LongText(args.long_text_windows, args.long_text_stride, args.long_text_pool)
