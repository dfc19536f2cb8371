"""Command-line entry points that end with one line, not a traceback, on errors the
user can fix (a data file, a server that is down, a refused request)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from pathlib import Path

# By name, so that importing this does not import tritonclient or paddle.
EXPECTED = {
    "DataFormatError",
    "FileNotFoundError",
    "ConnectionError",
    "InferenceServerException",
    "UnsafeDirectory",
    "TeacherError",
    "InitCheckpointError",
}


def one_line(e: BaseException) -> str:
    if type(e).__name__ == "InferenceServerException":
        status = e.status() if callable(getattr(e, "status", None)) else None
        message = e.message() if callable(getattr(e, "message", None)) else str(e)
        text = f"server: {message}" + (f" ({status})" if status else "")
    else:
        text = str(e) or type(e).__name__
    return " ".join(text.split())


def _expected(e: BaseException) -> bool:
    return any(c.__name__ in EXPECTED for c in type(e).__mro__)


def prog() -> str:
    """The command's name as the user typed it (``train.py``, ``hiercls-train``), for messages."""
    return Path(sys.argv[0]).name


def run_main(main: Callable[[], object], prog: str) -> int:
    """main() with SIGTERM handled like Ctrl-C; an expected error prints
    ``prog: error: ...`` (exit 1), an interruption exits 130."""

    def terminate(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        code = main()
        return code if isinstance(code, int) else 0
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if not _expected(e):
            raise
        print(f"{prog}: error: {one_line(e)}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
