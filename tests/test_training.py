"""Training: resume after an interruption, distributed launch, tuned thresholds, CLI errors."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, SAMPLE


def train_sample(save_dir: Path, **overrides) -> dict:
    """A short from-scratch run on the sample, through the library."""
    from hiercls.data.reading import dataset_files
    from hiercls.training.config import TrainConfig
    from hiercls.training.train import train_from_files

    recipe = dict(
        save_dir=save_dir, model_name="hiercls-tiny", from_scratch=True, epochs=2, batch_size=32,
        learning_rate=3e-3, logging_steps=100, device="cpu", tune_thresholds=False,
    )  # fmt: skip
    return train_from_files(TrainConfig(**{**recipe, **overrides}), dataset_files(SAMPLE))


def test_flags_map_onto_the_config_and_its_defaults():
    from hiercls.cli import train as cli
    from hiercls.training.config import TrainConfig
    bare = cli.train_config(cli.build_parser().parse_args(["--dataset_dir", "d"]))
    assert bare == TrainConfig()  # a bare command line trains what a default config does
    args = cli.build_parser().parse_args(["--dataset_dir", "d", "--warmup_steps", "7"])
    assert cli.train_config(args).warmup_steps == 0  # PaddleNLP: --warmup_steps counts only with --warmup
    args = cli.build_parser().parse_args(
        ["--dataset_dir", "d", "--warmup", "--warmup_steps", "7", "--keep_layers", "0,3"]
    )
    assert (cli.train_config(args).warmup_steps, cli.train_config(args).keep_layers) == (7, [0, 3])
    args = cli.build_parser().parse_args(["--dataset_dir", "d", "--save_epoch_weights", "--average_last_epochs", "3"])
    assert (cli.train_config(args).save_epoch_weights, cli.train_config(args).average_last_epochs) == (True, 3)


def test_average_last_epochs_needs_saved_epoch_weights(capsys):
    from hiercls.cli import train as train_cli
    from hiercls.training.config import TrainConfig

    with pytest.raises(ValueError, match="--average_last_epochs needs --save_epoch_weights"):
        TrainConfig(average_last_epochs=3)
    with pytest.raises(SystemExit):  # refused before any data is read
        train_cli.run(["--dataset_dir", "missing", "--average_last_epochs", "3"])
    assert "--average_last_epochs needs --save_epoch_weights" in capsys.readouterr().err


def state_weights(save_dir: Path) -> dict[str, np.ndarray]:
    import paddle

    state = paddle.load(str(save_dir.with_name(save_dir.name + ".state") / "model.pdparams"))
    return {k: v.numpy() for k, v in state.items()}


def test_resume_after_interruption_reaches_the_same_weights(tmp_path, monkeypatch):
    import paddle

    full = train_sample(tmp_path / "full")

    calls = {"n": 0}
    real_step = paddle.optimizer.AdamW.step

    def flaky_step(self, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 17:  # mid-way through epoch 2 (12 steps per epoch): a Ctrl-C arrives
            os.kill(os.getpid(), signal.SIGINT)
        return real_step(self, *a, **kw)

    monkeypatch.setattr(paddle.optimizer.AdamW, "step", flaky_step)
    with pytest.raises(SystemExit, match="--resume"):
        train_sample(tmp_path / "cut")
    progress = json.loads((tmp_path / "cut.state" / "progress.json").read_text())
    assert (progress["epoch"], progress["batch"], progress["step"]) == (2, 5, 17)  # the step in flight finished
    monkeypatch.setattr(paddle.optimizer.AdamW, "step", real_step)

    resumed = train_sample(tmp_path / "cut", resume=True)
    assert [h["epoch"] for h in resumed["history"]] == [1, 2]
    a, b = state_weights(tmp_path / "full"), state_weights(tmp_path / "cut")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], atol=1e-6, err_msg=k)
    assert resumed["history"] == full["history"]


def test_best_checkpoint_and_tuned_thresholds(checkpoint):
    from hiercls.runtime.hierarchy import LabelHierarchy
    from hiercls.runtime.thresholds import load_decoder, load_thresholds

    for name in ("config.json", "model_state.pdparams", "vocab.txt", "label.txt", "train_meta.json"):
        assert (checkpoint / name).is_file(), name
    h = LabelHierarchy.from_file(checkpoint / "label.txt")
    t = load_thresholds(checkpoint / "thresholds.json", h)
    data = json.loads((checkpoint / "thresholds.json").read_text())
    assert data["decoder"] == load_decoder(checkpoint / "thresholds.json") in ("closure", "topdown")
    assert not np.allclose(t, 0.5)  # tuned, not the default
    history = json.loads((checkpoint / "train_history.json").read_text())
    best = max(h["micro_f1"] for h in history["history"])
    assert history["best_dev_micro_f1"] == best
    assert json.loads((checkpoint / "train_meta.json").read_text())["dev"]["micro_f1"] == best


@pytest.mark.parametrize("distill", [False, True], ids=["plain", "distill"])
def test_distributed_launch_two_cpu_processes(tmp_path, request, distill):
    log_dir = tmp_path / "log"
    save = tmp_path / "ck"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    # With a teacher, rank 0 scores train.txt and rank 1 must wait for its cache.
    extra = ["--teacher_path", str(request.getfixturevalue("export_dir")), "--group_by_length"] if distill else []
    cmd = [
        sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2", "--log_dir", str(log_dir),
        str(ROOT / "training/train.py"), "--device", "cpu", "--dataset_dir", str(SAMPLE), "--save_dir", str(save),
        "--model_name", "hiercls-tiny", "--from_scratch", "--epochs", "1", "--batch_size", "16",
        "--logging_steps", "4", "--no_tune_thresholds", *extra,
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    logs = [(log_dir / f"workerlog.{r}").read_text() for r in (0, 1)]
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:] + logs[0][-2000:]
    for log in logs:
        assert "processes 2" in log
        assert "step 12/12" in log  # 360 texts / 2 processes / 16 per batch
    sums = [re.search(r"parameter checksum ([0-9.]+)", log).group(1) for log in logs]
    assert sums[0] == sums[1]  # gradients were all-reduced
    assert (save / "model_state.pdparams").is_file()
    if distill:
        assert "scores 360 training texts" in logs[0] and "teacher logits from cache" in logs[1]


def test_malformed_data_line_is_reported_with_file_and_line(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for f in ("label.txt", "dev.txt"):
        (data / f).write_text((SAMPLE / f).read_text(encoding="utf-8"), encoding="utf-8")
    lines = (SAMPLE / "train.txt").read_text(encoding="utf-8").splitlines()
    lines[4] = lines[4].replace("\t", " ")
    (data / "train.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "training/train.py"), "--dataset_dir", str(data), "--save_dir", str(tmp_path / "ck"),
         "--model_name", "hiercls-tiny", "--from_scratch", "--epochs", "1"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode != 0
    assert f"{data / 'train.txt'}:5: expected 'text<TAB>label,label', found 0 TABs" in proc.stderr
    assert not (tmp_path / "ck").exists()


def test_average_of_epoch_weights_is_their_elementwise_mean(tmp_path):
    import paddle

    from hiercls.training.averaging import epoch_files, mean_state

    folder = tmp_path / "checkpoint.epochs"
    folder.mkdir()
    for epoch, value in ((1, 1.0), (2, 2.0), (3, 6.0)):
        paddle.save({"w": paddle.full([2, 3], value), "b": paddle.full([3], -value)}, str(folder / f"epoch_{epoch}.pdparams"))
    files = epoch_files(folder)
    assert list(files) == [1, 2, 3]
    mean = mean_state([files[2], files[3]])
    assert np.allclose(mean["w"], 4.0) and np.allclose(mean["b"], -4.0)


def test_average_last_epochs_replaces_the_checkpoint_only_when_dev_improves(tmp_path):
    from hiercls.data.reading import read_examples
    from hiercls.modeling.checkpoint import load_checkpoint
    from hiercls.modeling.inference import encode
    from hiercls.runtime.artifacts import TRAIN_META
    from hiercls.runtime.hierarchy import LabelHierarchy
    from hiercls.training.selection import evaluate_micro_f1
    from hiercls.training.train import epoch_weights_dir

    save_dir = tmp_path / "ck"
    # The hook after the loop (before tuning) averages the last 3 epochs' weights.
    summary = train_sample(save_dir, epochs=3, save_epoch_weights=True, average_last_epochs=3)
    assert sorted(p.name for p in epoch_weights_dir(save_dir).iterdir()) == [f"epoch_{e}.pdparams" for e in (1, 2, 3)]
    hierarchy = LabelHierarchy.from_file(SAMPLE / "label.txt")
    dev = read_examples(SAMPLE / "dev.txt", hierarchy)
    model, tok = load_checkpoint(save_dir)
    ids = encode(tok, [e.text for e in dev], 128)
    y = hierarchy.multi_hot([e.labels for e in dev])
    after = evaluate_micro_f1(model, ids, y, hierarchy, 32, int(tok.pad_token_id))["micro_f1"]
    before = summary["best_dev_micro_f1"]  # the best single epoch's
    result = summary["averaging"]
    meta = json.loads((save_dir / TRAIN_META).read_text(encoding="utf-8"))
    assert result["epochs"] == [1, 2, 3] and result["best_single"] == before
    if result["kept"]:
        assert after == result["dev_micro_f1"] > before and meta["averaged_epochs"] == [1, 2, 3]
    else:
        assert after == before and "averaged_epochs" not in meta
