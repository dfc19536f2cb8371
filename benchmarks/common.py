"""Helpers shared by the benchmark scripts: paths, loopback checks, text batches,
Triton statistics deltas, machine description and Markdown tables.

Nothing here is timed; the scripts that time things import it.
"""

from __future__ import annotations

import ipaddress
import json
import platform
import random
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BENCH_DIR = ROOT / "build" / "bench"
RESULTS_DIR = ROOT / "benchmarks" / "results"
SAMPLE_DATA = ROOT / "data" / "sample" / "data.txt"
DEFAULT_SHAPE = "ernie-3.0-nano-zh"

# Hard ceilings on any load run, whatever the flags say: a run is always bounded.
MAX_RUN_SECONDS = 600
MAX_USERS = 256


class NotLoopbackError(ValueError):
    pass


def split_url(url: str) -> tuple[str, int]:
    """'127.0.0.1:8001' (or 'grpc://localhost:8001') -> (host, port)."""
    url = url.split("://", 1)[-1].rstrip("/")
    host, sep, port = url.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"expected HOST:PORT for a gRPC address, got {url!r}")
    return host.strip("[]"), int(port)


def require_loopback(url: str) -> str:
    """Return url if every address its host resolves to is loopback; raise otherwise.
    Load runs are only ever aimed at this machine."""
    host, port = split_url(url)
    try:
        addrs = {info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}
    except socket.gaierror as e:
        raise NotLoopbackError(f"cannot resolve {host!r}: {e}") from None
    bad = sorted(a for a in addrs if not ipaddress.ip_address(a.split("%", 1)[0]).is_loopback)
    if bad or not addrs:
        raise NotLoopbackError(
            f"{url} resolves to {bad or 'nothing'}: benchmarks only run against loopback (127.0.0.1, ::1, localhost)"
        )
    return url


def load_texts(path: str | Path) -> list[str]:
    """Texts of a PaddleNLP-format file: data.txt (one per line) or a labelled
    train/dev/test file (the part before the TAB)."""
    from hiercls.data.reading import read_texts

    return read_texts(path)


def make_batches(texts: Sequence[str], batch_size: int, count: int, seed: int = 0) -> list[list[str]]:
    """`count` batches of `batch_size` texts drawn at random (with a fixed seed)
    from the file: what a stream of independent clients would send."""
    rng = random.Random(seed)
    return [[texts[rng.randrange(len(texts))] for _ in range(batch_size)] for _ in range(count)]


def text_input(texts: Sequence[str | bytes], dtype: str = "BYTES"):
    """The ensemble's [N, 1] BYTES input (tritonclient.grpc) for these texts."""
    import numpy as np
    import tritonclient.grpc as grpcclient

    from hiercls.runtime import contract

    data = np.array([[t.encode("utf-8") if isinstance(t, str) else t] for t in texts], dtype=object)
    inp = grpcclient.InferInput(contract.TEXT_INPUT, list(data.shape), dtype)
    inp.set_data_from_numpy(data)
    return inp


def requested_outputs() -> list:
    """All three outputs of the ensemble, as a client asks for them."""
    import tritonclient.grpc as grpcclient

    from hiercls.runtime import contract

    return [
        grpcclient.InferRequestedOutput(n)
        for n in (contract.LABEL_OUTPUT, contract.CONFIDENCE_OUTPUT, contract.PATH_OUTPUT)
    ]


def command_line(script: str, argv: Sequence[str] | None = None) -> str:
    """How a report names the command that made it: ``python -m benchmarks.<name> ARGS``
    (benchmarks run as modules from the repository root)."""
    import shlex

    module = ".".join(Path(script).resolve().relative_to(ROOT).with_suffix("").parts)
    return shlex.join(["python", "-m", module, *(sys.argv[1:] if argv is None else argv)])


def shown(path: str | Path) -> Path:
    """A path as a report prints it: relative to the repository when inside it."""
    p = Path(path)
    return p.relative_to(ROOT) if p.is_relative_to(ROOT) else p


def name_value_pairs(specs: Sequence[str] | None, flag: str, parser) -> dict[str, str]:
    """{NAME: VALUE} from repeated ``--flag NAME=VALUE`` arguments; a malformed one is a usage error."""
    out = {}
    for spec in specs or []:
        name, sep, value = spec.partition("=")
        if not sep or not name:
            parser.error(f"{flag} wants NAME=VALUE, got {spec!r}")
        out[name] = value
    return out


def require_repository(repository: Path, shape: str) -> Path:
    from hiercls.runtime.artifacts import SPEC_FILE

    if not (repository / SPEC_FILE).is_file():
        raise SystemExit(
            f"{repository} is not a built repository: run benchmarks/make_bench_model.py --shape {shape} first"
        )
    return repository


# -- Triton statistics ---------------------------------------------------------------

