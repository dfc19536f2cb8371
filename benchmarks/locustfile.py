"""Locust load test of the ``seqcls`` ensemble over gRPC (tritonclient.grpc).

    locust -f benchmarks/locustfile.py --headless -u 8 -r 8 -t 30s --host 127.0.0.1:8001 \
        --data /work/shared/data/duee_hier/dev.txt --batch-size 32 --csv out/run SeqClsUser

``benchmarks/run_locust.py`` wraps this (server start, user sweep, summary, plots);
use it unless you need Locust's own flags.

Users:
- ``SeqClsUser``: closed loop (no think time, so concurrency = users). Its ``batch``
  task sends ``--batch-size`` texts drawn at random from ``--data`` (any
  PaddleNLP-format file; default the shipped sample's data.txt), its ``single_text``
  task one text; ``--batch-weight`` / ``--single-weight`` mix them.
- ``BadRequestUser`` (``--bad-users`` of them, ``--bad-rate`` requests/s each): empty
  text, wrong dtype, 100k characters, invalid UTF-8, in turn. A bad request that
  gets the expected error counts as a success (``bad:<kind>``); one that is
  answered, or fails some other way, counts as a failure.

Locust's ``response_length`` is the number of texts in the request, so the CSV's
"Average Content Size" is texts per request. Runs are refused unless the host is
loopback, ``-t`` is given and users and time stay under the ceilings in
benchmarks/common.py. ``--latency-file`` also writes every response time (ms,
unrounded, per request name) as JSON: Locust's CSV rounds percentiles above 100 ms.
"""

from __future__ import annotations

# Locust runs on gevent; gRPC must be told before tritonclient.grpc imports it.
import grpc.experimental.gevent as grpc_gevent

grpc_gevent.init_gevent()

import atexit  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import tritonclient.grpc as grpcclient  # noqa: E402
from locust import User, constant, constant_throughput, events  # noqa: E402
from tritonclient.utils import InferenceServerException  # noqa: E402

from benchmarks.common import (  # noqa: E402
    MAX_RUN_SECONDS,
    MAX_USERS,
    SAMPLE_DATA,
    load_texts,
    requested_outputs,
    require_loopback,
    text_input,
)
from hiercls.runtime import contract  # noqa: E402

POOL_SIZE = 256  # prebuilt requests per process: keeps the client's CPU out of the way


@events.init_command_line_parser.add_listener
def _(parser) -> None:
    g = parser.add_argument_group("hiercls")
    g.add_argument("--data", default=str(SAMPLE_DATA), help="PaddleNLP-format file whose texts are sent.")
    g.add_argument("--batch-size", type=int, default=32, help="Texts per request of the batch task.")
    g.add_argument("--model-name", default="seqcls", help="Ensemble to call.")
    g.add_argument("--batch-weight", type=int, default=1, help="Weight of the batch task.")
    g.add_argument("--single-weight", type=int, default=0, help="Weight of the single-text task.")
    g.add_argument("--bad-users", type=int, default=1, help="BadRequestUser count when that class is selected.")
    g.add_argument("--bad-rate", type=float, default=2.0, help="Bad requests per second per BadRequestUser.")
    g.add_argument("--request-timeout", type=float, default=60.0, help="Client timeout per request (s).")
    g.add_argument("--latency-file", default="", help="Also write every response time (ms) per name to this JSON.")


class Pool:
    """Prebuilt InferInputs (read-only, shared by the users of a process)."""

    batches: list[grpcclient.InferInput] = []
    singles: list[grpcclient.InferInput] = []
    batch_size = 32

    @classmethod
    def fill(cls, data: str, batch_size: int, seed: int = 0) -> None:
        texts = load_texts(data)
        rng = random.Random(seed)
        cls.batch_size = batch_size
        cls.batches = [text_input([rng.choice(texts) for _ in range(batch_size)]) for _ in range(POOL_SIZE)]
        cls.singles = [text_input([t]) for t in rng.sample(texts, min(POOL_SIZE, len(texts)))]


def _wrong_dtype() -> grpcclient.InferInput:
    inp = grpcclient.InferInput(contract.TEXT_INPUT, [1, 1], "INT32")
    inp.set_data_from_numpy(np.array([[7]], dtype=np.int32))
    return inp


# kind -> (request, a piece of the error message it must get back)
BAD_REQUESTS = {
    "empty": (lambda: text_input([b""]), "empty"),
    "wrong_dtype": (_wrong_dtype, "data-type"),
    "100k_chars": (lambda: text_input(["判" * 100_000]), "characters"),
    "invalid_utf8": (lambda: text_input([b"\xff\xfe\xfa bad bytes"]), "utf-8"),
}

LATENCIES: dict[str, list[float]] = defaultdict(list)


