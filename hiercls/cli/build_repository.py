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
    from hiercls.cli.args import HelpFormatter, add_long_text_args
    from hiercls.runtime.decoding import DECODERS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--export_dir", default="./export", help="Folder written by builders/export_model.py.")
    p.add_argument("--output_dir", default=DEFAULT_OUTPUT, help="Model repository to (re)write.")
    p.add_argument(
        "--target",
        default="cpu",
        choices=["cpu", "gpu"],
        help="cpu: model step in the Python backend (onnxruntime); gpu: NGC onnxruntime backend.",
    )
    p.add_argument(
        "--runtime",
        default="onnx",
        choices=["onnx", "paddle"],
        help="cpu target: run model.onnx on onnxruntime, or the static graph (inference.json) on Paddle Inference.",
    )
    p.add_argument("--model_name", default="seqcls", help="Ensemble name; steps are named after it.")
    s = p.add_argument_group("serving")
    s.add_argument("--max_batch_size", type=int, default=64, help="Largest batch any model accepts.")
    s.add_argument(
        "--preferred_batch_size",
        type=int,
        nargs="+",
        default=[16, 32, 64],
        help="Batch sizes the dynamic batcher aims for.",
    )
    s.add_argument("--max_queue_delay_us", type=int, default=2000, help="How long the batcher waits to fill a batch.")
    s.add_argument("--model_instances", type=int, default=1, help="Instances of the model step.")
    s.add_argument(
        "--intra_op_threads",
        type=int,
        default=1,
        help="cpu target: onnxruntime threads per model call (0 = all cores in one call).",
    )
    s.add_argument(
        "--model_workers",
        type=int,
        default=0,
        help="cpu target: length buckets run at once per instance (0 = cores / intra_op_threads).",
    )
    s.add_argument(
        "--bucket_call_overhead_tokens",
        type=int,
        default=None,
        help="cpu target: cost of one model call in padded tokens, for splitting a batch into length buckets "
        "(default 32; larger means fewer, wider sub-batches).",
    )
    s.add_argument("--max_seq_length", type=int, default=None, help="Override the export's max length.")
    s.add_argument(
        "--max_text_chars",
        type=int,
        default=None,
        help="Refuse texts longer than this many characters (default 20000).",
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
    s.add_argument("--no_warmup", action="store_true", help="Skip model warm-up at load.")
    s.add_argument("--tensorrt_fp16", action="store_true", help="gpu target: TensorRT execution accelerator in FP16.")
    add_long_text_args(
        p, "Tokenizer emits up to this many overlapping windows per longer text; the postprocess pools them."
    )
    return p


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    from hiercls.repository.build import build_repository, spec_from_export

    spec = spec_from_export(
        args.export_dir,
        name=args.model_name,
        target=args.target,
        runtime=args.runtime,
        paddle_mkldnn=args.paddle_mkldnn,
        max_batch_size=args.max_batch_size,
        preferred_batch_sizes=tuple(args.preferred_batch_size),
        max_queue_delay_microseconds=args.max_queue_delay_us,
        model_instances=args.model_instances,
        intra_op_num_threads=args.intra_op_threads,
        model_workers=args.model_workers,
        max_seq_length=args.max_seq_length,
        max_text_chars=args.max_text_chars,
        bucket_call_overhead_tokens=args.bucket_call_overhead_tokens,
        decoder=args.decoder,
        warmup=not args.no_warmup,
        long_text_windows=args.long_text_windows,
        long_text_stride=args.long_text_stride,
        long_text_pool=args.long_text_pool,
        tensorrt_fp16=args.tensorrt_fp16,
    )
    models = build_repository(args.export_dir, args.output_dir, spec)
    logging.info("built %s target repository %s: %s", spec.target, args.output_dir, ", ".join(models))


if __name__ == "__main__":
    sys.exit(main())
