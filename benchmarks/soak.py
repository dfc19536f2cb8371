"""Soak test (issue 14): saturate a supervised tritonserver with good and hostile
requests mixed, for minutes, and check that no good request fails and that the
server and its stubs do not grow.

    nice -n 10 .venv/bin/python -m benchmarks.soak --model_repository model_repository --duration 600

Starts ``hiercls.serving.server.TritonServer`` on loopback (the defaults of issue 14: keyed admin
APIs, stub watcher, private shm regions), runs ``--workers`` closed-loop threads, each
sending a good request (1-16 texts of data.txt, labels compared with the first answer
for the same texts) or, one time in ``1/--bad_share``, a bad one from BAD_KINDS, which
must be refused. RSS of tritonserver and each stub is sampled every ``--sample_every``
seconds. Writes benchmarks/results/soak.json and soak.md; exits 1 if a good request
failed or a bad one was answered.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import numpy as np

from benchmarks.common import RESULTS_DIR, SAMPLE_DATA, load_texts, machine_line, text_input
from hiercls import procs
from hiercls.runtime import contract


def _bytes(texts: list[bytes]):
    return [text_input(texts)]


def _ids(width: int, value: int, segment: int = 0):
    import tritonclient.grpc as grpcclient

    out = []
    for name, v in ((contract.INPUT_IDS, value), (contract.TOKEN_TYPE_IDS, segment)):
        inp = grpcclient.InferInput(name, [1, width], "INT64")
        inp.set_data_from_numpy(np.full((1, width), v, dtype=np.int64))
        out.append(inp)
    return out


def _http(server, path: str, body: bytes) -> None:
    try:
        urllib.request.urlopen(urllib.request.Request(f"{server.http_url}{path}", data=body), timeout=30)
    except urllib.error.HTTPError as e:
        if e.code in (400, 403):
            raise RuntimeError(f"refused {e.code}") from None
        raise
    raise AssertionError("answered")


def _deep(depth: int) -> bytes:
    # Nested well below the depth that crashes 2.51 (40,000): refused with 400.
    head = b'{"inputs":[{"name":"INPUT","datatype":"BYTES","shape":[1,1],"data":'
    return head + b"[" * depth + b"]" * depth + b"}]}"


# name -> (model, inputs or an HTTP call)
BAD_KINDS = {
    "empty": lambda c, s: c.infer("seqcls", _bytes([b""])),
    "invalid_utf8": lambda c, s: c.infer("seqcls", _bytes([b"\xff\xfe bad"])),
    "text_over_bytes": lambda c, s: c.infer("seqcls", _bytes(["判".encode() * 30_000])),
    "request_over_chars": lambda c, s: c.infer("seqcls", _bytes([("比赛" * 10_000).encode()] * 6)),
    "too_many_rows": lambda c, s: c.infer("seqcls", _bytes([b"x"] * 65 * 4)),
    "inner_model_wide": lambda c, s: c.infer(s.spec_names.model, _ids(8192, 1)),
    "inner_model_bad_id": lambda c, s: c.infer(s.spec_names.model, _ids(8, 10**9)),
    "admin_unkeyed": lambda c, s: c.update_log_settings({"log_verbose_level": 2}),
    "deep_json_1000": lambda c, s: _http(s, "/v2/models/seqcls/infer", _deep(1000)),
}


def run(args) -> dict:
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    from hiercls.runtime.artifacts import SPEC_FILE
    from hiercls.serving.server import TritonServer

    texts = load_texts(args.data)
    server = TritonServer(Path(args.model_repository), log_file=Path(args.log_file) if args.log_file else None)
    server.start()
    server.spec_names = contract.model_names(
        json.loads((Path(args.model_repository) / SPEC_FILE).read_text())["spec"]["name"]
    )
    lock = threading.Lock()
    counts: Counter = Counter()
    failures: list[str] = []
    latencies: list[float] = []
    answers: dict[str, tuple] = {}
    stop = threading.Event()

    def rss() -> dict[str, int]:
        out = {"tritonserver": procs.rss_kib(server.pid)}
        for pid, model in sorted(procs.stubs_of(server.pid).items(), key=lambda x: x[1]):
            out[f"stub:{model}"] = procs.rss_kib(pid)
        return out

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        client = grpcclient.InferenceServerClient(server.grpc_url)
        while not stop.is_set():
            if rng.random() < args.bad_share:
                kind = rng.choice(sorted(BAD_KINDS))
                try:
                    BAD_KINDS[kind](client, server)
                    outcome = "answered"
                except (InferenceServerException, RuntimeError):
                    outcome = "refused"
                except Exception as e:  # noqa: BLE001 - recorded, not hidden
                    outcome = f"other: {type(e).__name__}: {e}"[:200]
                with lock:
                    counts[f"bad:{kind}:{'refused' if outcome == 'refused' else 'WRONG'}"] += 1
                    if outcome != "refused":
                        failures.append(f"bad {kind}: {outcome}")
                continue
            batch = rng.sample(texts, rng.randint(1, 16))
            t0 = time.perf_counter()
            try:
                result = client.infer("seqcls", _bytes([t.encode() for t in batch]))
                labels = result.as_numpy(contract.LABEL_OUTPUT)
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    counts["good:ok"] += 1
                    latencies.append(ms)
                    for t, row in zip(batch, labels):
                        got = tuple(int(x) for x in row if x != contract.LABEL_PAD)
                        if answers.setdefault(t, got) != got:
                            counts["good:changed_answer"] += 1
                            failures.append(f"answer changed for {t!r}")
            except Exception as e:  # noqa: BLE001
                with lock:
                    counts["good:FAILED"] += 1
                    failures.append(f"good: {type(e).__name__}: {e}"[:300])

    samples = [{"t": 0.0, **rss()}]
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(args.workers)]
    t_start = time.monotonic()
    for t in threads:
        t.start()
    try:
        while (elapsed := time.monotonic() - t_start) < args.duration:
            time.sleep(min(args.sample_every, args.duration - elapsed))
            samples.append({"t": round(time.monotonic() - t_start, 1), **rss()})
            if server._proc is None or server._proc.poll() is not None:
                failures.append("tritonserver died")
                break
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        reloads = list(server.stub_reloads)
        server.stop()
    good = counts["good:ok"] + counts["good:FAILED"]
    bad = sum(v for k, v in counts.items() if k.startswith("bad:"))
    return {
        "duration_s": round(time.monotonic() - t_start, 1),
        "workers": args.workers,
        "good_requests": good,
        "good_failed": counts["good:FAILED"] + counts["good:changed_answer"],
        "bad_requests": bad,
        "bad_not_refused": sum(v for k, v in counts.items() if k.startswith("bad:") and k.endswith("WRONG")),
        "good_latency_ms": {
            "p50": round(statistics.median(latencies), 1) if latencies else None,
            "p99": round(float(np.percentile(latencies, 99)), 1) if latencies else None,
        },
        "counts": dict(sorted(counts.items())),
        "rss_kib_start": samples[0],
        "rss_kib_end": samples[-1],
        "rss_samples": samples,
        "stub_reloads": reloads,
        "failures": failures[:50],
        "machine": machine_line(),
        "command": " ".join(sys.argv),
    }


def markdown(r: dict) -> str:
    rows = "\n".join(
        f"| {name} | {r['rss_kib_start'].get(name, 0) / 1024:.1f} | {r['rss_kib_end'].get(name, 0) / 1024:.1f} |"
        for name in r["rss_kib_start"]
        if name != "t"
    )
    bad = "\n".join(f"| {k} | {v} |" for k, v in r["counts"].items() if k.startswith("bad:"))
    return f"""# Soak: {r["duration_s"]:.0f} s of saturation, good and bad requests mixed

