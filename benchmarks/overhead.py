"""Where the time goes: Triton end to end against the same model.onnx run by bare
onnxruntime on the same batches, the server-side breakdown, and each step alone.

    python -m benchmarks.overhead --shape ernie-3.0-nano-zh --data /work/shared/data/duee_hier/dev.txt

1. Overhead ratio. For each batch (``--batch_size`` texts drawn from ``--data``),
   interleaved so that background load hits both alike: one gRPC request to the
   ensemble (client-measured, one request in flight, so no queueing), and one
   bare-onnxruntime run of the same computation the server's model step does on
   the very arrays it gets (same tokenizer.json, max length, padding; the same
   length buckets; same model.onnx; same intra/inter-op threads). Ratio = Triton
   end-to-end time / bare onnxruntime time; goal <= 1.10 at batch 32 on CPU.
2. Breakdown of the Triton time from the statistics endpoint: tokenizer, model,
   postprocess (queue and compute each), the ensemble's own hand-offs, and what is
   left for gRPC and (de)serialisation on the client side.
3. Each step alone, in texts/s: tokenizer (TextEncoder), model (onnxruntime) and
   postprocess (sigmoid + hierarchy decoding + packing the [N, K] outputs), offline
   in this process and as Triton measured them inside the server.

Writes ``<out_dir>/overhead_<shape>.md`` (and a JSON with every number under build/bench/runs/).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks.common import (
    BENCH_DIR,
    DEFAULT_SHAPE,
    RESULTS_DIR,
    SAMPLE_DATA,
    CpuMeter,
    add_quiet_flags,
    bench_paths,
    command_line,
    cpu_percent,
    load_texts,
    machine_info,
    machine_line,
    make_batches,
    md_table,
    model_stats,
    read_json,
    requested_outputs,
    require_repository,
    shown,
    stats_delta,
    text_input,
    wait_for_quiet,
)

logger = logging.getLogger("overhead")
GOAL = 1.10
SETTLE_S = 0.05


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", default=DEFAULT_SHAPE, help="Benchmark model under build/bench/<shape>/.")
    p.add_argument("--model_repository", default=None, help="Use this repository instead of the shape's.")
    p.add_argument("--data", default=str(SAMPLE_DATA), help="PaddleNLP-format file whose texts are sent.")
    p.add_argument("--batch_size", type=int, default=32, help="Texts per batch.")
    p.add_argument("--batches", type=int, default=40, help="Batches measured (after --warmup).")
    p.add_argument("--warmup", type=int, default=3, help="Unmeasured batches first, both paths.")
    p.add_argument("--component_seconds", type=float, default=3.0, help="Time budget of each step measured alone.")
    p.add_argument("--out_dir", default=str(RESULTS_DIR), help="Where overhead_<name>.md goes.")
    p.add_argument("--name", default=None, help="Report name (default: the shape).")
    add_quiet_flags(p)
    return p


class Offline:
    """The server's three steps, in this process, built from the repository's own files
    and spec so that the model sees byte-identical inputs."""

    def __init__(self, repository: Path) -> None:
        from hiercls.repository.triton_config import RepositorySpec
        from hiercls.runtime.artifacts import ONNX_FILE, SPEC_FILE, TOKENIZER_FILE, version_dir
        from hiercls.runtime.decoding import LabelDecoder
        from hiercls.runtime.onnx_runner import BucketedOnnxRunner
        from hiercls.runtime.tokenization import TextEncoder

        spec = RepositorySpec.from_dict(read_json(repository / SPEC_FILE)["spec"])
        names = spec.names
        self.spec = spec
        self.encoder = TextEncoder(
            version_dir(repository, names.tokenizer) / TOKENIZER_FILE,
            spec.max_seq_length,
            spec.pad_token_id,
            spec.pad_to_multiple_of,
            spec.max_text_chars,
        )
        # What hiercls/serving/backends/onnx_model.py builds from the same spec.
        self.runner = BucketedOnnxRunner(
            version_dir(repository, names.model) / ONNX_FILE,
            spec.pad_token_id,
            spec.intra_op_num_threads,
            spec.model_workers,
            spec.bucket_call_overhead_tokens,
        )
        # As the postprocess loads it: its folder's labels and thresholds, the spec's decoder.
        self.decoding = LabelDecoder.from_folder(version_dir(repository, names.postprocess), spec.decoder)

    def tokenize(self, texts: list[str]):
        return self.encoder.encode(texts)

    def model(self, ids: np.ndarray, types: np.ndarray) -> np.ndarray:
        """The model step's computation: length buckets run as the model step runs them."""
        return self.runner(ids, types)

    def postprocess(self, logits: np.ndarray):
        from hiercls.serving.backends.postprocess import pack_predictions

        probs, pred = self.decoding.decode_logits(logits)
        return pack_predictions(probs, pred, self.decoding.hierarchy)


