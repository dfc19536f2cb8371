"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import codecs
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        # mkstemp makes the file 0600; a server running as another user (the NGC
        # image's triton-server) must still read it.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def iter_lines(path: str | Path, error: type[Exception] = ValueError) -> Iterator[tuple[int, str]]:
    """(line number, line without its newline) of a UTF-8 text file. A BOM (Windows
    editors) is dropped; a line that is not UTF-8 raises ``error`` naming file and line.
    A lone CR (old Mac line endings) ends a line too, as in Python's universal
    newlines (PaddleNLP reads with them), with a warning naming it."""
    lineno = 0
    warned = False
    with open(path, "rb") as f:
        for raw in f:
            if lineno == 0 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            body = raw.rstrip(b"\r\n")
            parts = body.split(b"\r")
            if len(parts) > 1 and not warned:
                warned = True
                logging.getLogger("hiercls.data.reading").warning(
                    "%s:%d: CR-only (old Mac) line endings; reading each CR as a line break", path, lineno + 1
                )
            for part in parts:
                lineno += 1
                try:
                    line = part.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise error(f"{path}:{lineno}: not valid UTF-8 (byte {e.start}); save the file as UTF-8") from None
                yield lineno, line


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def swap_dir(new: str | Path, dest: str | Path) -> None:
    """Replace folder dest by the finished folder new (same parent), so readers see
    the old or the new one, never a half-written one."""
    new, dest = Path(new), Path(dest)
    old = dest.with_name(f".{dest.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        dest.rename(old)
    new.rename(dest)
    shutil.rmtree(old, ignore_errors=True)


def fresh_dir(path: str | Path) -> Path:
    """An empty folder at path (removed first if it exists): a staging area for swap_dir."""
    path = Path(path)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path
