"""Build an fp16 or int8 variant of an export folder, refused unless it keeps dev quality.

    .venv/bin/python builders/quantize_model.py --export_dir export --precision int8 \\
        --output_path build/export_int8 --dataset_dir data/sample

Converts model.onnx (fp16: onnxruntime's float16 converter with fp32 inputs/outputs,
for the GPU target; int8: onnxruntime dynamic quantization, for CPUs), evaluates it
and the fp32 model on dev, and writes output_path (an export folder the repository
builder takes) only when micro F1 drops by at most --max_f1_drop points and no logit
is NaN/inf. Otherwise it exits with status 1 and says why. ``hiercls-quantize`` is the
same command.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from hiercls.cli.args import HelpFormatter

EXIT_REFUSED = 1


def build_parser() -> argparse.ArgumentParser:
    from hiercls.compression.variants import PRECISIONS
    from hiercls.runtime.artifacts import DEV_FILE

    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--export_dir", default="./export", help="fp32 export folder (builders/export_model.py, prune.py).")
    p.add_argument("--precision", required=True, choices=PRECISIONS, help="Precision of the variant to build.")
    p.add_argument("--output_path", required=True, help="Export folder to (re)write with the variant.")
    p.add_argument(
        "--keep_fp32",
        default="",
        help="int8 only: comma-separated matmuls to leave in fp32, by layer and role: '0' (all of layer 0), "
        "'0.ffn2' (roles q, k, v, o, ffn1, ffn2), 'head' (pooler and classifier). Choose them on dev: each "
        "one costs CPU time (benchmarks/quality/README.md).",
    )
    gate = p.add_argument_group("quality gate")
    gate.add_argument("--dataset_dir", required=True, help="Folder whose dev file the gate evaluates on.")
    gate.add_argument("--dev_file", default=DEV_FILE, help="Dev file inside dataset_dir.")
    gate.add_argument(
        "--max_f1_drop", type=float, default=0.3, help="Largest allowed drop of dev micro F1, in points (0-100)."
    )
    gate.add_argument("--batch_size", type=int, default=32, help="Texts per onnxruntime call while evaluating.")
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    from hiercls.compression.variants import GateError, build_variant, dev_set

    keep_fp32 = [s for s in args.keep_fp32.split(",") if s.strip()]
    texts, y_true = dev_set(args.dataset_dir, args.export_dir, args.dev_file)
    try:
        meta = build_variant(
            args.export_dir,
            args.output_path,
            args.precision,
            texts,
            y_true,
            args.max_f1_drop,
            args.batch_size,
            keep_fp32=keep_fp32,
        )
    except ValueError as e:
        build_parser().error(str(e))
    except GateError as e:
        logging.error("%s; %s not written", e, args.output_path)
        return EXIT_REFUSED
    print(json.dumps(meta["gate"], ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
