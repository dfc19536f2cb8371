"""Run a real ``tritonserver`` on this host, the binary bundled in the nvidia-pytriton
wheel (Triton 2.51, Python backend only), and supervise it.

    hiercls-serve --model_repository model_repository   (hiercls/cli/serve.py)

As a library, ``TritonServer`` is a context manager that starts the server on free
ports, waits until every model is ready and always stops it with its stubs; tests,
benchmarks and the demo use it.

What the supervisor adds to a bare ``tritonserver`` (deploy/README.md):

- a private working folder per run (mkdtemp, 0700, checked), never a shared name;
- HTTP and metrics on loopback whatever ``--host`` says (Triton 2.51's HTTP frontend
  crashes on deeply nested JSON); gRPC is what a network sees;
- the shared-memory, logging, trace and model-repository APIs behind a key
  (``admin_key``; a random one per run unless given);
- ports checked before the start, and readiness read only from the server it started
  (its ``--id`` is unique per run);
- a watcher that reloads a model whose Python-backend stub died (Triton 2.51 keeps
  reporting ready while every request fails), and that makes the stubs' /dev/shm
  regions private to this user (the backend creates them 0644);
- on stop, SIGTERM, SIGINT or a crash: tritonserver and every stub stopped, their
  /dev/shm regions removed, and a non-zero exit with the log's last lines when
  tritonserver died on its own.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hiercls.runtime.artifacts import CONFIG_FILE, SPEC_FILE
from hiercls.serving import procs
from hiercls.serving.procs import free_port  # noqa: F401  (kept importable from here)

logger = logging.getLogger(__name__)

# The admin APIs: whoever can call them can map the stubs' shared memory into an
# output (the server aborts), flood the log, trace, or unload models.
ADMIN_HEADER = "hiercls-admin-key"
RESTRICTED_APIS = ("shared-memory", "logging", "trace", "model-repository")
ADMIN_KEY_ENV = "HIERCLS_ADMIN_KEY"
# /dev/shm regions are named <SHM_FAMILY><supervisor pid>-<run token>-<uuid>.
SHM_FAMILY = "hiercls-"
LOG_TAIL_LINES = 25


class ServerError(RuntimeError):
    pass


def pytriton_root() -> Path:
    try:
        import pytriton
    except ImportError as e:
        raise ServerError("nvidia-pytriton is not installed (pip install -r requirements.txt)") from e
    root = Path(pytriton.__file__).parent / "tritonserver"
    if not (root / "bin" / "tritonserver").is_file():
        raise ServerError(f"no tritonserver binary under {root}")
    return root


def backend_directory(root: Path, folder: Path) -> Path:
    """A backends/ folder whose python/ holds the backend and the stub for this
    Python version (the bundled backend looks for its stub next to itself).
    ``folder`` must be private to this user: tritonserver runs what it finds there."""
    procs.check_private_dir(folder)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    stub = root / "python_backend_stubs" / version / "triton_python_backend_stub"
    if not stub.is_file():
        raise ServerError(f"the Triton python backend has no stub for Python {version}")
    python_dir = folder / "python"
    python_dir.mkdir(mode=0o700)
    for src in (
        root / "backends/python/libtriton_python.so",
        root / "backends/python/triton_python_backend_utils.py",
        stub,
    ):
        (python_dir / src.name).symlink_to(src)
    return folder


def server_env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    # The stub embeds the Python found on PATH: make it this interpreter, so the
    # backends see the same packages (numpy, onnxruntime, tokenizers).
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    libs = [str(root.parent.parent / "nvidia_pytriton.libs"), sysconfig.get_config_var("LIBDIR") or ""]
    env["LD_LIBRARY_PATH"] = os.pathsep.join([*filter(None, libs), env.get("LD_LIBRARY_PATH", "")])
    env.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    env.pop(ADMIN_KEY_ENV, None)  # the models have no use for it
    return env


def restricted_api_args(key: str) -> list[str]:
    apis = ",".join(RESTRICTED_APIS)
    return [
        f"--http-restricted-api={apis}:{ADMIN_HEADER}={key}",
        f"--grpc-restricted-protocol={apis}:{ADMIN_HEADER}={key}",
    ]


def log_tail(path: Path | None, lines: int = LOG_TAIL_LINES) -> str:
    if path is None or not Path(path).is_file():
        return ""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - 64 * 1024))
        text = f.read().decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])


def describe_exit(code: int | None) -> str:
    if code is None:
        return "is running"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


@dataclass
class TritonServer:
    model_repository: Path
    host: str = "127.0.0.1"  # gRPC address: what clients on a network reach
    http_port: int = 0
    grpc_port: int = 0
    metrics_port: int = 0
    log_file: Path | None = None  # default: tritonserver.log in the run's private folder
    startup_timeout: float = 120.0
    extra_args: list[str] = field(default_factory=list)
    # HTTP (and metrics) stay on loopback unless asked: see module docstring.
    http_host: str = "127.0.0.1"
    admin_key: str | None = None  # None: $HIERCLS_ADMIN_KEY, else a random key for this run
    watch_interval: float = 0.5  # seconds; 0 turns the stub watcher off
    stop_timeout: float = 30.0
    _proc: subprocess.Popen | None = field(default=None, init=False, repr=False)
    RELOAD_BACKOFF = 5.0  # seconds between two reloads of one model

    def __post_init__(self) -> None:
        self.workdir: Path | None = None
        self.server_id = ""
        self.shm_prefix = ""
        self.stub_reloads: list[tuple[str, int, float]] = []  # (model, HTTP status, seconds)
        self._watcher: threading.Thread | None = None
        self._stop_watch = threading.Event()
        self._lock = threading.Lock()
        self._keep_workdir = False

    @property
    def grpc_url(self) -> str:
        return f"{self.host}:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        return f"http://{self.http_host}:{self.http_port}"

    @property
    def admin_headers(self) -> dict[str, str]:
        return {ADMIN_HEADER: self.admin_key or ""}

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def command(self, backends: Path, root: Path) -> list[str]:
        return [
            str(root / "bin" / "tritonserver"),
            f"--id={self.server_id}",
            f"--model-repository={Path(self.model_repository).resolve()}",
            f"--backend-directory={backends}",
            f"--cache-directory={root / 'caches'}",
            f"--http-address={self.http_host}",
            f"--http-port={self.http_port}",
            f"--grpc-address={self.host}",
            f"--grpc-port={self.grpc_port}",
            "--allow-metrics=true",
            f"--metrics-address={self.http_host}",
            f"--metrics-port={self.metrics_port}",
            "--allow-gpu-metrics=false",
            "--exit-on-error=true",
            "--strict-readiness=true",
            "--pinned-memory-pool-byte-size=0",
            # explicit: the watcher can reload a model whose stub died (the repository
            # API is keyed, see restricted_api_args); every model loads at start.
            "--model-control-mode=explicit",
            "--load-model=*",
            f"--backend-config=python,shm-region-prefix-name={self.shm_prefix}",
            *restricted_api_args(self.admin_key or ""),
            *self.extra_args,
        ]

    # -- start -------------------------------------------------------------------------

    def start(self) -> TritonServer:
        repo = Path(self.model_repository)
        if not (repo / SPEC_FILE).is_file() and not any(repo.glob(f"*/{CONFIG_FILE}")):
            raise ServerError(f"{repo} holds no models: run builders/build_repository.py first")
        root = pytriton_root()
        self._check_ports()
        for stale in procs.remove_stale_regions(SHM_FAMILY):
            logger.warning("removed %s, left behind by a server that was killed", stale)
        token = secrets.token_hex(8)
        self.server_id = f"hiercls-{token}"
        self.shm_prefix = f"{SHM_FAMILY}{os.getpid()}-{token}-"
        self.admin_key = self.admin_key or os.environ.get(ADMIN_KEY_ENV) or secrets.token_urlsafe(24)
        self.workdir = procs.private_dir("hiercls-triton-")
        self._keep_workdir = False
        try:
            backends = self.workdir / "backends"
            backends.mkdir(mode=0o700)
            backend_directory(root, backends)
            if self.log_file is None:
                self.log_file = self.workdir / "tritonserver.log"
            Path(self.log_file).parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_file, "ab") as out:
                logger.info("starting tritonserver: grpc %s, http %s", self.grpc_url, self.http_url)
                self._proc = subprocess.Popen(
                    self.command(backends, root),
                    env=server_env(root),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    # Files the server and stubs create are this user's alone.
                    umask=0o077,
                )
            self.wait_ready()
            procs.lock_regions(self.shm_prefix)
            self._start_watcher()
        except BaseException:
            self.stop()
            raise
        return self

    def _check_ports(self) -> None:
        wanted = {"http_port": self.http_host, "grpc_port": self.host, "metrics_port": self.http_host}
        for attr, host in wanted.items():
            port = getattr(self, attr)
            if not port:
                setattr(self, attr, procs.free_port(host))
            elif procs.port_in_use(host, port):
                raise ServerError(
                    f"port {port} on {host} ({attr}) is already in use: another server is running there; "
                    "stop it or pick another port (0: any free one)"
                )

    def wait_ready(self) -> None:
        """Ready = this run's server (its --id) answers and every model is ready."""
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise ServerError(
                    f"tritonserver {describe_exit(self._proc.returncode)} during start-up; "
                    f"last log lines ({self.log_file}):\n{log_tail(self.log_file)}"
                )
            if self.is_ready():
                logger.info("tritonserver ready")
                return
            time.sleep(0.5)
        raise ServerError(f"tritonserver not ready after {self.startup_timeout:.0f}s; see {self.log_file}")

    def _get(self, path: str, timeout: float = 2.0) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"{self.http_url}{path}", timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, b""
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return 0, b""

    def is_ready(self) -> bool:
        status, body = self._get("/v2")
        if status != 200:
            return False
        try:
            if json.loads(body).get("name") != self.server_id:
                return False  # someone else's server on this port
        except ValueError:
            return False
        return self._get("/v2/health/ready")[0] == 200

    def admin_post(self, path: str, timeout: float = 120.0) -> tuple[int, str]:
        request = urllib.request.Request(
            f"{self.http_url}{path}", data=b"{}", method="POST", headers=self.admin_headers
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")

    # -- watching the stubs ------------------------------------------------------------

    def _start_watcher(self) -> None:
        if self.watch_interval <= 0 or self._proc is None:
            return
        # Counted here, before start() returns, so a stub that dies at once is missed by no one.
        expected = Counter(procs.stubs_of(self._proc.pid).values())
        self._stop_watch.clear()
        self._watcher = threading.Thread(
            target=self._watch, args=(self._proc, expected), name="hiercls-stub-watcher", daemon=True
        )
        self._watcher.start()

    def _watch(self, proc: subprocess.Popen, expected: Counter) -> None:
        """Every watch_interval: lock new shm regions, and reload any model with fewer
        live stubs than it had when the server became ready."""
        last_try: dict[str, float] = {}
        while not self._stop_watch.wait(self.watch_interval):
            if proc.poll() is not None:
                return
            procs.lock_regions(self.shm_prefix)
            alive = Counter(procs.stubs_of(proc.pid).values())
            for model in sorted(m for m, n in expected.items() if alive[m] < n):
                if time.monotonic() - last_try.get(model, -1e9) < self.RELOAD_BACKOFF:
                    continue
                last_try[model] = time.monotonic()
                logger.warning("a python-backend stub of %r died: reloading the model", model)
                with self._lock:
                    if self._stop_watch.is_set():
                        return
                    t0 = time.monotonic()
                    # Loading an unchanged model is a no-op in 2.51: unload first. Readiness
                    # turns false at once (the ensemble loses a step) and back once loaded.
                    status, body = self.admin_post(f"/v2/repository/models/{model}/unload")
                    if status == 200:
                        status, body = self.admin_post(f"/v2/repository/models/{model}/load")
                self.stub_reloads.append((model, status, time.monotonic() - t0))
                if status != 200:
                    logger.error("reloading %r failed (%d): %s", model, status, body)
                procs.lock_regions(self.shm_prefix)

    # -- stop ----------------------------------------------------------------------------

    def stop(self, timeout: float | None = None) -> None:
        """Stop tritonserver (SIGINT: it drains and unloads), then whatever is left of
        its process group (stubs), and remove the run's /dev/shm regions and folder."""
        timeout = self.stop_timeout if timeout is None else timeout
        self._stop_watch.set()
        with self._lock:
            proc, self._proc = self._proc, None
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout=5)
        if proc is not None:
            if proc.poll() is None:
                try:
                    os.kill(proc.pid, signal.SIGINT)
                except ProcessLookupError:
                    pass
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    logger.warning("tritonserver did not stop within %.0fs: killing it", timeout)
                    procs.signal_group(proc.pid, signal.SIGKILL)
                    proc.wait()
            stubborn = procs.stop_group(proc.pid)
            if stubborn:
                logger.warning("killed processes of tritonserver that ignored SIGTERM: %s", stubborn)
        if self.shm_prefix:
            procs.remove_regions(self.shm_prefix)
        if self.workdir is not None and not self._keep_workdir:
            if self.log_file is not None and Path(self.log_file).is_relative_to(self.workdir):
                self.log_file = None
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def keep_log(self) -> None:
        """Keep the run's folder (and a default log in it) when stopping."""
        self._keep_workdir = True

    def __enter__(self) -> TritonServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# -- command line ---------------------------------------------------------------------