def triton_request(client, model_name: str, texts: list[str]):
    inp, outputs = text_input(texts), requested_outputs()
    return lambda: client.infer(model_name, [inp], outputs=outputs, client_timeout=120)


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def compare(client, offline: Offline, batches: list[list[str]], warmup: int, model_name: str) -> dict:
    """Interleaved Triton / bare onnxruntime timings on the same batches; the first
    `warmup` batches are run once each way and not measured."""
    names = [*offline.spec.names.all()]
    inputs = [offline.tokenize(b) for b in batches]
    requests = [triton_request(client, model_name, b) for b in batches]
    for i in range(warmup):
        requests[i]()
        offline.model(*inputs[i])
    inputs, requests = inputs[warmup:], requests[warmup:]
    before = model_stats(client, names)
    e2e, ort = [], []
    for i, (request, (ids, types)) in enumerate(zip(requests, inputs)):
        # Alternate which goes first, so neither always runs on a cache the other warmed.
        pair = [("t", request), ("o", lambda ids=ids, types=types: offline.model(ids, types))]
        for tag, fn in pair if i % 2 == 0 else pair[::-1]:
            dt, _ = timed(fn)
            (e2e if tag == "t" else ort).append(dt)
            # The server still does some bookkeeping after the client has its answer
            # (the steps' end timestamps, releasing tensors): let it finish before
            # onnxruntime takes both cores, or the statistics charge that wait to Triton.
            time.sleep(SETTLE_S)
    delta = stats_delta(model_stats(client, names), before)
    widths = [ids.shape[1] for ids, _ in inputs]
    return {"e2e": e2e, "ort": ort, "delta": delta, "widths": widths}


def components(offline: Offline, batches: list[list[str]], seconds: float, ort_times: list[float]) -> dict:
    """texts/s of each step alone, offline."""
    n = len(batches[0])

    def rate(fn, items) -> float:
        done, t0 = 0, time.perf_counter()
        while True:
            for item in items:
                fn(item)
                done += 1
                if time.perf_counter() - t0 >= seconds and done >= len(items):
                    return done * n / (time.perf_counter() - t0)

    logits = [offline.model(*offline.tokenize(b)) for b in batches[:8]]
    return {
        "tokenizer": rate(offline.tokenize, batches),
        "model": n / statistics.mean(ort_times),
        "postprocess": rate(offline.postprocess, logits),
    }


def ms(x: float) -> float:
    return x * 1e3