STAT_FIELDS = ("success", "fail", "queue", "compute_input", "compute_infer", "compute_output")


@dataclass
class ModelStats:
    """Cumulative counters of one model (from the statistics endpoint)."""

    name: str
    inference_count: int  # rows (texts) inferred
    execution_count: int  # backend executions (batches formed)
    ns: dict[str, int]  # STAT_FIELDS -> total nanoseconds
    counts: dict[str, int]  # STAT_FIELDS -> how many requests they cover
    batch_sizes: dict[int, int]  # executed batch size -> executions

    def __sub__(self, other: ModelStats) -> ModelStats:
        return ModelStats(
            self.name,
            self.inference_count - other.inference_count,
            self.execution_count - other.execution_count,
            {k: self.ns[k] - other.ns.get(k, 0) for k in self.ns},
            {k: self.counts[k] - other.counts.get(k, 0) for k in self.counts},
            {
                b: n - other.batch_sizes.get(b, 0)
                for b, n in self.batch_sizes.items()
                if n - other.batch_sizes.get(b, 0)
            },
        )

    def __add__(self, other: ModelStats) -> ModelStats:
        sizes = dict(self.batch_sizes)
        for b, n in other.batch_sizes.items():
            sizes[b] = sizes.get(b, 0) + n
        return ModelStats(
            self.name,
            self.inference_count + other.inference_count,
            self.execution_count + other.execution_count,
            {k: self.ns[k] + other.ns.get(k, 0) for k in self.ns},
            {k: self.counts[k] + other.counts.get(k, 0) for k in self.counts},
            sizes,
        )

    def mean_ms(self, field: str) -> float:
        """Mean milliseconds per request of one field."""
        n = self.counts.get(field) or self.counts.get("success") or 0
        return self.ns[field] / n / 1e6 if n else float("nan")


def model_stats(client, names: Sequence[str]) -> dict[str, ModelStats]:
    """Current counters of the named models (tritonclient.grpc client)."""
    out = {}
    for name in names:
        s = client.get_inference_statistics(name).model_stats[0]
        inf = s.inference_stats
        out[name] = ModelStats(
            name,
            int(s.inference_count),
            int(s.execution_count),
            {f: int(getattr(inf, f).ns) for f in STAT_FIELDS},
            {f: int(getattr(inf, f).count) for f in STAT_FIELDS},
            {int(b.batch_size): int(b.compute_infer.count) for b in s.batch_stats},
        )
    return out


def stats_delta(after: dict[str, ModelStats], before: dict[str, ModelStats]) -> dict[str, ModelStats]:
    return {k: after[k] - before[k] for k in after}


# -- CPU accounting ------------------------------------------------------------------


class CpuMeter:
    """CPU seconds used by the server's process tree, by the load generator and by
    everything else on the host over an interval: on a 2-core machine the load
    generator and any neighbour compete with the server, and the reports say how much."""

    def __init__(self, server_pid: int | None) -> None:
        import psutil

        self.psutil = psutil
        self.server_pid = server_pid

    def _tree(self, pid: int | None) -> float:
        if not pid:
            return 0.0
        try:
            root = self.psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except self.psutil.NoSuchProcess:
            return 0.0
        total = 0.0
        for p in procs:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except self.psutil.NoSuchProcess:
                continue
        return total

    def _busy(self) -> float:
        t = self.psutil.cpu_times()
        return t.user + t.system + t.nice + getattr(t, "irq", 0) + getattr(t, "softirq", 0)

    def start(self) -> None:
        self.t0 = time.monotonic()
        self.busy0 = self._busy()
        self.server0 = self._tree(self.server_pid)

    def stop(self, locust_cpu_s: float) -> dict[str, float]:
        """CPU seconds of the interval: wall, busy (whole host), server, locust (the load generator)."""
        return {
            "wall": time.monotonic() - self.t0,
            "busy": self._busy() - self.busy0,
            "server": self._tree(self.server_pid) - self.server0 if self.server_pid else float("nan"),
            "locust": locust_cpu_s,
        }


def cpu_percent(cpu_s: dict[str, float]) -> dict[str, float]:
    """% of one core from summed CPU seconds; 'other' is the host minus ours."""
    import psutil

    wall = cpu_s["wall"] or 1.0
    server = cpu_s["server"]

    def pct(x: float) -> float:
        return round(100 * x / wall, 1)

    return {
        "host_busy_pct": pct(cpu_s["busy"]),
        "server_pct": pct(server),
        "locust_pct": pct(cpu_s["locust"]),
        "other_pct": pct(max(0.0, cpu_s["busy"] - server - cpu_s["locust"])) if server == server else float("nan"),
        "cores": psutil.cpu_count() or 1,
    }