@events.init.add_listener
def _(environment, **_kw) -> None:
    o = environment.parsed_options
    if o is None:  # library use (tests building an Environment by hand)
        return
    problems = []
    if not o.host:
        problems.append("--host HOST:PORT (the gRPC address) is required")
    else:
        try:
            require_loopback(o.host)
        except ValueError as e:
            problems.append(str(e))
    if not o.headless or not o.run_time:
        problems.append("run headless with a time limit (--headless -t 30s): every run must be bounded")
    elif o.run_time > MAX_RUN_SECONDS:
        problems.append(f"-t {o.run_time}s is over the {MAX_RUN_SECONDS}s ceiling")
    if (o.num_users or 0) > MAX_USERS:
        problems.append(f"-u {o.num_users} is over the {MAX_USERS} user ceiling")
    if o.batch_size < 1:
        problems.append("--batch-size must be at least 1")
    if o.bad_rate <= 0:
        problems.append("--bad-rate must be positive")
    if problems:
        sys.exit("locustfile: " + "; ".join(problems))
    Pool.fill(o.data, o.batch_size)
    SeqClsUser.tasks = [SeqClsUser.batch] * o.batch_weight + [SeqClsUser.single_text] * o.single_weight
    if not SeqClsUser.tasks:
        sys.exit("locustfile: --batch-weight and --single-weight are both 0")
    BadRequestUser.fixed_count = max(0, o.bad_users)
    BadRequestUser.wait_time = constant_throughput(o.bad_rate)


@events.request.add_listener
def _(name, response_time, exception, **_kw) -> None:
    if exception is None:
        LATENCIES[name].append(response_time)


@events.quitting.add_listener
def _(environment, **_kw) -> None:
    o = environment.parsed_options
    if o is not None and o.latency_file:
        Path(o.latency_file).write_text(json.dumps(LATENCIES), encoding="utf-8")


# gRPC under gevent can deadlock in a channel finaliser while the interpreter shuts
# down (seen about one run in ten: the process hangs after "Shutting down", in
# Py_FinalizeEx -> gc -> cygrpc, on a mutex). Locust has written every file by the
# time sys.exit() runs atexit hooks, and atexit runs before that garbage collection,
# so leave from there with Locust's exit code.
_EXIT_CODE = [0]


@events.quit.add_listener
def _(exit_code, **_kw) -> None:
    _EXIT_CODE[0] = exit_code
    atexit.register(_leave_now)


def _leave_now() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_EXIT_CODE[0])


class TritonUser(User):
    abstract = True

    def on_start(self) -> None:
        o = self.environment.parsed_options
        self.model_name = o.model_name if o else "seqcls"
        self.timeout = o.request_timeout if o else 60.0
        self.client = grpcclient.InferenceServerClient(self.host)

    def on_stop(self) -> None:
        self.client.close()

    def call(self, inp: grpcclient.InferInput):
        """One inference: (result or None, the server's error or None, milliseconds)."""
        start = time.perf_counter()
        result, error = None, None
        try:
            result = self.client.infer(
                self.model_name,
                [inp],
                outputs=requested_outputs(),
                client_timeout=self.timeout,
            )
        except InferenceServerException as e:
            error = e
        return result, error, (time.perf_counter() - start) * 1000

    def report(self, name: str, ms: float, rows: int, exception: Exception | None) -> None:
        self.environment.events.request.fire(
            request_type="grpc",
            name=name,
            response_time=ms,
            response_length=rows,
            response=None,
            context={},
            exception=exception,
        )


class SeqClsUser(TritonUser):
    wait_time = constant(0)
    tasks = []  # set from the command line in the init listener

    def _send(self, name: str, inp: grpcclient.InferInput, rows: int) -> None:
        result, error, ms = self.call(inp)
        if error is None:
            got = result.as_numpy(contract.LABEL_OUTPUT).shape[0]
            if got != rows:
                error = AssertionError(f"{rows} texts sent, {got} rows answered")
        self.report(name, ms, rows, error)

    def batch(self) -> None:
        self._send(f"batch{Pool.batch_size}", random.choice(Pool.batches), Pool.batch_size)

    def single_text(self) -> None:
        self._send("single", random.choice(Pool.singles), 1)


class BadRequestUser(TritonUser):
    fixed_count = 1
    wait_time = constant_throughput(2.0)

    def on_start(self) -> None:
        super().on_start()
        self.requests = {kind: (make(), expect) for kind, (make, expect) in BAD_REQUESTS.items()}
        self.order = list(self.requests)
        self.turn = random.randrange(len(self.order))

    def bad(self) -> None:
        kind = self.order[self.turn % len(self.order)]
        self.turn += 1
        inp, expect = self.requests[kind]
        _, error, ms = self.call(inp)
        if error is None:
            outcome = AssertionError(f"bad request {kind!r} was answered instead of refused")
        elif expect not in str(error).lower():
            outcome = AssertionError(f"bad request {kind!r} got an unexpected error: {str(error)[:200]}")
        else:
            outcome = None  # refused with the right reason: what we want
        self.report(f"bad:{kind}", ms, 1, outcome)

    tasks = [bad]
