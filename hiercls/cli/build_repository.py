"""Build the Triton model repository (ensemble seqcls = tokenizer -> seqcls_model ->
seqcls_postprocess) from an export folder. Every config.pbtxt is generated.

    .venv/bin/python builders/build_repository.py --export_dir export --output_dir model_repository --target cpu

``hiercls-build-repository`` is the same command.
"""

from __future__ import annotations

import argparse
import logging
import sys

DEFAULT_OUTPUT = "model_repository"


def build_parser() -> argparse.ArgumentParser:
    from hiercls.cli.args import HelpFormatter, add_batching_args, add_long_text_args
    from hiercls.repository.triton_config import RUNTIMES, TARGETS, spec_defaults
    from hiercls.runtime.decoding import DECODERS

    # Every serving default is RepositorySpec's; flags store under its field names.
    d = spec_defaults()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--export_dir", default="./export", help="Folder written by builders/export_model.py.")
    p.add_argument("--output_dir", default=DEFAULT_OUTPUT, help="Model repository to (re)write.")
    p.add_argument(
        "--target",
        default=d["target"],
        choices=TARGETS,
        help="cpu: model step in the Python backend (onnxruntime); gpu: NGC onnxruntime backend.",
    )
    p.add_argument(
        "--runtime",
        default=d["runtime"],
        choices=RUNTIMES,
        help="cpu target: run model.onnx on onnxruntime, or the static graph (inference.json) on Paddle Inference.",
    )
    p.add_argument("--model_name", dest="name", default=d["name"], help="Ensemble name; steps are named after it.")
    s = p.add_argument_group("serving")
    add_batching_args(s)
    s.add_argument(
        "--model_workers",
        type=int,
        default=d["model_workers"],
        help="cpu target: length buckets run at once per instance (0 = cores / intra_op_threads).",
    )
    s.add_argument(
        "--bucket_call_overhead_tokens",
        type=int,
        default=d["bucket_call_overhead_tokens"],
        help="cpu target: cost of one model call in padded tokens, for splitting a batch into length buckets "
        "(default %(default)s; larger means fewer, wider sub-batches).",
    )
    s.add_argument("--max_seq_length", type=int, default=None, help="Override the export's max length.")
    s.add_argument(
        "--max_text_chars",
        type=int,
        default=d["max_text_chars"],
        help="Refuse texts longer than this many characters (default %(default)s).",
    )
    s.add_argument(
        "--decoder",
        default=None,
        choices=DECODERS,
        help="Hierarchy decoding in the postprocess (default: the one tuned on dev).",
    )
    s.add_argument(
        "--paddle_mkldnn",
        action="store_true",
        help="runtime paddle: oneDNN kernels (off: Paddle's native CPU kernels).",
    )
    s.add_argument("--no_warmup", dest="warmup", action="store_false", help="Skip model warm-up at load.")
    s.add_argument("--tensorrt_fp16", action="store_true", help="gpu target: TensorRT execution accelerator in FP16.")
    add_long_text_args(
        p, "Tokenizer emits up to this many overlapping windows per longer text; the postprocess pools them."
    )
    return p


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    from hiercls.repository.build import build_repository, spec_from_export
    from hiercls.repository.triton_config import spec_fields

    # The flags are the spec's fields; None (max_seq_length, decoder) keeps the export's.
    spec = spec_from_export(args.export_dir, **spec_fields(vars(args)))
    models = build_repository(args.export_dir, args.output_dir, spec)
    logging.info("built %s target repository %s: %s", spec.target, args.output_dir, ", ".join(models))


if __name__ == "__main__":
    sys.exit(main())
