"""CPU latency per text at batch 32 of exported models (onnxruntime, the model step
only), on the same random dev texts, models interleaved round by round so that
background load is shared out evenly.

    python benchmarks/quality/cpu_latency.py --dataset_dir ../shared/data/duee_hier \
        --export e5-12=build/e5_gpu/export --export e5-6=build/duee_e5_6l/export
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.common import interleaved_ms_per_item, machine_info, machine_line, onnx_batches_runner  # noqa: E402

logger = logging.getLogger("cpu_latency")


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset_dir", required=True, help="Data set whose dev.txt supplies the texts.")
    ap.add_argument("--export", action="append", required=True, help="NAME=EXPORT_DIR, repeatable.")
    ap.add_argument("--batch_size", type=int, default=32)
    ap.add_argument("--batches", type=int, default=8, help="Batches per round.")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads.")
    ap.add_argument("--output", default="build/quality/cpu_latency.json")
    args = ap.parse_args(argv)

    from hiercls.data import read_examples
    from hiercls.predictor import OnnxPredictor
    from hiercls.runtime.artifacts import DEV_FILE, LABEL_FILE, ONNX_FILE
    from hiercls.runtime.hierarchy import LabelHierarchy

    data = Path(args.dataset_dir)
    texts = [e.text for e in read_examples(data / DEV_FILE, LabelHierarchy.from_file(data / LABEL_FILE))]
    rng = np.random.default_rng(0)
    picks = rng.choice(len(texts), size=args.batch_size * args.batches, replace=False)
    models = {}
    for spec in args.export:
        name, sep, path = spec.partition("=")
        if not sep:
            ap.error(f"--export wants NAME=EXPORT_DIR, got {spec!r}")
        predictor = OnnxPredictor(path, threads=args.threads)
        batches = [
            predictor.encoder.encode([texts[i] for i in picks[b * args.batch_size : (b + 1) * args.batch_size]])
            for b in range(args.batches)
        ]
        onnx_batches_runner(predictor.session, batches[:2])()  # warm-up
        models[name] = (predictor.session, batches, Path(path))
    per_text = interleaved_ms_per_item(
        {name: onnx_batches_runner(session, batches) for name, (session, batches, _) in models.items()},
        args.rounds,
        args.batch_size * args.batches,
        lambda done: logger.info("round %d/%d", done, args.rounds),
    )
    result = {
        "machine": machine_info(),
        "command": " ".join(sys.argv),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "batch_size": args.batch_size,
        "threads": args.threads,
        "models": {
            name: {
                "export": str(path),
                "ms_per_text_median": round(float(np.median(per_text[name])), 2),
                "ms_per_text_min": round(float(np.min(per_text[name])), 2),
                "ms_per_text_max": round(float(np.max(per_text[name])), 2),
                "onnx_mb": round((path / ONNX_FILE).stat().st_size / 2**20, 1),
                "padded_length_mean": float(np.mean([ids.shape[1] for ids, _ in batches])),
            }
            for name, (_, batches, path) in models.items()
        },
    }
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(machine_line(result["machine"]))
    for name, r in result["models"].items():
        print(f"{name}: {r['ms_per_text_median']} ms/text (min {r['ms_per_text_min']}, max {r['ms_per_text_max']})")


if __name__ == "__main__":
    main()
