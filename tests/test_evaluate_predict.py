"""evaluate.py and predict.py on the session checkpoint and its ONNX export."""

from __future__ import annotations

import json

from hiercls.data.reading import read_texts
from tests.conftest import SAMPLE, run_cli


def test_evaluate_reports_levels_classes_and_bad_cases(checkpoint, tmp_path):
    bad = tmp_path / "bad_case.txt"
    out = run_cli(
        "training/evaluate.py", "--dataset_dir", str(SAMPLE), "--params_path", str(checkpoint),
        "--bad_case_path", str(bad), "--device", "cpu",
    ).stdout  # fmt: skip
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["num_examples"] == 80
    assert set(report["levels"]) == {"1", "2"}
    labels = [c["label"] for c in report["classes"]]
    # Same last name under two parents: two classes, never merged.
    assert "科技##发布" in labels and "娱乐##发布" in labels
    assert all("train_count" in c for c in report["classes"])
    assert report["violation_rate"] == 0.0
    assert 0.0 <= report["raw_violation_rate"] <= 1.0
    lines = bad.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "Prediction\tLabel\tText"
    assert all(line.count("\t") == 2 for line in lines)
    assert len(lines) - 1 == round((1 - report["overall"]["accuracy"]) * 80)
    assert "exact-match accuracy" in out and "level 2:" in out


def test_evaluate_paddle_and_onnx_agree_on_test_file(checkpoint, export_dir, tmp_path):
    reports = {}
    for backend, path in (("paddle", checkpoint), ("onnx", export_dir)):
        run_cli(
            "training/evaluate.py", "--dataset_dir", str(SAMPLE), "--params_path", str(path), "--backend", backend,
            "--test_file", "test.txt", "--bad_case_path", str(tmp_path / backend / "bad.txt"), "--device", "cpu",
        )  # fmt: skip
        reports[backend] = json.loads((tmp_path / backend / "report.json").read_text())
    assert reports["paddle"]["eval_file"].endswith("test.txt")
    assert reports["paddle"]["overall"] == reports["onnx"]["overall"]


def test_single_threshold_override_changes_the_result(checkpoint, tmp_path):
    f1 = {}
    for t in ("0.05", "0.95"):
        run_cli(
            "training/evaluate.py", "--dataset_dir", str(SAMPLE), "--params_path", str(checkpoint),
            "--threshold", t, "--bad_case_path", str(tmp_path / t / "bad.txt"), "--device", "cpu",
        )  # fmt: skip
        f1[t] = json.loads((tmp_path / t / "report.json").read_text())["overall"]
    assert f1["0.05"]["micro_recall"] > f1["0.95"]["micro_recall"]
    assert f1["0.05"]["micro_precision"] < f1["0.95"]["micro_precision"]


def test_predict_writes_one_line_per_text_and_backends_agree(checkpoint, export_dir, tmp_path):
    results = {}
    for backend, path in (("paddle", checkpoint), ("onnx", export_dir)):
        out = tmp_path / f"{backend}.jsonl"
        run_cli(
            "training/predict.py", "--dataset_dir", str(SAMPLE), "--params_path", str(path),
            "--backend", backend, "--output_file", str(out), "--device", "cpu",
        )  # fmt: skip
        results[backend] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    texts = read_texts(SAMPLE / "data.txt")
    assert [r["text"] for r in results["paddle"]] == texts
    assert [r["labels"] for r in results["paddle"]] == [r["labels"] for r in results["onnx"]]
