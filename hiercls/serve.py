"""Run a real ``tritonserver`` on this host: the binary bundled in the nvidia-pytriton
wheel (Triton 2.51, Python backend only), on loopback by default.

    python -m hiercls.serve --model_repository model_repository

As a library, ``TritonServer`` is a context manager that starts the server on free
ports, waits until every model is ready and always stops it; tests and the
demo use it.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)


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


def backend_directory(root: Path, cache: Path) -> Path:
    """A backends/ folder whose python/ holds the backend and the stub for this
    Python version (the bundled backend looks for its stub next to itself)."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    stub = root / "python_backend_stubs" / version / "triton_python_backend_stub"
    if not stub.is_file():
        raise ServerError(f"the Triton python backend has no stub for Python {version}")
    python_dir = cache / "python"
    python_dir.mkdir(parents=True, exist_ok=True)
    for src in (
        root / "backends/python/libtriton_python.so",
        root / "backends/python/triton_python_backend_utils.py",
        stub,
    ):
        link = python_dir / src.name
        if link.is_symlink() or link.exists():
            if link.resolve() == src.resolve():
                continue
            link.unlink()
        link.symlink_to(src)
    return cache


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def server_env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    # The stub embeds the Python found on PATH: make it this interpreter, so the
    # backends see the same packages (numpy, onnxruntime, tokenizers).
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    libs = [str(root.parent.parent / "nvidia_pytriton.libs"), sysconfig.get_config_var("LIBDIR") or ""]
    env["LD_LIBRARY_PATH"] = os.pathsep.join([*filter(None, libs), env.get("LD_LIBRARY_PATH", "")])
    env.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    return env


@dataclass
class TritonServer:
    model_repository: Path
    host: str = "127.0.0.1"
    http_port: int = 0
    grpc_port: int = 0
    metrics_port: int = 0
    log_file: Path | None = None
    startup_timeout: float = 120.0
    extra_args: list[str] = field(default_factory=list)
    _proc: subprocess.Popen | None = field(default=None, init=False, repr=False)

    @property
    def grpc_url(self) -> str:
        return f"{self.host}:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    def command(self, backends: Path, root: Path) -> list[str]:
        return [
            str(root / "bin" / "tritonserver"),
            f"--model-repository={Path(self.model_repository).resolve()}",
            f"--backend-directory={backends}",
            f"--cache-directory={root / 'caches'}",
            f"--http-address={self.host}",
            f"--http-port={self.http_port}",
            f"--grpc-address={self.host}",
            f"--grpc-port={self.grpc_port}",
            "--allow-metrics=true",
            f"--metrics-address={self.host}",
            f"--metrics-port={self.metrics_port}",
            "--allow-gpu-metrics=false",
            "--exit-on-error=true",
            "--strict-readiness=true",
            "--pinned-memory-pool-byte-size=0",
            *self.extra_args,
        ]

    def start(self) -> TritonServer:
        if not (Path(self.model_repository) / "repository.json").is_file() and not any(
            Path(self.model_repository).glob("*/config.pbtxt")
        ):
            raise ServerError(f"{self.model_repository} holds no models: run builders/build_repository.py first")
        root = pytriton_root()
        backends = backend_directory(root, Path(tempfile.gettempdir()) / f"hiercls-triton-backends-{os.getuid()}")
        for attr in ("http_port", "grpc_port", "metrics_port"):
            if not getattr(self, attr):
                setattr(self, attr, free_port(self.host))
        if self.log_file:
            Path(self.log_file).parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        logger.info("starting tritonserver: http %s grpc %s", self.http_url, self.grpc_url)
        self._proc = subprocess.Popen(
            self.command(backends, root),
            env=server_env(root),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                hint = f"; see {self.log_file}" if self.log_file else ""
                raise ServerError(f"tritonserver exited with code {self._proc.returncode} during start-up{hint}")
            try:
                with urllib.request.urlopen(f"{self.http_url}/v2/health/ready", timeout=2) as r:
                    if r.status == 200:
                        logger.info("tritonserver ready")
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.5)
        raise ServerError(f"tritonserver not ready after {self.startup_timeout:.0f}s")

    def stop(self, timeout: float = 30.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGINT)  # Triton unloads models cleanly on SIGINT
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def __enter__(self) -> TritonServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Serve a model repository with the bundled tritonserver (CPU).")
    p.add_argument(
        "--model_repository", default="model_repository", help="Repository built by builders/build_repository.py."
    )
    p.add_argument("--host", default="127.0.0.1", help="Address to bind (loopback by default).")
    p.add_argument("--http_port", type=int, default=8000, help="HTTP port (0: any free one).")
    p.add_argument("--grpc_port", type=int, default=8001, help="gRPC port (0: any free one).")
    p.add_argument("--metrics_port", type=int, default=8002, help="Prometheus metrics port (0: any free one).")
    p.add_argument("--log_file", default=None, help="Server log file (default: a file in the temp folder).")
    p.add_argument(
        "--then",
        nargs=argparse.REMAINDER,
        default=None,
        help="Run this command once the server is ready (HIERCLS_GRPC_URL/HIERCLS_HTTP_URL set), then stop; exit with its code.",
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    server = TritonServer(
        Path(args.model_repository),
        args.host,
        args.http_port,
        args.grpc_port,
        args.metrics_port,
        Path(args.log_file) if args.log_file else None,
    )
    if server.log_file is None:
        server.log_file = Path(tempfile.gettempdir()) / "hiercls-tritonserver.log"
    with server:
        if args.then:
            env = dict(os.environ, HIERCLS_GRPC_URL=server.grpc_url, HIERCLS_HTTP_URL=server.http_url)
            sys.exit(subprocess.call(args.then, env=env))
        print(
            f"serving {args.model_repository}: grpc {server.grpc_url}, http {server.http_url} (log {server.log_file}); Ctrl-C stops",
            flush=True,
        )
        try:
            while server._proc is not None and server._proc.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
