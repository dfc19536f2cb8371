"""Serve a model repository with the tritonserver bundled in nvidia-pytriton (CPU),
supervised (hiercls.serving.server: private folders, admin APIs keyed, dead stubs
reloaded, everything stopped on exit).

    .venv/bin/hiercls-serve --model_repository model_repository
    .venv/bin/hiercls-serve --model_repository model_repository --http_port 0 --grpc_port 0 --metrics_port 0 \\
        --then .venv/bin/hiercls-client --texts "某公司宣布裁员"
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from hiercls.cli.args import HelpFormatter
from hiercls.serving import procs
from hiercls.serving.server import (
    ADMIN_HEADER,
    ADMIN_KEY_ENV,
    ServerError,
    Terminated,
    TritonServer,
    raise_terminated,
    supervise,
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument(
        "--model_repository", default="model_repository", help="Repository built by builders/build_repository.py."
    )
    p.add_argument("--host", default="127.0.0.1", help="Address for gRPC (loopback by default; 0.0.0.0 exposes it).")
    p.add_argument(
        "--http_host",
        default="127.0.0.1",
        help="Address for HTTP and metrics. Loopback by default whatever --host says: Triton 2.51's HTTP "
        "frontend crashes on deeply nested JSON, so expose it only behind a proxy that limits bodies.",
    )
    p.add_argument("--http_port", type=int, default=8000, help="HTTP port (0: any free one).")
    p.add_argument("--grpc_port", type=int, default=8001, help="gRPC port (0: any free one).")
    p.add_argument("--metrics_port", type=int, default=8002, help="Prometheus metrics port (0: any free one).")
    p.add_argument("--log_file", default=None, help="Server log file (default: in the run's private temp folder).")
    p.add_argument(
        "--admin_key_file",
        default=None,
        help=f"File holding the key for the admin APIs (header {ADMIN_HEADER}); default ${ADMIN_KEY_ENV}, "
        "else a random key nobody knows.",
    )
    p.add_argument(
        "--then",
        nargs=argparse.REMAINDER,
        default=None,
        help="Run this command once the server is ready (HIERCLS_GRPC_URL/HIERCLS_HTTP_URL set), then stop; exit with its code.",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, raise_terminated)
    key = Path(args.admin_key_file).read_text(encoding="utf-8").strip() if args.admin_key_file else None
    server = TritonServer(
        Path(args.model_repository),
        host=args.host,
        http_port=args.http_port,
        grpc_port=args.grpc_port,
        metrics_port=args.metrics_port,
        log_file=Path(args.log_file) if args.log_file else None,
        http_host=args.http_host,
        admin_key=key,
    )
    try:
        server.start()
    except (ServerError, procs.UnsafeDirectory) as e:
        print(f"hiercls.serving.server: {e}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, Terminated):
        return 0
    try:
        return supervise(server, args.then)
    finally:
        # A second signal while stopping must not cut the cleanup short.
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
