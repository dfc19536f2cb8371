"""Send texts to the seqcls ensemble over gRPC and print label paths with confidences.

    .venv/bin/python clients/seqcls_grpc_client.py --url localhost:8001 --texts "某公司宣布裁员" "球队夺冠"
    .venv/bin/python clients/seqcls_grpc_client.py --data_file data/sample/data.txt --output build/predictions.jsonl

against a running server (hiercls-serve). ``hiercls-client`` is the same command.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from hiercls.cli.args import HelpFormatter
from hiercls.cli.errors import prog, run_main


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument(
        "--url",
        default=os.environ.get("HIERCLS_GRPC_URL", "localhost:8001"),
        help="Triton gRPC address (default: $HIERCLS_GRPC_URL or localhost:8001).",
    )
    p.add_argument("--model_name", default="seqcls", help="Ensemble to call.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--texts", nargs="+", help="Texts to classify.")
    src.add_argument("--data_file", help="A file with one text per line (data.txt; labelled lines keep the text).")
    p.add_argument(
        "--batch_size", type=int, default=32, help="Texts per request (capped at the server's max_batch_size)."
    )
    p.add_argument(
        "--output", default=None, help="Also write one JSON object per text to this file (kept if the run stops)."
    )
    p.add_argument("--retries", type=int, default=3, help="Retries, with backoff, while the server is UNAVAILABLE.")
    return p


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from hiercls.client import SeqClsClient
    from hiercls.data.reading import read_texts

    texts = args.texts if args.texts else read_texts(args.data_file)
    out = Path(args.output) if args.output else None
    # Predictions go to a hidden file as they arrive, renamed to --output at the end,
    # also when the run is cut off: what was answered is kept.
    partial = out.with_name(f".{out.name}.partial") if out else None
    written = 0
    sink = None
    try:
        with SeqClsClient(args.url, args.model_name, retries=args.retries) as client:
            if partial is not None:
                partial.parent.mkdir(parents=True, exist_ok=True)
                sink = open(partial, "w", encoding="utf-8")
            t0 = time.perf_counter()
            for chunk in client.iter_predict(texts, args.batch_size):
                for p in chunk:
                    shown = ", ".join(f"{label} ({c:.3f})" for label, c in zip(p.labels, p.confidences)) or "(no label)"
                    print(f"{p.text}\t{shown}", flush=True)
                    if sink is not None:
                        sink.write(json.dumps(p.as_dict(), ensure_ascii=False) + "\n")
                if sink is not None:
                    sink.flush()
                written += len(chunk)
            elapsed = time.perf_counter() - t0
        print(f"{len(texts)} texts in {elapsed:.2f}s ({len(texts) / elapsed:.1f} texts/s)", file=sys.stderr)
    finally:
        if sink is not None:
            sink.close()
            os.replace(partial, out)
            if written < len(texts):
                print(f"wrote {written} of {len(texts)} predictions to {out}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: expected errors end in one line, not a traceback."""
    return run_main(lambda: run(argv), prog())


if __name__ == "__main__":
    sys.exit(main())
