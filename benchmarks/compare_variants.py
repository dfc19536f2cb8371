"""Dynamic batching on vs off, and model-step instance counts, side by side in one run.

    python benchmarks/compare_variants.py --shape ernie-3.0-nano-zh \
        --data /work/shared/data/duee_hier/dev.txt --run_time 20

Builds one repository per variant from the shape's export (build/bench/<shape>/variants/)
with hiercls.repository.build_repository and serves them all at once; the same Locust
workloads (batches of ``--batch_size`` texts from ``--batch_users`` users, single texts
from ``--single_users`` users) then move from variant to variant in ``--rounds`` short
slices, the order rotated each round, so that background load on a shared host is
spread over the variants instead of landing on whichever ran during a burst. Reports
throughput, latency, the batch sizes the model step actually executed and the
throughput ratio to the first variant, in ``<out_dir>/variants_<shape>.md`` (+ .csv, .png).

Batching "off": RepositorySpec always writes a ``dynamic_batching`` block, so "off" is
emulated with ``preferred_batch_sizes [1]`` and ``max_queue_delay_microseconds 0``:
the batcher then sends each request on its own as soon as an instance is free
(the executed batch sizes in the report show whether any were merged).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import logging
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    DEFAULT_SHAPE,
    RESULTS_DIR,
    ROOT,
    SAMPLE_DATA,
    add_quiet_flags,
    bench_paths,
    machine_info,
    machine_line,
    md_table,
    read_json,
)
from benchmarks.run_locust import Target, merge, run_clean_slice, run_slice, slice_policy  # noqa: E402

logger = logging.getLogger("compare_variants")


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    overrides: dict


def variants(cores: int) -> list[Variant]:
    """Batching on/off × one instance using every core / one instance per core."""
    on = dict(preferred_batch_sizes=(16, 32, 64), max_queue_delay_microseconds=2000)
    off = dict(preferred_batch_sizes=(1,), max_queue_delay_microseconds=0)
    one = dict(model_instances=1, intra_op_num_threads=cores, model_workers=1)
    many = dict(model_instances=cores, intra_op_num_threads=1, model_workers=1)
    return [
        Variant("on_1x", f"batching on, 1 instance × {cores} threads", {**on, **one}),
        Variant("off_1x", f"batching off*, 1 instance × {cores} threads", {**off, **one}),
        Variant(f"on_{cores}x", f"batching on, {cores} instances × 1 thread", {**on, **many}),
        Variant(f"off_{cores}x", f"batching off*, {cores} instances × 1 thread", {**off, **many}),
    ]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", default=DEFAULT_SHAPE, help="Benchmark model under build/bench/<shape>/.")
    p.add_argument("--data", default=str(SAMPLE_DATA), help="PaddleNLP-format file whose texts are sent.")
    p.add_argument("--batch_size", type=int, default=32, help="Texts per request of the batch workload.")
    p.add_argument("--batch_users", type=int, default=4, help="Users of the batch workload (0: skip it).")
    p.add_argument("--single_users", type=int, default=16, help="Users of the single-text workload (0: skip it).")
    p.add_argument("--run_time", type=float, default=24, help="Seconds per workload and variant, all rounds together.")
    p.add_argument("--rounds", type=int, default=3, help="Slices per workload and variant, in rotating order.")
    p.add_argument("--cores", type=int, default=os.cpu_count() or 1, help="Cores to divide among instances.")
    p.add_argument("--only", nargs="+", default=None, help="Run only these variant keys (on_1x off_1x on_2x ...).")
    p.add_argument("--out_dir", default=str(RESULTS_DIR), help="Where variants_<shape>.md/.csv/.png go.")
    add_quiet_flags(p)
    return p


def workload_args(args: argparse.Namespace, kind: str) -> argparse.Namespace:
    return argparse.Namespace(
        data=args.data,
        batch_size=args.batch_size,
        model_name="seqcls",
        batch_weight=1 if kind == "batch" else 0,
        single_weight=1 if kind == "single" else 0,
        bad_users=0,
        bad_rate=1.0,
    )


def run(args: argparse.Namespace) -> tuple[list[dict], dict]:
    from hiercls.repository import build_repository, spec_from_export
    from hiercls.runtime.artifacts import ONNX_FILE, SPEC_FILE

    paths = bench_paths(args.shape)
    if not (paths["export"] / ONNX_FILE).is_file():
        raise SystemExit(f"no export under {paths['export']}: run benchmarks/make_bench_model.py --shape {args.shape}")
    base = read_json(paths["repository"] / SPEC_FILE)["spec"]
    chosen = [v for v in variants(args.cores) if not args.only or v.key in args.only]
    workloads = [(k, u) for k, u in (("batch", args.batch_users), ("single", args.single_users)) if u > 0]
    raw = paths["base"].parent / "runs" / f"variants_{args.shape}"
    per_slice = args.run_time / args.rounds
    slices: dict[tuple[str, str], list] = {(v.key, k): [] for v in chosen for k, _ in workloads}
    context: dict = {}
    with contextlib.ExitStack() as stack:
        # Every variant is served at once (idle servers cost next to nothing) and the
        # load moves between them in short slices, rotating the order each round, so a
        # neighbour's burst on this shared host lands on all variants alike.
        targets = {}
        for v in chosen:
            repo = paths["variants"] / v.key
            overrides = {**{k: base[k] for k in ("max_batch_size", "max_seq_length")}, **v.overrides}
            build_repository(paths["export"], repo, spec_from_export(paths["export"], **overrides))
            target_args = argparse.Namespace(
                url=None, model_repository=str(repo), shape=args.shape, model_name="seqcls", batch_size=args.batch_size
            )
            targets[v.key] = stack.enter_context(Target(target_args, raw / v.key))
        context["machine"] = machine_info(next(iter(targets.values())).server_version)
        for r in range(args.rounds):
            order = chosen[r % len(chosen) :] + chosen[: r % len(chosen)]
            for v in order:
                target = targets[v.key]
                for kind, users in workloads:
                    logger.info(
                        "round %d/%d: %s, %s × %d users, %.0fs", r + 1, args.rounds, v.label, kind, users, per_slice
                    )
                    prefix = raw / v.key / f"{kind}_r{r}"
                    part = run_clean_slice(
                        lambda t=target, k=kind, u=users, prefix=prefix: run_slice(
                            t.url, u, per_slice, prefix, workload_args(args, k), t.client, t.models, t.pid
                        ),
                        args,
                    )
                    slices[(v.key, kind)].append(part)
    rows = []
    for v in chosen:
        for kind, users in workloads:
            step = merge(users, slices[(v.key, kind)])
            name = f"batch{args.batch_size}" if kind == "batch" else "single"
            r = step.requests.get(name, {})
            server = step.server
            model = next((s for m, s in server.items() if m.endswith("_model")), {})
            tok = server.get("tokenizer") or next((s for m, s in server.items() if m.endswith("_tokenizer")), {})
            rows.append(
                {
                    "variant": v.key,
                    "label": v.label,
                    "workload": f"{name} × {users} users",
                    "kind": kind,
                    "requests_per_s": r.get("requests_per_s", math.nan),
                    "texts_per_s": r.get("texts_per_s", math.nan),
                    "p50_ms": r.get("p50_ms", math.nan),
                    "p95_ms": r.get("p95_ms", math.nan),
                    "p99_ms": r.get("p99_ms", math.nan),
                    "failures": r.get("failures", 0),
                    "model_batch": model.get("mean_batch", math.nan),
                    "model_queue_ms": model.get("queue_ms", math.nan),
                    "tokenizer_queue_ms": tok.get("queue_ms", math.nan),
                    "batch_sizes": model.get("batch_sizes", {}),
                    "server_cpu_pct": step.cpu.get("server_pct", math.nan),
                    "locust_cpu_pct": step.cpu.get("locust_pct", math.nan),
                    "other_cpu_pct": step.cpu.get("other_pct", math.nan),
                }
            )
            logger.info(
                "%s, %s: %.1f texts/s, p50 %.0f ms, model batch %.1f",
                v.label,
                kind,
                rows[-1]["texts_per_s"],
                rows[-1]["p50_ms"],
                rows[-1]["model_batch"],
            )
    for kind in {r["kind"] for r in rows}:
        ref = next(r for r in rows if r["kind"] == kind)["texts_per_s"]
        for r in rows:
            if r["kind"] == kind:
                r["ratio"] = r["texts_per_s"] / ref if ref else math.nan
    context["model"] = read_json(paths["meta"]) if paths["meta"].is_file() else {}
    context["baseline"] = chosen[0].label
    (raw / "rows.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return rows, context


def batch_hist(sizes: dict) -> str:
    total = sum(sizes.values())
    if not total:
        return "–"
    top = sorted(sizes.items(), key=lambda kv: -kv[1])[:3]
    return ", ".join(f"{b}: {100 * n / total:.0f}%" for b, n in top)


def write_reports(rows: list[dict], context: dict, args: argparse.Namespace) -> Path:
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"variants_{args.shape}"
    with open(out_dir / f"{stem}.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=[k for k in rows[0] if k != "batch_sizes"], extrasaction="ignore")
        w.writeheader()
        w.writerows({k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()} for r in rows)
    png = plot(rows, context, out_dir / f"{stem}.png")
    m = context.get("model") or {}
    data = Path(args.data)
    data_shown = data.relative_to(ROOT) if data.is_relative_to(ROOT) else data
    table = md_table(
        [
            "variant",
            "workload",
            "texts/s",
            "× baseline",
            "req/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "model batch (mean)",
            "executed batch sizes (top 3)",
            "model queue ms",
            "tokenizer queue ms",
            "CPU server / locust / other %",
            "failures",
        ],
        [
            [
                r["label"],
                r["workload"],
                r["texts_per_s"],
                r["ratio"],
                r["requests_per_s"],
                r["p50_ms"],
                r["p95_ms"],
                r["p99_ms"],
                r["model_batch"],
                batch_hist(r["batch_sizes"]),
                r["model_queue_ms"],
                r["tokenizer_queue_ms"],
                f"{r['server_cpu_pct']:.0f} / {r['locust_cpu_pct']:.0f} / {r['other_cpu_pct']:.0f}",
                r["failures"],
            ]
            for r in sorted(rows, key=lambda r: (r["kind"], rows.index(r)))
        ],
    )
    text = "".join(
        [
            f"# Dynamic batching and instance counts: {args.shape}\n\n",
            f"- machine: {machine_line(context['machine'])}\n",
            f"- model: `{m.get('shape', args.shape)}`, random weights"
            + (f", {m['parameters'] / 1e6:.1f} M parameters" if m else "")
            + "\n",
            f"- load: texts from `{data_shown}`; all variants served at once, the load moving between them in "
            f"{args.rounds} rounds of {args.run_time / args.rounds:.0f} s slices (order rotated each round), "
            f"{args.run_time:.0f} s per variant and workload in all; closed loop; "
            "`× baseline` = texts/s ÷ the first variant's on the same workload\n",
            slice_policy(args),
            "- *batching off is emulated: `preferred_batch_sizes [1]`, `max_queue_delay_microseconds 0` "
            "(RepositorySpec cannot leave the `dynamic_batching` block out); the executed batch sizes show what "
            "the model step really ran\n",
            f"- command: `python benchmarks/compare_variants.py {' '.join(sys.argv[1:])}`\n\n",
            table,
            f"\n![{png.name}]({png.name})\n",
        ]
    )
    path = out_dir / f"{stem}.md"
    path.write_text(text, encoding="utf-8")
    return path


def plot(rows: list[dict], context: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = sorted({r["kind"] for r in rows})
    fig, axes = plt.subplots(1, len(kinds), figsize=(6 * len(kinds), 4), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        sel = [r for r in rows if r["kind"] == kind]
        bars = ax.bar(range(len(sel)), [r["texts_per_s"] for r in sel], color="tab:blue")
        for b, r in zip(bars, sel):
            ax.annotate(f"×{r['ratio']:.2f}", (b.get_x() + b.get_width() / 2, b.get_height()), ha="center", va="bottom")
        ax.set_xticks(range(len(sel)), [r["label"].replace(", ", "\n").replace(" × ", "\n× ") for r in sel], fontsize=8)
        ax.set(ylabel="texts/s", title=sel[0]["workload"])
        ax.set_ylim(0, 1.12 * max(r["texts_per_s"] for r in sel))
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    rows, context = run(args)
    path = write_reports(rows, context, args)
    print(path.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
