"""Session fixtures: one tiny model trained on the shipped sample, exported, built
into a cpu-target repository and served by a real tritonserver on free loopback
ports. Built once per test session, always torn down."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
os.environ.setdefault("OMP_NUM_THREADS", "2")


def pytest_sessionstart(session) -> None:
    """The scripts the tests run (training/train.py ...) import the installed hiercls:
    it must be this checkout's, or they would test other code."""
    found = subprocess.run(
        [sys.executable, "-c", "import hiercls; print(hiercls.__file__)"],
        cwd=Path(sys.executable).parent,  # not the checkout: only the installed package can answer
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not found or Path(found).resolve() != ROOT / "hiercls" / "__init__.py":
        pytest.exit(
            f"{sys.executable} imports hiercls from {found or 'nowhere'}, not {ROOT / 'hiercls'}: "
            "run scripts/setup.sh (it installs this checkout, editable)",
            returncode=4,
        )


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run a repository script with this interpreter; fail with its output."""
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("train") / "checkpoint"
    run_cli(
        "training/train.py",
        "--dataset_dir",
        str(SAMPLE),
        "--save_dir",
        str(out),
        "--model_name",
        "hiercls-tiny",
        "--from_scratch",
        "--epochs",
        "15",
        "--batch_size",
        "16",
        "--learning_rate",
        "3e-3",
        "--warmup",
        "--warmup_steps",
        "20",
        "--logging_steps",
        "100",
    )
    return out


@pytest.fixture(scope="session")
def export_dir(checkpoint, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "export"
    run_cli("builders/export_model.py", "--params_path", str(checkpoint), "--output_path", str(out))
    return out


def build_test_repository(export_dir: Path, out: Path, *extra: str) -> Path:
    """A cpu-target repository as the tests serve it; ``extra`` adds builder flags."""
    # Small max_batch_size so the tests can exceed it cheaply.
    run_cli(
        "builders/build_repository.py",
        "--export_dir",
        str(export_dir),
        "--output_dir",
        str(out),
        "--target",
        "cpu",
        "--max_batch_size",
        "16",
        "--preferred_batch_size",
        "4",
        "8",
        "16",
        *extra,
    )
    return out


@pytest.fixture(scope="session")
def cpu_repository(export_dir, tmp_path_factory) -> Path:
    return build_test_repository(export_dir, tmp_path_factory.mktemp("repo") / "model_repository")


@pytest.fixture(scope="session")
def triton_server(cpu_repository, tmp_path_factory):
    from hiercls.serving.server import TritonServer

    log = tmp_path_factory.mktemp("triton") / "tritonserver.log"
    server = TritonServer(cpu_repository, log_file=log)
    server.start()
    try:
        yield server
    finally:
        server.stop()
