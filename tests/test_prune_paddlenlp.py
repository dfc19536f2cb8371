"""training/prune.py takes PaddleNLP's documented prune command as it is written in
applications/text_classification/hierarchical/README.md ("模型裁剪"), and refuses a
width that splits an attention head from config.json alone, naming the widths that fit."""

from __future__ import annotations

import importlib
import json
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLE, run_cli

# PaddleNLP's CPU command, character for character (README, 裁剪 API 使用). It runs with
# the sample data set as ./data and a fine-tuned checkpoint as ./checkpoint in its folder.
PADDLENLP_PRUNE_COMMAND = """
python prune.py \\
    --device "cpu" \\
    --output_dir "./prune" \\
    --per_device_train_batch_size 32 \\
    --per_device_eval_batch_size 32 \\
    --learning_rate 3e-5 \\
    --num_train_epochs 10 \\
    --logging_steps 5 \\
    --save_steps 50 \\
    --seed 3 \\
    --dataset_dir "data" \\
    --max_seq_length 128 \\
    --params_dir "./checkpoint" \\
    --width_mult '2/3'
"""

# A 12-head ERNIE (ERNIE 3.0's head count, so 2/3 keeps 8 whole heads), small enough
# to fine-tune and prune on the sample in seconds.
HIDDEN, LAYERS, HEADS, FFN = 96, 1, 12, 384


def prune_cli():
    """training/prune.py's command (hiercls.cli.prune), run in this process."""
    return importlib.import_module("hiercls.cli.prune")


def as_repository_command(documented: str) -> list[str]:
    """The documented command with `python prune.py` pointing at this repository's script."""
    argv = shlex.split(documented.replace("\\\n", " "))
    assert argv[:2] == ["python", "prune.py"]
    return [sys.executable, str(ROOT / "training" / "prune.py"), *argv[2:]]


def write_base_model(out: Path) -> None:
    """A random 12-head ERNIE with a character vocabulary of train.txt, as a local
    model directory for training/train.py."""
    from paddlenlp.transformers import ErnieConfig, ErnieForSequenceClassification, ErnieTokenizer

    from hiercls.data.reading import dataset_files, read_examples
    from hiercls.modeling import models as modeling
    from hiercls.runtime.hierarchy import LabelHierarchy

    files = dataset_files(SAMPLE)
    hierarchy = LabelHierarchy.from_file(files.label)
    vocab = modeling.build_char_vocab(e.text for e in read_examples(files.train, hierarchy))
    out.mkdir(parents=True)
    (out / "vocab.txt").write_text("".join(f"{t}\n" for t in vocab), encoding="utf-8")
    cfg = modeling.shape_config("hiercls-tiny")
    cfg.update(
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=FFN,
        vocab_size=len(vocab),
        pad_token_id=0,
        num_labels=len(hierarchy),
    )
    ErnieForSequenceClassification(ErnieConfig(**cfg)).save_pretrained(str(out))
    ErnieTokenizer(vocab_file=str(out / "vocab.txt")).save_pretrained(str(out))


@pytest.fixture(scope="module")
def paddlenlp_folder(tmp_path_factory) -> Path:
    """A folder laid out as PaddleNLP's README assumes: ./data and ./checkpoint."""
    folder = tmp_path_factory.mktemp("paddlenlp_app")
    shutil.copytree(SAMPLE, folder / "data")
    write_base_model(folder / "base_model")
    run_cli(
        "training/train.py",
        *("--dataset_dir", str(folder / "data"), "--save_dir", str(folder / "checkpoint")),
        *("--model_name", str(folder / "base_model"), "--epochs", "3", "--batch_size", "16"),
        *("--learning_rate", "3e-3", "--logging_steps", "1000", "--device", "cpu"),
    )
    return folder


