"""Process, folder and shared-memory housekeeping for ``hiercls.serving.server`` (Linux /proc).

tritonserver runs in its own process group; its Python-backend stubs are children in
the same group. The supervisor finds them here, stops the whole group, and removes
the /dev/shm regions the python backend created under a prefix unique to one run.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SHM_DIR = Path("/dev/shm")
STUB_NAME = "triton_python_backend_stub"


class UnsafeDirectory(RuntimeError):
    pass


# -- folders ---------------------------------------------------------------------------


def private_dir(prefix: str) -> Path:
    """A new folder only this user can enter (mkdtemp: unpredictable name, 0700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    check_private_dir(path)
    return path


def check_private_dir(path: str | Path) -> None:
    """Refuse a folder that another user could have prepared or can change: a symlink,
    owned by someone else, or writable (or enterable) by group or others."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise UnsafeDirectory(f"{path} is not a plain folder")
    if st.st_uid != os.geteuid():
        raise UnsafeDirectory(f"{path} belongs to uid {st.st_uid}, not to this user ({os.geteuid()})")
    if st.st_mode & 0o077:
        raise UnsafeDirectory(f"{path} has mode {stat.S_IMODE(st.st_mode):o}; it must be 0700")


# -- ports -----------------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_in_use(host: str, port: int) -> bool:
    """True if a listener already holds host:port (or the wildcard address on it)."""
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


# -- processes -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcInfo:
    pid: int
    ppid: int
    pgid: int
    state: str
    argv: tuple[str, ...]

    @property
    def alive(self) -> bool:
        return self.state not in ("Z", "X")


def proc_info(pid: int) -> ProcInfo | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    fields = raw[raw.rindex(")") + 2 :].split()
    return ProcInfo(
        pid, int(fields[1]), int(fields[2]), fields[0], tuple(a.decode(errors="replace") for a in argv if a)
    )


def all_procs() -> list[ProcInfo]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = proc_info(int(entry))
            if info is not None:
                out.append(info)
    return out


def group_members(pgid: int, live_only: bool = True) -> list[ProcInfo]:
    return [p for p in all_procs() if p.pgid == pgid and (p.alive or not live_only)]


def stubs_of(server_pid: int) -> dict[int, str]:
    """Live Python-backend stubs of a tritonserver: pid -> model name. The stub's
    first argument is <repository>/<model>/<version>/model.py."""
    out = {}
    for p in all_procs():
        if p.ppid == server_pid and p.alive and p.argv and p.argv[0].endswith(STUB_NAME) and len(p.argv) > 1:
            out[p.pid] = Path(p.argv[1]).parent.parent.name
    return out


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def wait_group_gone(pgid: int, timeout: float) -> bool:
    """Wait until no live process is left in the group (zombies waiting for a parent
    that is itself gone do not count)."""
    deadline = time.monotonic() + timeout
    while group_members(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def stop_group(pgid: int, grace: float = 5.0) -> list[int]:
    """SIGTERM what is left of a process group, then SIGKILL after ``grace`` seconds.
    Returns the pids that needed SIGKILL."""
    if not group_members(pgid):
        return []
    signal_group(pgid, signal.SIGTERM)
    if wait_group_gone(pgid, grace):
        return []
    stubborn = [p.pid for p in group_members(pgid)]
    signal_group(pgid, signal.SIGKILL)
    wait_group_gone(pgid, 5.0)
    return stubborn


def pid_alive(pid: int) -> bool:
    info = proc_info(pid)
    return info is not None and info.alive


# -- shared memory ---------------------------------------------------------------------


def shm_regions(prefix: str) -> list[Path]:
    try:
        return sorted(p for p in SHM_DIR.iterdir() if p.name.startswith(prefix))
    except FileNotFoundError:
        return []


def lock_regions(prefix: str) -> list[Path]:
    """chmod 0600 the regions of this run that others could read (the python backend
    creates them 0644 whatever the umask). Returns the regions it changed."""
    changed = []
    for p in shm_regions(prefix):
        try:
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and st.st_mode & 0o077:
                os.chmod(p, 0o600)
                changed.append(p)
        except FileNotFoundError:
            pass
    return changed


def remove_regions(prefix: str) -> list[Path]:
    removed = []
    for p in shm_regions(prefix):
        try:
            if os.lstat(p).st_uid == os.geteuid():
                p.unlink()
                removed.append(p)
        except FileNotFoundError:
            pass
    return removed


def remove_stale_regions(family: str) -> list[Path]:
    """Regions named ``<family><pid>-...`` whose supervisor pid is gone: what a killed
    run left behind, texts included."""
    removed = []
    for p in shm_regions(family):
        owner = p.name[len(family) :].split("-", 1)[0]
        if owner.isdigit() and not pid_alive(int(owner)):
            removed += remove_regions(p.name)
    return removed
