"""Building the model repository from an export folder."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from hiercls.repository.build import build_repository, spec_from_export
from hiercls.repository.triton_config import parse


def imported_modules(path: Path) -> set[str]:
    """Top-level packages a file imports (relative imports excluded), at any depth
    except inside ``except ImportError`` fallbacks for the source tree."""
    tree = ast.parse(path.read_text())
    fallback = {id(n) for h in ast.walk(tree) if isinstance(h, ast.ExceptHandler) for n in ast.walk(h)}
    mods = set()
    for node in ast.walk(tree):
        if id(node) in fallback:
            continue
        if isinstance(node, ast.Import):
            mods |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            mods.add(node.module.split(".")[0])
    return mods


def test_built_repository_is_self_contained(export_dir, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("kept")
    names = build_repository(export_dir, repo, spec_from_export(export_dir))
    assert names == ["tokenizer", "seqcls_model", "seqcls_postprocess", "seqcls"]
    for name in names:
        assert parse((repo / name / "config.pbtxt").read_text()).name == name
        assert (repo / name / "1").is_dir()
    for f in (
        "tokenizer/1/tokenizer.json",
        "seqcls_model/1/model.onnx",
        "seqcls_postprocess/1/label.txt",
        "seqcls_postprocess/1/thresholds.json",
        "tokenizer/1/hiercls_runtime/tokenization.py",
    ):
        assert (repo / f).is_file(), f
    # Nothing in the repository imports paddle: the serving image does not have it.
    for py in repo.rglob("*.py"):
        assert not {"paddle", "paddlenlp", "hiercls"} & imported_modules(py), py
    assert (repo / "README.md").read_text() == "kept"
    assert not (repo / ".staging").exists()


def test_rebuild_replaces_models_and_drops_stale_ones(export_dir, tmp_path):
    repo = tmp_path / "repo"
    build_repository(export_dir, repo, spec_from_export(export_dir, name="news"))
    build_repository(export_dir, repo, spec_from_export(export_dir, target="gpu"))
    assert sorted(p.name for p in repo.iterdir() if p.is_dir()) == sorted(
        ["tokenizer", "seqcls_model", "seqcls_postprocess", "seqcls"]
    )
    assert not (repo / "seqcls_model/1/model.py").exists()  # gpu: Triton's onnxruntime backend


def test_incomplete_export_is_refused(export_dir, tmp_path):
    broken = tmp_path / "export"
    shutil.copytree(export_dir, broken)
    (broken / "tokenizer.json").unlink()
    with pytest.raises(FileNotFoundError, match="tokenizer.json"):
        build_repository(broken, tmp_path / "repo", spec_from_export(broken))


def test_label_count_mismatch_is_refused(export_dir, tmp_path):
    with pytest.raises(ValueError, match="labels"):
        build_repository(export_dir, tmp_path / "repo", spec_from_export(export_dir, num_labels=7))