def test_paddlenlp_documented_prune_command_runs_unchanged(paddlenlp_folder):
    t0 = time.time()
    proc = subprocess.run(
        as_repository_command(PADDLENLP_PRUNE_COMMAND),
        cwd=paddlenlp_folder,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    elapsed = time.time() - t0
    prune = paddlenlp_folder / "prune"
    export, ckpt = prune / "width_mult_0.67", prune / "checkpoints" / "width_mult_0.67"
    for name in ("model.onnx", "inference.json", "inference.pdiparams", "tokenizer.json", "label.txt"):
        assert (export / name).is_file(), name
    config = json.loads((ckpt / "config.json").read_text(encoding="utf-8"))
    assert config["dynabert"]["num_attention_heads"] == HEADS * 2 // 3  # 8 whole heads of 8
    assert config["intermediate_size"] == FFN * 2 // 3
    summary = json.loads((prune / "prune_summary.json").read_text(encoding="utf-8"))
    width = summary["widths"]["width_mult_0.67"]
    assert width["onnx_parity"] < 1e-3
    # 10 epochs of 12 steps, evaluated after each epoch and every documented --save_steps 50.
    steps = [row["step"] for row in summary["history"]]
    assert steps[-1] == 120 and {50, 100} <= set(steps)
    print(f"documented command: {elapsed:.1f}s")


@pytest.mark.parametrize(
    ("heads", "hidden", "argv", "fits"),
    [
        (12, 768, ["--width_mult", "3/5"], "5/6, 3/4, 2/3, 1/2, 1/3, 1/4, 1/6"),
        (12, 96, ["--width_mult_list", "3/4", "5/8", "1/2"], "5/6, 3/4, 2/3, 1/2, 1/3, 1/4, 1/6"),
        (2, 64, ["--width_mult", "3/4"], "1/2"),  # hiercls-tiny
        (2, 64, [], "1/2"),  # PaddleNLP's default 2/3 does not fit 2 heads either
        (16, 1024, ["--width_mult", "2/3"], "7/8, 3/4, 5/8, 1/2, 3/8, 1/4, 1/8"),
    ],
)
def test_a_width_that_splits_a_head_is_refused_before_loading(tmp_path, heads, hidden, argv, fits):
    # Only config.json: no weights, no tokenizer, no data set. The refusal must come
    # from the head count alone, before any of them would be read.
    params = tmp_path / "checkpoint"
    params.mkdir()
    config = {"hidden_size": hidden, "num_attention_heads": heads, "intermediate_size": 4 * hidden}
    (params / "config.json").write_text(json.dumps(config), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "training" / "prune.py"), "--params_dir", str(params)]
        + ["--dataset_dir", str(tmp_path / "no_such_data"), "--output_dir", str(tmp_path / "prune"), *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "does not keep whole attention heads" in lines[0] and f"({heads} heads" in lines[0]
    assert lines[0].endswith(f"widths that fit: {fits}")
    assert not (tmp_path / "prune").exists()


def test_both_spellings_reach_the_pruner(monkeypatch, tmp_path, capsys):
    from hiercls.compression import dynabert

    params = tmp_path / "checkpoint" / "model_state.pdparams"  # PaddleNLP 2.3's default: the weights file
    params.parent.mkdir()
    params.write_bytes(b"")
    config = {"hidden_size": HIDDEN, "num_attention_heads": HEADS, "intermediate_size": FFN}
    (params.parent / "config.json").write_text(json.dumps(config), encoding="utf-8")
    seen = []
    monkeypatch.setattr(dynabert, "prune_from_files", lambda config, data: seen.append(config) or {"widths": {}})
    cli = prune_cli()
    base = ["--dataset_dir", str(SAMPLE), "--output_dir", str(tmp_path / "prune")]
    cli.main([*base, "--params_dir", str(params.parent)])
    cli.main([*base, "--params_dir", str(params), "--width_mult_list", "3/4", "2/3", "1/2"])
    cli.main([*base, "--params_dir", str(params.parent), "--width_mult", "0.75", "1/2"])
    assert [a.width_mult for a in seen] == [[2 / 3], [0.75, 2 / 3, 0.5], [0.75, 0.5]]
    assert seen[1].params_dir == params.parent
    with pytest.raises(SystemExit):
        cli.main([*base, "--width_mult", "1/2", "--width_mult_list", "1/2"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_documented_defaults():
    from hiercls.training.config import PruneConfig

    cli = prune_cli()
    args = cli.build_parser().parse_args(["--dataset_dir", "data", "--output_dir", "prune"])
    assert cli.prune_config(args) == PruneConfig(output_dir="prune")  # flags and library share the defaults
    assert args.params_dir == "./checkpoint"
    assert (args.per_device_train_batch_size, args.per_device_eval_batch_size) == (32, 32)
    assert (args.learning_rate, args.num_train_epochs, args.seed, args.max_seq_length) == (3e-5, 10, 3, 128)
    assert (args.logging_steps, args.save_steps) == (5, 100)