# -- reporting -----------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU's marketing name: psutil does not report it and platform.processor()
    is often empty on Linux, so read /proc/cpuinfo."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info(server_version: str | None = None) -> dict[str, str]:
    """What a reader needs to compare numbers: CPU, cores, memory, versions."""
    from importlib.metadata import PackageNotFoundError, version

    import psutil

    versions = {}
    for dist in ("onnxruntime", "tritonclient", "locust", "tokenizers", "numpy"):
        try:
            versions[dist] = version(dist)  # no import: locust monkey-patches on import
        except PackageNotFoundError:
            continue
    if server_version:
        versions["tritonserver"] = server_version
    return {
        "cpu": cpu_model(),
        "cores": str(psutil.cpu_count()),
        "memory": f"{psutil.virtual_memory().total / 2**30:.0f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        **versions,
    }


def machine_line(info: dict[str, str] | None = None) -> str:
    i = info or machine_info()
    v = ", ".join(f"{k} {i[k]}" for k in ("tritonserver", "onnxruntime", "locust") if k in i)
    return f"{i['cpu']}, {i['cores']} cores, {i['memory']} RAM, {i['os']}, Python {i['python']}; {v}"


def md_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(v: object) -> str:
        if isinstance(v, float):
            if v != v:  # NaN
                return "–"
            return f"{v:.3g}" if abs(v) < 10 else f"{v:,.0f}" if abs(v) >= 999.5 else f"{v:.1f}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def bench_paths(shape: str, bench_dir: str | Path = BENCH_DIR) -> dict[str, Path]:
    base = Path(bench_dir) / shape
    return {
        "base": base,
        "checkpoint": base / "checkpoint",
        "export": base / "export",
        "repository": base / "model_repository",
        "variants": base / "variants",
        "meta": base / "bench_model.json",
    }


def read_json(path: str | Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def wait_for_quiet(max_busy_pct: float, timeout_s: float, sample_s: float = 3.0) -> float:
    """Wait (at most timeout_s) until the host's CPUs are at most max_busy_pct busy
    (% of all cores, over sample_s), so a run does not start while a neighbour
    trains a model. Returns the last reading; timeout_s 0 only takes the reading."""
    import logging

    import psutil

    log = logging.getLogger("benchmarks")
    deadline = time.monotonic() + timeout_s
    while True:
        busy = psutil.cpu_percent(interval=sample_s)
        if busy <= max_busy_pct or time.monotonic() >= deadline:
            if busy > max_busy_pct and timeout_s > 0:
                log.warning("host still %.0f%% busy after %.0fs: running anyway", busy, timeout_s)
            return busy
        log.info("host %.0f%% busy (other processes): waiting for <= %.0f%%", busy, max_busy_pct)
        time.sleep(10)


def add_quiet_flags(parser) -> None:
    g = parser.add_argument_group("shared machine")
    g.add_argument(
        "--quiet_wait",
        type=float,
        default=0,
        help="Before each run, wait up to this many seconds for other processes to leave the CPUs (0: don't).",
    )
    g.add_argument("--quiet_max_busy", type=float, default=20, help="CPU busy %% (of all cores) that counts as quiet.")
    g.add_argument(
        "--max_other_pct",
        type=float,
        default=float("inf"),
        help="Run a load slice again when other processes used more than this %% of one core during it.",
    )
    g.add_argument("--retries", type=int, default=1, help="At most this many reruns of a disturbed slice.")


def interleaved_ms_per_item(
    runs: dict[str, Callable[[], None]], rounds: int, items: int, on_round: Callable[[int], None] | None = None
) -> dict[str, list[float]]:
    """Milliseconds per item of each run, once per round. Each run does ``items`` items
    per call; the runs take turns within a round and the order rotates between rounds,
    so background load on a shared host falls on all of them alike."""
    names = list(runs)
    out: dict[str, list[float]] = {name: [] for name in names}
    for rnd in range(rounds):
        for k in range(len(names)):
            name = names[(k + rnd) % len(names)]
            t0 = time.perf_counter()
            runs[name]()
            out[name].append(1000 * (time.perf_counter() - t0) / items)
        if on_round is not None:
            on_round(rnd + 1)
    return out


def onnx_batches_runner(session, batches: Sequence[tuple]) -> Callable[[], None]:
    """A callable that runs an onnxruntime session of our model over pre-encoded
    (input_ids, token_type_ids) batches, for interleaved_ms_per_item."""
    from hiercls.runtime import contract

    def run() -> None:
        for ids, types in batches:
            session.run([contract.LOGITS], {contract.INPUT_IDS: ids, contract.TOKEN_TYPE_IDS: types})

    return run


def write_report(output: str | Path, md_parts: Sequence[str], result: dict) -> None:
    """<output>.md and <output>.json, each written to a temp file and renamed."""
    from hiercls.runtime.io import atomic_write_json, atomic_write_text

    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out.with_suffix(".md"), "\n".join(md_parts))
    atomic_write_json(out.with_suffix(".json"), result)
    print("\n".join(md_parts))
