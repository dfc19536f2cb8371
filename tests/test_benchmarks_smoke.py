"""Smoke test of the load-test suite: Locust (benchmarks/locustfile.py through
benchmarks/run_locust.py) for a few seconds against the session's test server.

Checks that requests were made and none failed, that bad requests were refused as
expected, and that the reports were written. No timing is asserted: numbers from
a shared CI machine mean nothing.
"""

from __future__ import annotations

import csv
import json

import pytest

from benchmarks.common import NotLoopbackError, require_loopback
from tests.conftest import ROOT, run_cli


def read_stats(path) -> dict[str, dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return {row["Name"]: row for row in csv.DictReader(f)}


def test_locust_runs_against_the_test_server_without_failures(triton_server, sample_dir, tmp_path):
    raw = tmp_path / "raw"
    run_cli(
        "-m",
        "benchmarks.run_locust",
        "--url",
        triton_server.grpc_url,
        "--data",
        str(sample_dir / "data.txt"),
        "--batch_size",
        "8",  # the test repository's max_batch_size is 16
        "--users",
        "2",
        "--run_time",
        "4",
        "--single_weight",
        "1",
        "--bad_users",
        "1",
        "--bad_rate",
        "4",
        "--name",
        "smoke",
        "--out_dir",
        str(tmp_path),
        "--raw_dir",
        str(raw),
        timeout=180,
    )
    stats = read_stats(raw / "u2_stats.csv")
    total = stats["Aggregated"]
    assert int(total["Request Count"]) > 0
    assert int(total["Failure Count"]) == 0, (raw / "u2_failures.csv").read_text()
    assert int(stats["batch8"]["Request Count"]) > 0
    assert float(stats["batch8"]["Average Content Size"]) == 8  # texts per request
    assert int(stats["single"]["Request Count"]) > 0
    # Bad requests were sent, and every one was refused with the expected error.
    assert any(name.startswith("bad:") for name in stats)

    summary = (tmp_path / "smoke.md").read_text(encoding="utf-8")
    assert "texts/s" in summary and "p99" in summary
    assert (tmp_path / "smoke.csv").is_file()
    for png in ("smoke_latency.png", "smoke_throughput.png"):
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("url", ["127.0.0.1:8001", "localhost:8001", "[::1]:8001"])
def test_loopback_addresses_are_accepted(url):
    assert require_loopback(url) == url


@pytest.mark.parametrize("url", ["8.8.8.8:8001", "10.0.0.1:8001"])
def test_other_addresses_are_refused(url):
    with pytest.raises(NotLoopbackError):
        require_loopback(url)


def test_locustfile_refuses_an_unbounded_run(triton_server):
    # No -t: Locust would run until interrupted; the locustfile must refuse.
    import subprocess
    import sys

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            "benchmarks/locustfile.py",
            "--headless",
            "-u",
            "1",
            "--host",
            triton_server.grpc_url,
            "SeqClsUser",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "bounded" in proc.stderr + proc.stdout


def test_interleaved_timing_rotates_the_order_each_round():
    from benchmarks.common import interleaved_ms_per_item

    calls: list[str] = []
    rounds_seen: list[int] = []
    runs = {name: (lambda n=name: calls.append(n)) for name in ("a", "b", "c")}
    times = interleaved_ms_per_item(runs, rounds=3, items=4, on_round=rounds_seen.append)
    assert calls == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert rounds_seen == [1, 2, 3]
    assert {k: len(v) for k, v in times.items()} == {"a": 3, "b": 3, "c": 3}
    assert all(t >= 0 for v in times.values() for t in v)


def test_paddlenlp_pattern_is_served_beside_ours_and_both_answer(checkpoint, export_dir, sample_dir, tmp_path):
    """benchmarks/vs_paddlenlp.py end to end for a moment: both pipelines built into one
    repository, served by one tritonserver, both loads run, the report written with a
    ratio per load. The PaddleNLP pattern answers every row with its 0.5 threshold."""
    import json

    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "checkpoint").symlink_to(checkpoint)
    (bench / "export").symlink_to(export_dir)
    run_cli(
        "-m",
        "benchmarks.vs_paddlenlp",
        "--model",
        f"tiny={bench}",
        "--data",
        str(sample_dir / "data.txt"),
        "--rounds",
        "1",
        "--slice_s",
        "0.5",
        "--name",
        "smoke_vs",
        "--out_dir",
        str(tmp_path),
        "--work_dir",
        str(tmp_path / "work"),
        timeout=300,
    )
    report = json.loads((tmp_path / "smoke_vs.json").read_text(encoding="utf-8"))
    for pipeline in ("tiny ours", "tiny PaddleNLP pattern"):
        for load in ("batch32", "single8"):
            assert report["result"][pipeline][load]["requests"] > 0
    assert report["result"]["tiny PaddleNLP pattern"]["single8"]["rows_per_execution"] == 1
    assert [r["pair"] for r in report["ratios"]] == ["tiny: ours / PaddleNLP pattern"]
    assert (tmp_path / "smoke_vs.png").stat().st_size > 0


