"""builders/ensemble_models.py: several export folders averaged in one ONNX graph."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hiercls.compression.variants import convert
from hiercls.data.reading import read_examples
from hiercls.evaluation.predictor import OnnxPredictor
from hiercls.export.ensemble import EnsembleError, build_ensemble
from hiercls.runtime.artifacts import EXPORT_META, LABEL_FILE, ONNX_FILE, THRESHOLDS_FILE, TOKENIZER_FILE
from tests.conftest import ROOT, build_test_repository


@pytest.fixture(scope="module")
def int8_member(export_dir, tmp_path_factory) -> Path:
    """A second member with the same labels and tokenizer but other logits."""
    out = tmp_path_factory.mktemp("member") / "export_int8"
    shutil.copytree(export_dir, out)
    convert(export_dir / ONNX_FILE, out / ONNX_FILE, "int8")
    return out


def dev_texts(sample_dir: Path, export: Path) -> list[str]:
    hierarchy = OnnxPredictor(export).hierarchy
    return [e.text for e in read_examples(sample_dir / "dev.txt", hierarchy)]


def test_ensemble_scores_each_text_with_the_weighted_mean_of_its_members_probabilities(
    export_dir, int8_member, sample_dir, tmp_path
):
    texts = dev_texts(sample_dir, export_dir)
    a = OnnxPredictor(export_dir).probs(texts)
    b = OnnxPredictor(int8_member).probs(texts)
    assert np.abs(a - b).max() > 1e-3  # the members differ, or the test proves nothing
    out = tmp_path / "ensemble"
    meta = build_ensemble([export_dir, int8_member], out, weights=[3.0, 1.0])
    got = OnnxPredictor(out).probs(texts)
    np.testing.assert_allclose(got, 0.75 * a + 0.25 * b, atol=2e-6)
    assert meta["ensemble"]["weights"] == [3.0, 1.0]
    assert json.loads((out / EXPORT_META).read_text())["max_seq_length"] == meta["max_seq_length"]
    assert not (tmp_path / "ensemble.tmp").exists()


def _edit_label_file(folder: Path) -> None:
    lines = (folder / LABEL_FILE).read_text(encoding="utf-8").splitlines()
    (folder / LABEL_FILE).write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")


def _edit_tokenizer(folder: Path) -> None:
    with open(folder / TOKENIZER_FILE, "a", encoding="utf-8") as f:
        f.write(" ")


def _edit_length(folder: Path) -> None:
    meta = json.loads((folder / EXPORT_META).read_text())
    meta["max_seq_length"] += 1
    (folder / EXPORT_META).write_text(json.dumps(meta))


@pytest.mark.parametrize(
    "edit, message",
    [
        (_edit_label_file, "label.txt differs"),
        (_edit_tokenizer, "tokenizer.json differs"),
        (_edit_length, "max_seq_length"),
    ],
)
def test_members_that_cannot_share_one_input_are_refused_naming_what_differs(export_dir, tmp_path, edit, message):
    other = tmp_path / "other"
    shutil.copytree(export_dir, other)
    edit(other)
    with pytest.raises(EnsembleError, match=message):
        build_ensemble([export_dir, other], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_ensemble_cli_tunes_thresholds_on_dev_and_the_folder_builds_a_repository(
    export_dir, int8_member, sample_dir, tmp_path
):
    out = tmp_path / "ensemble"
    proc = subprocess.run(
        [
            sys.executable, "builders/ensemble_models.py", "--members", f"{export_dir},{int8_member}",
            "--output_path", str(out), "--dataset_dir", str(sample_dir),
        ],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)["dev"]
    assert set(report) == {"ensemble", str(export_dir), str(int8_member)}
    # every model scored the same way: out of fold, and at 0.5 with closure
    assert all(0 < r[k]["micro_f1"] <= 100 for r in report.values() for k in ("out_of_fold", "at_0.5"))
    assert "out-of-fold" in json.loads((out / THRESHOLDS_FILE).read_text())["source"]
    repo = build_test_repository(out, tmp_path / "repo")
    assert (repo / "seqcls_model").is_dir()


def test_ensemble_cli_refuses_bad_weights_in_one_line(export_dir, int8_member, tmp_path):
    proc = subprocess.run(
        [
            sys.executable, "builders/ensemble_models.py", "--members", f"{export_dir},{int8_member}",
            "--output_path", str(tmp_path / "o"), "--weights", "1,0",
        ],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "one positive weight per member" in proc.stderr and "Traceback" not in proc.stderr