class Terminated(Exception):
    """SIGTERM or SIGHUP reached the supervisor."""


def raise_terminated(signum, frame) -> None:
    raise Terminated(signal.Signals(signum).name)


def supervise(server: TritonServer, then: list[str] | None, poll: float = 0.5) -> int:
    """Run until tritonserver dies, a signal arrives or ``then`` finishes; the exit code."""
    child: subprocess.Popen | None = None
    try:
        if then:
            env = dict(os.environ, HIERCLS_GRPC_URL=server.grpc_url, HIERCLS_HTTP_URL=server.http_url)
            env.pop(ADMIN_KEY_ENV, None)
            child = subprocess.Popen(then, env=env)
        else:
            print(
                f"serving {server.model_repository}: grpc {server.grpc_url}, http {server.http_url} "
                f"(log {server.log_file}); Ctrl-C stops",
                flush=True,
            )
        while True:
            proc = server._proc
            code = proc.poll() if proc is not None else 0
            if code is not None:
                server.keep_log()
                print(
                    f"hiercls.serving.server: tritonserver {describe_exit(code)}; last log lines ({server.log_file}):\n"
                    f"{log_tail(server.log_file)}",
                    file=sys.stderr,
                    flush=True,
                )
                return 128 - code if code < 0 else (code or 1)
            if child is not None and child.poll() is not None:
                return child.returncode
            time.sleep(poll)
    except (KeyboardInterrupt, Terminated) as e:
        logger.info("%s: stopping tritonserver", type(e).__name__ if isinstance(e, KeyboardInterrupt) else e)
        return 0
    finally:
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