def test_quality_frontier_and_threshold_policies_report_the_test_split(export_dir, sample_dir, tmp_path):
    from benchmarks.quality import frontier, threshold_policies

    out = tmp_path / "frontier"
    frontier.main(
        ["--dataset_dir", str(sample_dir), "--model", f"tiny={export_dir}", "--rounds", "1", "--batches", "1",
         "--batch_size", "8", "--output", str(out)]
    )  # fmt: skip
    rep = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    (row,) = rep["models"]
    # timed on one thread (CPU time, the cost the plot uses) and on all cores
    assert set(row["timing"]) == {"1", "0"}
    assert all(t["cost"] == 1.0 and t["ms_per_text"] > 0 for t in row["timing"].values())
    for split in ("dev", "test"):
        for policy in ("tuned", "0.5"):
            assert 0.0 <= row[split][policy]["micro_f1"] <= 1.0
            assert row[split][policy]["violation_rate"] == 0.0
    assert out.with_suffix(".png").stat().st_size > 1000

    out = tmp_path / "policies"
    threshold_policies.main(["--dataset_dir", str(sample_dir), "--model", f"tiny={export_dir}", "--output", str(out)])
    rows = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["models"]["tiny"]
    assert sum(r["chosen"] for r in rows) == 1
    # The chosen row is the best out-of-fold score among the tuner's candidates.
    def oof(r: dict) -> float:
        return (r["dev_out_of_fold"]["micro_f1"] + r["dev_out_of_fold"]["macro_f1"]) / 2

    candidates = [r for r in rows if r["policy"] != "per_label(unshrunk)"]
    chosen = next(r for r in rows if r["chosen"])
    assert oof(chosen) >= max(oof(r) for r in candidates) - 1e-5


def test_frontier_keeps_earlier_rows_and_times_against_an_untrained_reference(export_dir, sample_dir, tmp_path):
    from benchmarks.quality import frontier, reference_export

    # A 1-layer e5 stand-in, exported like a trained model: it is only timed.
    ref = tmp_path / "ref_export"
    reference_export.main(
        ["--dataset_dir", str(sample_dir), "--keep_layers", "0", "--max_seq_length", "32", "--output_path", str(ref)]
    )
    assert (ref / "model.onnx").is_file() and (ref / "label.txt").is_file()

    common = ["--dataset_dir", str(sample_dir), "--rounds", "1", "--batches", "1", "--batch_size", "8"]
    first = tmp_path / "first"
    frontier.main([*common, "--model", f"old={export_dir}", "--reference", f"e5-1l={ref}", "--output", str(first)])
    old = json.loads(first.with_suffix(".json").read_text(encoding="utf-8"))
    assert old["reference"] == "e5-1l" and [r["name"] for r in old["models"]] == ["old"]

    second = tmp_path / "second"
    frontier.main(
        [*common, "--model", f"new={export_dir}", "--reference", f"e5-1l={ref}", "--earlier",
         str(first.with_suffix(".json")), "--output", str(second)]
    )  # fmt: skip
    rep = json.loads(second.with_suffix(".json").read_text(encoding="utf-8"))
    rows = {r["name"]: r for r in rep["models"]}
    assert set(rows) == {"new", "old"}
    assert rows["old"]["timing"] == old["models"][0]["timing"]
    assert "earlier_report" in rows["old"] and "earlier_report" not in rows["new"]
    assert "(earlier run)" in second.with_suffix(".md").read_text(encoding="utf-8")

    # A report from before costs were timed per thread count: its one cost (all cores)
    # is carried under "0", shown in that column only and drawn hollow.
    legacy = json.loads(first.with_suffix(".json").read_text(encoding="utf-8"))
    t = legacy["models"][0].pop("timing")["0"]
    legacy["models"][0].update(ms_per_text=t["ms_per_text"], cost_vs_reference=0.42)
    (tmp_path / "legacy.json").write_text(json.dumps(legacy), encoding="utf-8")
    third = tmp_path / "third"
    frontier.main(
        [*common, "--model", f"new={export_dir}", "--reference", f"e5-1l={ref}", "--earlier",
         str(tmp_path / "legacy.json"), "--output", str(third)]
    )  # fmt: skip
    rows = {r["name"]: r for r in json.loads(third.with_suffix(".json").read_text(encoding="utf-8"))["models"]}
    assert rows["old"]["timing"] == {"0": {"ms_per_text": t["ms_per_text"], "cost": 0.42}}
    old_line = next(x for x in third.with_suffix(".md").read_text(encoding="utf-8").splitlines() if x.startswith("| old"))
    assert "| – | – | 0.42x |" in old_line

    # Costs relative to another 1.0x cannot share a table.
    with pytest.raises(SystemExit):
        frontier.main(
            [*common, "--model", f"new={export_dir}", "--earlier", str(first.with_suffix(".json")),
             "--output", str(tmp_path / "fourth")]
        )  # fmt: skip
