"""Send texts to the seqcls ensemble over gRPC and print label paths with confidences.

python clients/seqcls_grpc_client.py --url localhost:8001 --texts "某公司宣布裁员" "球队夺冠"
python clients/seqcls_grpc_client.py --data_file data/sample/data.txt --output results.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    p.add_argument("--output", default=None, help="Also write one JSON object per text to this file.")
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    from hiercls.client import SeqClsClient
    from hiercls.data import read_texts
    from hiercls.runtime.io import atomic_write_text

    texts = args.texts if args.texts else read_texts(args.data_file)
    with SeqClsClient(args.url, args.model_name) as client:
        t0 = time.perf_counter()
        predictions = client.predict(texts, args.batch_size)
        elapsed = time.perf_counter() - t0
    for p in predictions:
        shown = ", ".join(f"{label} ({c:.3f})" for label, c in zip(p.labels, p.confidences)) or "(no label)"
        print(f"{p.text}\t{shown}")
    print(f"{len(texts)} texts in {elapsed:.2f}s ({len(texts) / elapsed:.1f} texts/s)", file=sys.stderr)
    if args.output:
        atomic_write_text(args.output, "".join(json.dumps(p.as_dict(), ensure_ascii=False) + "\n" for p in predictions))


if __name__ == "__main__":
    main()
