"""Load-test the seqcls ensemble with Locust over gRPC and report what it sustained.

    python -m benchmarks.run_locust --shape ernie-3.0-nano-zh \
        --data /work/shared/data/duee_hier/dev.txt --users 1 2 4 8 --run_time 20 --name nano_duee

Starts a tritonserver on free loopback ports for the repository (``--model_repository``,
default the one benchmarks/make_bench_model.py built for ``--shape``) or targets a
running one (``--url``, loopback only). For each user count it runs Locust headless
for ``--run_time`` seconds (benchmarks/locustfile.py, closed loop: concurrency =
users) and snapshots Triton's statistics before and after. It writes:

- raw Locust CSVs per step and the server log under ``--raw_dir``;
- ``<out_dir>/<name>.csv``: one row per user count;
- ``<out_dir>/<name>.md``: requests/s, texts/s, p50/p95/p99 latency per batch and
  per text, failures, where the server's time went (queue / compute per step) and
  who used the CPU;
- ``<out_dir>/<name>_latency.png`` and ``<name>_throughput.png`` against users.

Exit code 1 when any request failed (a bad request that is refused as expected is
not a failure). Every run is bounded: ``--run_time`` and ``--users`` have ceilings.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.common import (
    BENCH_DIR,
    DEFAULT_SHAPE,
    MAX_RUN_SECONDS,
    MAX_USERS,
    RESULTS_DIR,
    ROOT,
    SAMPLE_DATA,
    CpuMeter,
    ModelStats,
    add_quiet_flags,
    bench_paths,
    command_line,
    cpu_percent,
    machine_info,
    machine_line,
    md_table,
    model_stats,
    read_json,
    require_loopback,
    require_repository,
    shown,
    stats_delta,
    wait_for_quiet,
)

logger = logging.getLogger("run_locust")
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
MAX_STEPS = 8


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = p.add_argument_group("target")
    target.add_argument("--shape", default=DEFAULT_SHAPE, help="Benchmark model under build/bench/<shape>/.")
    target.add_argument("--model_repository", default=None, help="Serve this repository instead of the shape's.")
    target.add_argument("--url", default=None, help="Use a running server at HOST:PORT (loopback only).")
    target.add_argument("--model_name", default="seqcls", help="Ensemble to call.")
    load = p.add_argument_group("load")
    load.add_argument("--data", default=str(SAMPLE_DATA), help="PaddleNLP-format file whose texts are sent.")
    load.add_argument("--batch_size", type=int, default=32, help="Texts per request of the batch task.")
    load.add_argument("--users", type=int, nargs="+", default=[1, 2, 4, 8], help="Concurrent users, one step each.")
    load.add_argument("--run_time", type=float, default=20, help="Seconds per user count (all rounds together).")
    load.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="Split each user count's time into this many slices, run in alternating order (noisy hosts).",
    )
    load.add_argument("--batch_weight", type=int, default=1, help="Weight of the batch task.")
    load.add_argument("--single_weight", type=int, default=0, help="Weight of the single-text task.")
    load.add_argument("--bad_users", type=int, default=0, help="Extra users sending bad requests (0: none).")
    load.add_argument("--bad_rate", type=float, default=2.0, help="Bad requests per second per bad user.")
    out = p.add_argument_group("output")
    out.add_argument("--name", default=None, help="Report name (default: <shape>_b<batch_size>).")
    out.add_argument("--out_dir", default=str(RESULTS_DIR), help="Where the .md, .csv and .png go.")
    out.add_argument(
        "--raw_dir", default=None, help="Raw Locust CSVs and server log (default build/bench/runs/<name>)."
    )
    out.add_argument("--title", default=None, help="Heading of the Markdown summary.")
    out.add_argument("--no_plots", action="store_true", help="Skip the PNG plots.")
    add_quiet_flags(p)
    return p


@dataclass
class Slice:
    """What one bounded Locust run measured, in a form that adds up over runs."""

    run_time: float
    requests: dict[str, dict]  # name -> requests, failures, texts_per_request, seconds
    latencies: dict[str, list[float]]  # name -> every successful response time (ms)
    server: dict[str, ModelStats]  # model -> statistics delta over the run
    cpu_s: dict[str, float]  # wall, busy, server, locust: CPU seconds over the run


@dataclass
class Step:
    """The numbers of one user count (one or more slices merged)."""

    users: int
    seconds: float
    requests: dict[str, dict] = field(default_factory=dict)  # name -> numbers
    server: dict[str, dict] = field(default_factory=dict)  # model -> stats delta summary
    cpu: dict[str, float] = field(default_factory=dict)  # who used the CPU, % of one core
    slices: int = 1

    @property
    def failures(self) -> int:
        return sum(r["failures"] for r in self.requests.values())


# -- one step --------------------------------------------------------------------------


def percentiles(values: list[float], qs=(50, 95, 99)) -> dict[str, float]:
    import numpy as np

    if not values:
        return {f"p{q}": float("nan") for q in qs}
    return {f"p{q}": float(np.percentile(values, q)) for q in qs}


def read_locust_counts(prefix: Path, batch_size: int) -> dict[str, dict]:
    """Per request name from Locust's CSV: requests, failures, texts per request and
    the seconds its rate was measured over (Locust's own count / rate)."""
    out = {}
    with open(f"{prefix}_stats.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            name = row["Name"]
            if name == "Aggregated":
                continue
            n_req, rps = int(row["Request Count"]), float(row["Requests/s"])
            out[name] = {
                "requests": n_req,
                "failures": int(row["Failure Count"]),
                "texts_per_request": float(row["Average Content Size"] or 0)
                or (batch_size if name.startswith("batch") else 1),
                "seconds": n_req / rps if rps else 0.0,
            }
    return out


def merge(users: int, slices: list[Slice]) -> Step:
    """One Step from slices of the same user count: counts and seconds add up,
    latencies are pooled before taking percentiles, statistics deltas add up."""
    step = Step(users, sum(s.run_time for s in slices), slices=len(slices))
    names = sorted({n for s in slices for n in s.requests})
    for name in names:
        parts = [s.requests[name] for s in slices if name in s.requests]
        n_req = sum(p["requests"] for p in parts)
        n_fail = sum(p["failures"] for p in parts)
        seconds = sum(p["seconds"] for p in parts)
        rows = sum(p["texts_per_request"] * p["requests"] for p in parts) / n_req if n_req else 1.0
        lat = percentiles([x for s in slices for x in s.latencies.get(name, [])])
        step.requests[name] = {
            "requests": n_req,
            "failures": n_fail,
            "texts_per_request": rows,
            "requests_per_s": n_req / seconds if seconds else 0.0,
            # Failed requests carry no texts: count the successful ones only.
            "texts_per_s": (n_req - n_fail) * rows / seconds if seconds else 0.0,
            **{f"{k}_ms": v for k, v in lat.items()},
            **{f"{k}_ms_per_text": v / rows for k, v in lat.items()},
        }
    if all(s.server for s in slices):
        total = slices[0].server
        for s in slices[1:]:
            total = {k: total[k] + s.server[k] for k in total}
        step.server = summarize_server(total)
    cpu = {k: sum(s.cpu_s[k] for s in slices) for k in slices[0].cpu_s}
    step.cpu = cpu_percent(cpu)
    return step


def summarize_server(delta: dict[str, ModelStats]) -> dict[str, dict]:
    out = {}
    for name, s in delta.items():
        n = s.counts["success"]
        execs = sum(s.batch_sizes.values())
        out[name] = {
            "requests": n,
            "texts": s.inference_count,
            "executions": s.execution_count,
            "mean_batch": (sum(b * k for b, k in s.batch_sizes.items()) / execs) if execs else float("nan"),
            "queue_ms": s.mean_ms("queue"),
            "compute_ms": (s.ns["compute_input"] + s.ns["compute_infer"] + s.ns["compute_output"]) / n / 1e6
            if n
            else float("nan"),
            "compute_per_exec_ms": s.ns["compute_infer"] / execs / 1e6 if execs else float("nan"),
            "request_ms": s.mean_ms("success"),
            "batch_sizes": dict(sorted(s.batch_sizes.items())),
        }
    return out


def run_slice(
    url: str,
    users: int,
    run_time: float,
    prefix: Path,
    args: argparse.Namespace,
    stats_client=None,
    model_names: list[str] | None = None,
    server_pid: int | None = None,
) -> Slice:
    """One bounded Locust run against url; returns what it measured."""
    import resource

    if not 1 <= users <= MAX_USERS:
        raise ValueError(f"users must be in 1..{MAX_USERS}, got {users}")
    if not 0 < run_time <= MAX_RUN_SECONDS:
        raise ValueError(f"run_time must be in (0, {MAX_RUN_SECONDS}] seconds, got {run_time}")
    prefix.parent.mkdir(parents=True, exist_ok=True)
    latency_file = Path(f"{prefix}_latency.json")
    classes = ["SeqClsUser"] + (["BadRequestUser"] if args.bad_users else [])
    total_users = users + args.bad_users
    options = {
        "-u": total_users,
        "-r": total_users,  # everyone at once: the step measures a steady load
        "-t": f"{math.ceil(run_time)}s",
        "--stop-timeout": 30,  # let in-flight requests finish and be counted
        "--exit-code-on-error": 0,  # failures are read from the CSV
        "--host": url,
        "--csv": prefix,
        "--latency-file": latency_file,
        "--data": args.data,
        "--batch-size": args.batch_size,
        "--model-name": args.model_name,
        "--batch-weight": args.batch_weight,
        "--single-weight": args.single_weight,
        "--bad-users": args.bad_users,
        "--bad-rate": args.bad_rate,
    }
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary"]
    cmd += [str(x) for kv in options.items() for x in kv] + classes
    before = model_stats(stats_client, model_names) if stats_client else None
    meter = CpuMeter(server_pid)
    meter.start()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=run_time + 120)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = meter.stop((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))
    Path(f"{prefix}_locust.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0 or not Path(f"{prefix}_stats.csv").is_file():
        raise RuntimeError(f"locust exited {proc.returncode}:\n{(proc.stdout + proc.stderr)[-3000:]}")
    latencies = json.loads(latency_file.read_text(encoding="utf-8")) if latency_file.is_file() else {}
    server = stats_delta(model_stats(stats_client, model_names), before) if stats_client else {}
    return Slice(run_time, read_locust_counts(prefix, args.batch_size), latencies, server, cpu_s)


def run_clean_slice(run, args: argparse.Namespace) -> Slice:
    """run() once after waiting for a quiet host, again (at most --retries times) while
    other processes used more than --max_other_pct of a core during it; keeps the
    attempt they disturbed least. The report's CPU table shows what was left."""
    best, best_other = None, math.inf
    for attempt in range(1 + max(0, args.retries)):
        wait_for_quiet(args.quiet_max_busy, args.quiet_wait)
        part = run()
        other = cpu_percent(part.cpu_s)["other_pct"]
        if best is None or other < best_other:
            best, best_other = part, other
        if not other > args.max_other_pct:  # NaN (no server pid) counts as clean
            break
        logger.info("  other processes used %.0f%% of a core during the slice (attempt %d)", other, attempt + 1)
    return best


def log_step(label: str, step: Step) -> None:
    logger.info(
        "  %s: %s",
        label,
        "; ".join(
            f"{k}: {v['requests_per_s']:.2f} req/s, p50 {v['p50_ms']:.0f} ms, {v['failures']} failed"
            for k, v in step.requests.items()
        ),
    )


# -- the sweep -------------------------------------------------------------------------


class Target:
    """A server to load: started here (and stopped afterwards) or given by --url."""

    def __init__(self, args: argparse.Namespace, raw_dir: Path) -> None:

        self.args, self.raw_dir, self.server = args, raw_dir, None
        if args.url:
            self.url = require_loopback(args.url)
            self.repository = None
        else:
            self.repository = require_repository(
                Path(args.model_repository or bench_paths(args.shape)["repository"]), args.shape
            )

    def __enter__(self) -> Target:
        import tritonclient.grpc as grpcclient

        from hiercls.runtime.artifacts import SPEC_FILE
        from hiercls.serving.server import TritonServer

        if self.repository is not None:
            self.raw_dir.mkdir(parents=True, exist_ok=True)
            self.server = TritonServer(self.repository, log_file=self.raw_dir / "tritonserver.log").start()
            self.url = self.server.grpc_url
        self.client = grpcclient.InferenceServerClient(self.url)
        config = self.client.get_model_config(self.args.model_name).config
        if self.args.batch_size > config.max_batch_size:
            self.__exit__()
            raise SystemExit(
                f"--batch_size {self.args.batch_size} is over the server's max_batch_size {config.max_batch_size}"
            )
        self.models = [s.model_name for s in config.ensemble_scheduling.step] + [self.args.model_name]
        self.spec = {}
        if self.repository is not None:
            self.spec = read_json(self.repository / SPEC_FILE)["spec"]
        self.server_version = self.client.get_server_metadata().version
        return self

    @property
    def pid(self) -> int | None:
        return self.server._proc.pid if self.server and self.server._proc else None

    def __exit__(self, *exc) -> None:
        if getattr(self, "client", None) is not None:
            self.client.close()
            self.client = None
        if self.server is not None:
            self.server.stop()
            self.server = None


def run_sweep(args: argparse.Namespace) -> tuple[list[Step], dict]:
    name = args.name or f"{args.shape}_b{args.batch_size}"
    raw_dir = Path(args.raw_dir or BENCH_DIR / "runs" / name)
    if len(args.users) > MAX_STEPS:
        raise SystemExit(f"at most {MAX_STEPS} user counts per run")
    if not 1 <= args.rounds <= 10:
        raise SystemExit("--rounds must be in 1..10")
    per_slice = args.run_time / args.rounds
    slices: dict[int, list[Slice]] = {u: [] for u in args.users}
    with Target(args, raw_dir) as target:
        for r in range(args.rounds):
            # Up the user counts, then down: drift in the background load evens out.
            for users in args.users if r % 2 == 0 else args.users[::-1]:
                logger.info("%s: round %d/%d, %d users for %.0fs", name, r + 1, args.rounds, users, per_slice)
                prefix = raw_dir / (f"u{users}" if args.rounds == 1 else f"u{users}_r{r}")
                part = run_clean_slice(
                    lambda users=users, prefix=prefix: run_slice(
                        target.url, users, per_slice, prefix, args, target.client, target.models, target.pid
                    ),
                    args,
                )
                slices[users].append(part)
                log_step(f"round {r + 1}", merge(users, [part]))
        steps = [merge(u, slices[u]) for u in args.users]
        context = {
            "name": name,
            "url": target.url,
            "repository": str(target.repository) if target.repository else None,
            "spec": target.spec,
            "machine": machine_info(target.server_version),
        }
    bench_meta = bench_paths(args.shape)["meta"]
    if target.repository is not None and target.repository.is_relative_to(bench_paths(args.shape)["base"]):
        context["model"] = read_json(bench_meta) if bench_meta.is_file() else {}
    return steps, context


# -- reports ---------------------------------------------------------------------------


def write_csv(steps: list[Step], path: Path) -> None:
    rows = []
    for s in steps:
        for name, r in s.requests.items():
            rows.append(
                {
                    "users": s.users,
                    "name": name,
                    **{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()},
                    **s.cpu,
                }
            )
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def model_line(context: dict) -> str:
    m = context.get("model") or {}
    spec = context.get("spec") or {}
    parts = []
    if m:
        sc = m.get("shape_config", {})
        parts.append(
            f"`{m['shape']}` ({sc.get('num_hidden_layers')} layers, hidden {sc.get('hidden_size')}, "
            f"{m['parameters'] / 1e6:.1f} M parameters, random weights, {m['labels']} labels, "
            f"max_seq_length {m['max_seq_length']})"
        )
    if spec:
        parts.append(
            f"repository: max_batch_size {spec['max_batch_size']}, preferred {spec['preferred_batch_sizes']}, "
            f"max_queue_delay {spec['max_queue_delay_microseconds']} µs, {spec['model_instances']} model instance(s), "
            f"intra_op_threads {spec['intra_op_num_threads']}"
        )
    return "; ".join(parts) or f"server at {context['url']}"


# (column, key of Step.requests[name]) of the main table
REQUEST_COLUMNS = [
    ("requests", "requests"),
    ("req/s", "requests_per_s"),
    ("texts/s", "texts_per_s"),
    *[(f"{q} ms", f"{q}_ms") for q in ("p50", "p95", "p99")],
    *[(f"{q} ms/text", f"{q}_ms_per_text") for q in ("p50", "p95", "p99")],
    ("failures", "failures"),
]
# (column, the step's role in contract.ModelNames, key of Step.server[model])
SERVER_COLUMNS = [
    ("tokenizer queue", "tokenizer", "queue_ms"),
    ("tokenizer compute", "tokenizer", "compute_ms"),
    ("model queue", "model", "queue_ms"),
    ("model compute", "model", "compute_ms"),
    ("model batch", "model", "mean_batch"),
    ("postprocess queue", "postprocess", "queue_ms"),
    ("postprocess compute", "postprocess", "compute_ms"),
    ("ensemble total", "ensemble", "request_ms"),
]


def steps_markdown(steps: list[Step], ensemble: str) -> str:
    from hiercls.runtime import contract

    names = contract.model_names(ensemble)
    good = [(s.users, n, r) for s in steps for n, r in s.requests.items() if not n.startswith("bad:")]
    out = [
        md_table(
            ["users", "request", *(c for c, _ in REQUEST_COLUMNS)],
            [[u, n, *(r[k] for _, k in REQUEST_COLUMNS)] for u, n, r in good],
        )
    ]
    bad = [
        (s.users, n, r["requests"], r["failures"]) for s in steps for n, r in s.requests.items() if n.startswith("bad:")
    ]
    if bad:
        out.append(
            "\nBad requests (each must be refused with the expected error; a failure = answered or wrong error):\n\n"
        )
        out.append(md_table(["users", "kind", "sent", "not refused as expected"], bad))
    if any(s.server for s in steps):
        out.append(
            "\nWhere the server's time went (Triton statistics, mean ms per request of each step; "
            "queue = waiting for an instance or the batcher, compute = the backend's execute; "
            "batch = mean texts per model execution):\n\n"
        )
        out.append(
            md_table(
                ["users", *(c for c, _, _ in SERVER_COLUMNS)],
                [
                    [
                        s.users,
                        *(s.server.get(getattr(names, role), {}).get(k, math.nan) for _, role, k in SERVER_COLUMNS),
                    ]
                    for s in steps
                ],
            )
        )
    if any(s.cpu for s in steps):
        cores = steps[0].cpu["cores"]
        out.append(f"\nCPU during each step, % of one core ({cores} cores = {100 * cores}%):\n\n")
        out.append(
            md_table(
                ["users", "tritonserver + backends", "locust", "other processes", "host busy"],
                [
                    [s.users, s.cpu["server_pct"], s.cpu["locust_pct"], s.cpu["other_pct"], s.cpu["host_busy_pct"]]
                    for s in steps
                ],
            )
        )
    return "".join(out)


def slice_policy(args: argparse.Namespace) -> str:
    """One line on how the load was sliced and what counted as a disturbed slice."""
    rounds = args.rounds
    parts = []
    if rounds > 1:
        parts.append(f"each step is {rounds} slices of {args.run_time / rounds:.0f} s run in alternating order")
    if math.isfinite(args.max_other_pct):
        parts.append(
            f"a slice during which other processes on this shared host used more than {args.max_other_pct:.0f}% "
            f"of a core was run again (at most {args.retries} time(s)), keeping the least disturbed attempt"
        )
    if args.quiet_wait:
        parts.append(f"each slice waited up to {args.quiet_wait:.0f} s for the host to be quiet first")
    return f"- slicing: {'; '.join(parts)}\n" if parts else ""


def write_markdown(steps: list[Step], context: dict, args: argparse.Namespace, path: Path, plots: list[str]) -> None:
    title = args.title or f"Locust over gRPC: {context['name']}"
    lines = [
        f"# {title}\n\n",
        f"- machine: {machine_line(context['machine'])}\n",
        f"- model: {model_line(context)}\n",
        f"- load: texts from `{shown(args.data)}`, batch task {args.batch_size} texts × weight {args.batch_weight}, "
        f"single-text task × weight {args.single_weight}, closed loop (no think time), "
        f"{args.run_time:.0f} s per step"
        + (f", plus {args.bad_users} bad-request user(s) at {args.bad_rate}/s each" if args.bad_users else "")
        + "\n",
        "- latency: client-measured per request (exact, not Locust's rounded percentiles); "
        "per text = per request ÷ texts in it\n",
        slice_policy(args),
        f"- command: `{command_line(__file__)}`\n\n",
        steps_markdown(steps, args.model_name),
    ]
    for p in plots:
        lines.append(f"\n![{p}]({p})\n")
    path.write_text("".join(lines), encoding="utf-8")


def plot(steps: list[Step], name: str, out_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    users = [s.users for s in steps]
    names = sorted({n for s in steps for n in s.requests if not n.startswith("bad:")})
    files = []
    fig, axes = plt.subplots(1, len(names), figsize=(5.5 * len(names), 4), squeeze=False)
    for ax, n in zip(axes[0], names):
        for q, style in (("p50", "o-"), ("p95", "s--"), ("p99", "^:")):
            ax.plot(users, [s.requests.get(n, {}).get(f"{q}_ms", math.nan) for s in steps], style, label=q)
        ax.set(xlabel="concurrent users", ylabel="latency per request (ms)", title=f"{name}: {n}")
        ax.set_xscale("log", base=2)
        ax.set_xticks(users, [str(u) for u in users])
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    files.append(f"{name}_latency.png")
    fig.savefig(out_dir / files[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for n in names:
        ax.plot(users, [s.requests.get(n, {}).get("texts_per_s", math.nan) for s in steps], "o-", label=n)
    ax.set(xlabel="concurrent users", ylabel="texts/s", title=f"{name}: throughput")
    ax.set_xscale("log", base=2)
    ax.set_xticks(users, [str(u) for u in users])
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    files.append(f"{name}_throughput.png")
    fig.savefig(out_dir / files[-1], dpi=110)
    plt.close(fig)
    return files


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    steps, context = run_sweep(args)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = context["name"]
    write_csv(steps, out_dir / f"{name}.csv")
    plots = [] if args.no_plots else plot(steps, name, out_dir)
    write_markdown(steps, context, args, out_dir / f"{name}.md", plots)
    (Path(args.raw_dir or BENCH_DIR / "runs" / name) / "steps.json").write_text(
        json.dumps({"context": context, "steps": [asdict(s) for s in steps]}, indent=1, default=str), encoding="utf-8"
    )
    failures = sum(s.failures for s in steps)
    logger.info("wrote %s (%d failed requests)", out_dir / f"{name}.md", failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