`{r["command"]}` on {r["machine"]}; {r["workers"]} closed-loop client threads.

- good requests: **{r["good_requests"]}**, failed: **{r["good_failed"]}** (p50 {r["good_latency_ms"]["p50"]} ms, p99 {r["good_latency_ms"]["p99"]} ms)
- bad requests: **{r["bad_requests"]}**, not refused: **{r["bad_not_refused"]}**
- stub reloads: {len(r["stub_reloads"])}

| process | RSS at start (MiB) | RSS at end (MiB) |
|---|---|---|
{rows}

| bad request | count |
|---|---|
{bad}
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model_repository", required=True, help="A built repository (builders/build_repository.py).")
    p.add_argument("--duration", type=float, default=600, help="Seconds of load.")
    p.add_argument("--workers", type=int, default=6, help="Client threads, each in a closed loop.")
    p.add_argument("--bad_share", type=float, default=0.25, help="Share of requests that are bad.")
    p.add_argument("--sample_every", type=float, default=30, help="Seconds between RSS samples.")
    p.add_argument("--data", default=str(SAMPLE_DATA), help="Texts for the good requests.")
    p.add_argument("--log_file", default=None, help="tritonserver log (default: the run's private folder).")
    p.add_argument("--output", default=str(RESULTS_DIR / "soak"), help="Writes OUTPUT.json and OUTPUT.md.")
    args = p.parse_args(argv)

    def interrupt(signum, frame):  # SIGTERM (and SIGINT, which `cmd &` ignores) stop the run cleanly
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, interrupt)
    from hiercls.runtime.io import atomic_write_json, atomic_write_text

    result = run(args)
    atomic_write_json(f"{args.output}.json", result)
    atomic_write_text(f"{args.output}.md", markdown(result))
    print(markdown(result))
    return 1 if result["good_failed"] or result["bad_not_refused"] or "tritonserver died" in result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