def report(result: dict, comp: dict, context: dict, args: argparse.Namespace) -> str:
    e2e, ort, d = result["e2e"], result["ort"], result["delta"]
    names = context["names"]
    tok, mod, post, ens = (d[names["tokenizer"]], d[names["model"]], d[names["postprocess"]], d[names["ensemble"]])
    paired = [a / b for a, b in zip(e2e, ort)]
    ratio_median = statistics.median(e2e) / statistics.median(ort)
    ratio_mean = statistics.mean(e2e) / statistics.mean(ort)
    n = len(e2e)

    def per(stats, field) -> float:
        return stats.ns[field] / stats.counts["success"] / 1e6

    def compute(stats) -> float:
        return sum(per(stats, f) for f in ("compute_input", "compute_infer", "compute_output"))

    e2e_ms, ens_ms = ms(statistics.mean(e2e)), per(ens, "success")
    steps_ms = per(tok, "success") + per(mod, "success") + per(post, "success")
    rows = [
        ["tokenizer: queue", per(tok, "queue")],
        ["tokenizer: compute", compute(tok)],
        ["model: queue", per(mod, "queue")],
        ["model: compute input (shm → numpy)", per(mod, "compute_input")],
        ["model: compute infer (pad + onnxruntime)", per(mod, "compute_infer")],
        ["model: compute output", per(mod, "compute_output")],
        ["postprocess: queue", per(post, "queue")],
        ["postprocess: compute", compute(post)],
        ["ensemble hand-offs between steps", ens_ms - steps_ms],
        ["gRPC + client (de)serialisation", e2e_ms - ens_ms],
    ]
    table = [[part, v, 100 * v / e2e_ms] for part, v in rows]
    table.append(["**Triton end to end (client)**", e2e_ms, 100.0])
    table.append(["bare onnxruntime, same batches", ms(statistics.mean(ort)), 100 * ms(statistics.mean(ort)) / e2e_ms])

    # texts per second of compute, as the server measured each step
    server_rate = {
        step: stats.inference_count / (compute(stats) * stats.counts["success"] / 1e3)
        for step, stats in (("tokenizer", tok), ("model", mod), ("postprocess", post))
    }
    comp_rows = [
        [step, comp[step], comp[step] / comp["model"], server_rate[step], server_rate[step] / server_rate["model"]]
        for step in ("tokenizer", "model", "postprocess")
    ]
    spec = context["spec"]
    verdict = "meets" if ratio_median <= GOAL else "misses"
    m = context.get("model") or {}
    model_desc = (
        f"`{m['shape']}` ({m['parameters'] / 1e6:.1f} M parameters, random weights, {m['labels']} labels)"
        if m
        else str(context["repository"])
    )
    return "".join(
        [
            f"# Where the time goes: {context['name']}, batch {args.batch_size}\n\n",
            f"- machine: {machine_line(context['machine'])}\n",
            f"- model: {model_desc}; onnxruntime intra_op_threads {spec['intra_op_num_threads']} "
            f"(0 = one per core), inter_op 1, in the server and here alike\n",
            f"- data: {n} batches of {args.batch_size} texts drawn from `{shown(args.data)}`; padded widths "
            f"(tokens) median {statistics.median(result['widths']):.0f}, max {max(result['widths'])}\n",
            "- one request in flight; Triton and bare onnxruntime alternate batch by batch\n",
            f"- CPU during the timing, % of one core: tritonserver + backends {result['cpu']['server_pct']:.0f}, "
            f"this process (client + bare onnxruntime) {result['cpu']['locust_pct']:.0f}, "
            f"other processes {result['cpu']['other_pct']:.0f}\n",
            f"- command: `{command_line(__file__)}`\n\n",
            "## Overhead ratio (Triton end to end / bare onnxruntime)\n\n",
            md_table(
                ["", "Triton end to end", "bare onnxruntime", "ratio"],
                [
                    ["median ms per batch", ms(statistics.median(e2e)), ms(statistics.median(ort)), ratio_median],
                    ["mean ms per batch", ms(statistics.mean(e2e)), ms(statistics.mean(ort)), ratio_mean],
                    [
                        "p95 ms per batch",
                        ms(float(np.percentile(e2e, 95))),
                        ms(float(np.percentile(ort, 95))),
                        float("nan"),
                    ],
                    ["median of per-batch ratios", float("nan"), float("nan"), statistics.median(paired)],
                ],
            ),
            f"\nThe median ratio **{ratio_median:.3f}** {verdict} the goal of ≤ {GOAL:.2f}.\n\n",
            "## Breakdown of the Triton time (statistics endpoint, mean ms per batch)\n\n",
            md_table(["part", "ms per batch", "% of end to end"], table),
            "\n## Each step alone (texts/s)\n\n",
            "Offline: the step's own code in this process, one batch after another. Inside Triton: texts the step "
            "processed ÷ its compute time in the statistics above. `× model` is how many times faster than the "
            "model step it is; above 1 means it cannot be the bottleneck.\n\n",
            md_table(["step", "offline texts/s", "× model", "inside Triton texts/s", "× model"], comp_rows),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    import tritonclient.grpc as grpcclient

    from hiercls.serving.server import TritonServer

    wait_for_quiet(args.quiet_max_busy, args.quiet_wait)
    paths = bench_paths(args.shape)
    repository = Path(args.model_repository or paths["repository"])
    require_repository(repository, args.shape)
    name = args.name or args.shape
    raw_dir = BENCH_DIR / "runs" / f"overhead_{name}"
    raw_dir.mkdir(parents=True, exist_ok=True)
    offline = Offline(repository)
    texts = load_texts(args.data)
    batches = make_batches(texts, args.batch_size, args.batches + args.warmup, seed=1)
    with TritonServer(repository, log_file=raw_dir / "tritonserver.log") as server:
        client = grpcclient.InferenceServerClient(server.grpc_url)
        if args.batch_size > client.get_model_config(offline.spec.name).config.max_batch_size:
            raise SystemExit(f"--batch_size {args.batch_size} is over the repository's max_batch_size")
        logger.info("timing %d batches of %d through Triton and bare onnxruntime", args.batches, args.batch_size)
        import resource

        meter = CpuMeter(server._proc.pid if server._proc else None)
        meter.start()
        self0 = resource.getrusage(resource.RUSAGE_SELF)
        result = compare(client, offline, batches, args.warmup, offline.spec.name)
        self1 = resource.getrusage(resource.RUSAGE_SELF)
        # "locust" is this process here: the client and the bare onnxruntime runs.
        result["cpu"] = cpu_percent(meter.stop(self1.ru_utime - self0.ru_utime + self1.ru_stime - self0.ru_stime))
        version = client.get_server_metadata().version
        client.close()
    logger.info("each step alone, %.0fs each", args.component_seconds)
    comp = components(offline, batches, args.component_seconds, result["ort"])
    context = {
        "name": name,
        "repository": str(repository),
        "spec": offline.spec.to_dict(),
        "names": {
            "tokenizer": offline.spec.names.tokenizer,
            "model": offline.spec.names.model,
            "postprocess": offline.spec.names.postprocess,
            "ensemble": offline.spec.names.ensemble,
        },
        "machine": machine_info(version),
        "model": read_json(paths["meta"]) if paths["meta"].is_file() and repository == paths["repository"] else {},
    }
    text = report(result, comp, context, args)
    out = Path(args.out_dir) / f"overhead_{name}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    (raw_dir / "overhead.json").write_text(
        json.dumps(
            {
                "e2e_s": result["e2e"],
                "ort_s": result["ort"],
                "widths": result["widths"],
                "components_texts_per_s": comp,
                "server": {k: vars(v) for k, v in result["delta"].items()},
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    print(text)


if __name__ == "__main__":
    main()
