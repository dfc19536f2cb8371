"""Tests for hiercls.analysis and the training/analysis/ commands: sparse data,
dirty data and augmentation, on the shipped sample and the session checkpoint."""

from __future__ import annotations

import importlib
import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from hiercls.analysis import augment, dirty, sparse
from hiercls.analysis.records import format_line, write_examples
from hiercls.data.reading import Example, read_examples, read_texts
from hiercls.runtime.decoding import LabelDecoder
from hiercls.runtime.hierarchy import LabelHierarchy

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"


def load_cli(name: str):
    """A training/analysis/ command's module (hiercls.cli.<name>), so main(argv) runs in this process."""
    return importlib.import_module(f"hiercls.cli.{name}")


def read_tsv(path: Path) -> list[dict[str, str]]:
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    names = header.split("\t")
    return [dict(zip(names, r.split("\t"))) for r in rows]


@pytest.fixture(scope="module")
def h() -> LabelHierarchy:
    return LabelHierarchy.from_file(SAMPLE / "label.txt")


@pytest.fixture(scope="module")
def train(h) -> list[Example]:
    return read_examples(SAMPLE / "train.txt", h)


# --------------------------------------------------------------------------- sparse, numpy only


def test_nearest_returns_cosine_neighbours_in_order():
    keys = np.array([[1, 0, 0], [0, 2, 0], [0, 0, 3], [1, 1, 0]], dtype=np.float32)
    queries = np.array([[1, 0.1, 0], [0, 0.1, 5]], dtype=np.float32)
    sims, idx = sparse.nearest(queries, keys, 2)
    assert idx.tolist() == [[0, 3], [2, 1]]
    assert sims[0, 0] == pytest.approx(1 / np.sqrt(1.01), abs=1e-6)  # the keys' lengths do not matter
    assert sims[1, 0] == pytest.approx(5 / np.sqrt(25.01), abs=1e-6)
    assert sims[1, 1] == pytest.approx(0.1 / np.sqrt(25.01), abs=1e-6)
    support = sparse.similarity_support(queries, keys, 2)
    assert support.tolist() == pytest.approx(sims.mean(axis=1).tolist())


def test_select_for_labelling_goes_round_robin_without_repeats():
    # Pool texts 0-1 are near sparse example A, 2-3 near B; 4 is far from both.
    pool = np.array([[1, 0.1], [1, 0.2], [0.1, 1], [0.2, 1], [-1, -1]], dtype=np.float32)
    sparse_feats = np.array([[1, 0], [0, 1]], dtype=np.float32)
    chosen = sparse.select_for_labelling(sparse_feats, pool, budget=3)
    assert [(s.pool_index, s.sparse_rank) for s in chosen] == [(0, 0), (2, 1), (1, 0)]
    # Two sparse examples that share their nearest text still get two distinct texts.
    twin = sparse.select_for_labelling(np.array([[1, 0], [1, 0]], dtype=np.float32), pool, budget=2)
    assert sorted(s.pool_index for s in twin) == [0, 1]
    assert sparse.select_for_labelling(sparse_feats, pool, budget=5, min_similarity=0.9)[-1].similarity >= 0.9
    assert len(sparse.select_for_labelling(sparse_feats, pool, budget=10)) == 5  # the pool runs out


def test_representer_support_counts_only_pushes_towards_the_prediction():
    train_f = np.array([[1, 0], [1, 0], [0, 1]], dtype=np.float32)
    # alpha = y - p: example 0 pushes label 0 up, example 1 pushes it down, example 2 pushes label 1 up.
    alpha = np.array([[0.5, 0.0], [-0.5, 0.0], [0.0, 0.8]], dtype=np.float32)
    dev_f = np.array([[2, 0], [0, 1]], dtype=np.float32)
    pred = np.array([[True, False], [False, True]])
    support = sparse.representer_support(dev_f, pred, train_f, alpha, k=1)
    assert support.tolist() == pytest.approx([1.0, 0.8])  # 0.5 * (1,0).(2,0); 0.8 * (0,1).(0,1)
    with pytest.raises(ValueError, match="at least one predicted label"):
        sparse.representer_support(dev_f, np.zeros((2, 2), bool), train_f, alpha)


# --------------------------------------------------------------------------- dirty, numpy only


def test_inject_label_noise_changes_exactly_the_reported_rows(h, train):
    noisy, idx = dirty.inject_label_noise(train, h, 0.1, seed=7)
    assert len(idx) == round(0.1 * len(train))
    changed = [i for i, (a, b) in enumerate(zip(train, noisy)) if a.labels != b.labels]
    assert changed == idx.tolist()
    for i in idx.tolist():
        assert noisy[i].text == train[i].text
        assert list(noisy[i].labels) == h.close(noisy[i].labels)  # closed, in label-file order
    again, idx2 = dirty.inject_label_noise(train, h, 0.1, seed=7)
    assert again == noisy and idx2.tolist() == idx.tolist()
    with pytest.raises(ValueError, match="--noise_rate"):
        dirty.inject_label_noise(train, h, 1.5, seed=7)


def test_precision_at_k_and_average_precision_by_hand():
    order = np.array([3, 0, 4, 1, 2])  # ranks 1..5
    noisy = np.array([3, 1])  # at ranks 1 and 4
    assert dirty.precision_at_k(order, noisy, [1, 2, 4, 9]) == {1: 1.0, 2: 0.5, 4: 0.5, 9: 0.4}
    assert dirty.average_precision(order, noisy) == pytest.approx((1 / 1 + 2 / 4) / 2)


def test_scores_put_the_disbelieved_label_first(h):
    examples = [Example("a", ("体育", "体育##夺冠")), Example("b", ("财经", "财经##上市"))]
    probs = np.full((2, len(h)), 0.01, dtype=np.float32)
    probs[0, [h.index["体育"], h.index["体育##夺冠"]]] = 0.99  # agrees with its label
    probs[1, [h.index["科技"], h.index["科技##发布"]]] = 0.99  # believes another label
    features = np.ones((2, 4), dtype=np.float32)
    for method in ("loss", "representer"):
        r = dirty.score_dirty(method, examples, h, probs, features)
        assert r.order.tolist() == [1, 0]
    suggested = LabelDecoder(h, 0.5).label_sets(probs[[1]], at_least_one=True)
    assert suggested == [("科技", "科技##发布")]


# --------------------------------------------------------------------------- augment, no model


@pytest.mark.parametrize(
    "content, message",
    [
        ("公司 企业\n宣布\n", ":2: a group needs at least two words"),
        ("公司 企\n", ":1: '企' is one character"),
        ("公司 企业\n企业 厂商\n", ":2: '企业' is already in the group on line 1"),
    ],
)
def test_bad_synonym_file_names_file_and_line(tmp_path, content, message):
    path = tmp_path / "syn.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(augment.SynonymFileError, match=message):
        augment.load_synonyms(path)


def test_shipped_synonym_table_loads():
    table = augment.load_synonyms()
    assert "企业" in table["公司"] and "公司" in table["企业"]


def test_each_edit_does_what_it_says(h, train):
    profiles = augment.label_profiles(train, h)
    syn = {"公司": ["企业"], "企业": ["公司"]}
    none: frozenset[str] = frozenset()
    text = "某公司发布了新产品线"
    sub = augment.CharAugmenter(profiles, syn, "substitute", 0.01, seed=1).variant(text, "科技##发布", none)
    assert sub == "某企业发布了新产品线"  # a synonym is used before any character
    ins = augment.CharAugmenter(profiles, syn, "insert", 0.2, seed=1).variant(text, "科技##发布", none)
    assert len(ins) == len(text) + 2
    dele = augment.CharAugmenter(profiles, syn, "delete", 0.2, seed=1).variant(text, "科技##发布", none)
    assert len(dele) == len(text) - 2
    swap = augment.CharAugmenter(profiles, syn, "swap", 0.1, seed=1).variant(text, "科技##发布", none)
    assert swap != text and sorted(swap) == sorted(text)


def test_protected_characters_survive_every_edit(h, train):
    profiles = augment.label_profiles(train, h)
    assert {"裁", "员"} <= profiles["财经##裁员"].protected  # the label's own trigger
    aug = augment.CharAugmenter(profiles, augment.load_synonyms(), "mix", 1.0, seed=3)
    text = "云帆数据宣布裁员32%"
    for _ in range(20):
        out = aug.variant(text, "财经##裁员", profiles["财经##裁员"].protected)
        assert "裁员" in out


def test_augment_rare_is_seeded_and_lifts_rare_labels(h, train):
    new = augment.augment_rare(train, h, min_count=26, create_n=2, seed=5)
    assert new == augment.augment_rare(train, h, min_count=26, create_n=2, seed=5)
    assert new != augment.augment_rare(train, h, min_count=26, create_n=2, seed=6)
    before = Counter(x for e in train for x in e.labels)
    after = before + Counter(x for e in new for x in e.labels)
    rare = augment.rare_labels(train, h, 26)
    assert rare and all(before[x] < 26 for x in rare)
    assert all(after[x] >= 26 for x in rare)  # create_n=2 is enough here
    originals = {e.text for e in train}
    label_sets = {e.labels for e in train}
    assert len({e.text for e in new}) == len(new) and not originals & {e.text for e in new}
    assert all(e.labels in label_sets for e in new)  # labels copied from a source, never invented


# --------------------------------------------------------------------------- with the session checkpoint


def test_pooled_features_are_the_classifier_input(checkpoint):
    from hiercls.analysis.features import CheckpointModel
    from hiercls.modeling.inference import encode, paddle_logits

    texts = read_texts(SAMPLE / "dev.txt")[:20]
    model = CheckpointModel(checkpoint, batch_size=7)
    enc = model.encode(texts)
    w, b = model.classifier()
    np.testing.assert_allclose(enc.features @ w.T + b, enc.logits, atol=1e-4)
    reference = paddle_logits(model.model, encode(model.tokenizer, texts, model.max_seq_length), 16)
    np.testing.assert_allclose(enc.logits, reference, atol=1e-4)
    mean = CheckpointModel(checkpoint, pooling="mean").encode(texts)
    assert mean.features.shape == enc.features.shape and not np.allclose(mean.features, enc.features)


def test_sparse_find_targets_the_examples_the_model_gets_wrong(checkpoint, tmp_path):
    out = tmp_path / "sparse"
    argv = ["find", "--params_path", str(checkpoint), "--dataset_dir", str(SAMPLE), "--output_dir", str(out)]
    load_cli("sparse_data").main([*argv, "--sparse_num", "12", "--valid_num", "15"])
    rows = read_tsv(out / "sparse.tsv")
    assert len(rows) == 12
    support = [float(r["support"]) for r in rows]
    assert support == sorted(support)
    chosen = (out / "valid.txt").read_text(encoding="utf-8").splitlines()
    assert len(chosen) == len(set(chosen)) == 15
    assert set(chosen) <= set(read_texts(SAMPLE / "data.txt"))
    assert [r["text"] for r in read_tsv(out / "valid.tsv")] == chosen
    summary = json.loads((out / "sparse_summary.json").read_text(encoding="utf-8"))
    # The point of the score: the least supported dev examples are predicted worse.
    assert summary["dev_scores"]["sparse"]["micro_f1"] < summary["dev_scores"]["rest"]["micro_f1"]

    load_cli("sparse_data").main([*argv, "--support_method", "representer", "--sparse_num", "5", "--valid_num", "0"])
    assert len(read_tsv(out / "sparse.tsv")) == 5 and (out / "valid.txt").read_text(encoding="utf-8") == ""


def test_dirty_find_recovers_injected_noise(checkpoint, h, train, tmp_path):
    """A model that has not memorised the wrong labels ranks them first and suggests the original."""
    data = tmp_path / "noisy"
    data.mkdir()
    for name in ("dev.txt", "label.txt"):
        shutil.copy(SAMPLE / name, data / name)
    noisy, idx = dirty.inject_label_noise(train, h, 0.1, seed=11)
    write_examples(data / "train.txt", noisy)
    out = tmp_path / "dirty"
    argv = ["find", "--params_path", str(checkpoint), "--dataset_dir", str(data), "--output_dir", str(out)]
    load_cli("dirty_data").main([*argv, "--dirty_num", str(len(idx))])

    suspects = (out / "train_dirty.txt").read_text(encoding="utf-8").splitlines()
    rest = (out / "train_dirty_rest.txt").read_text(encoding="utf-8").splitlines()
    everything = [format_line(e.text, e.labels) for e in noisy]
    assert sorted(suspects + rest) == sorted(everything)
    wrong = {format_line(noisy[i].text, noisy[i].labels) for i in idx.tolist()}
    precision = sum(line in wrong for line in suspects) / len(suspects)
    assert precision >= 0.5, precision  # random picking finds 0.1
    clean = {e.text: ",".join(e.labels) for e in train}
    detail = [r for r in read_tsv(out / "train_dirty.tsv") if format_line(r["text"], r["labels"].split(",")) in wrong]
    restored = sum(r["suggested_labels"] == clean[r["text"]] for r in detail) / len(detail)
    assert restored >= 0.5, restored
    scores = [float(r["score"]) for r in read_tsv(out / "train_dirty.tsv")]
    assert scores == sorted(scores, reverse=True)

    with pytest.raises(SystemExit):  # cv without folds is refused before any work
        load_cli("dirty_data").main([*argv, "--method", "cv"])

    # Out-of-fold scores: two 1-epoch models with the checkpoint's recipe (plumbing only).
    cv = tmp_path / "cv"
    load_cli("dirty_data").main(
        ["find", "--params_path", str(checkpoint), "--dataset_dir", str(data), "--output_dir", str(cv)]
        + ["--method", "cv", "--folds", "2", "--epochs", "1", "--dirty_num", "10", "--work_dir", str(tmp_path / "f")]
    )
    assert len(read_tsv(cv / "train_dirty.tsv")) == 10
    assert len(list((tmp_path / "f").glob("fold*of2-*/run.json"))) == 2


def test_augment_command_appends_to_train(tmp_path, h):
    out = tmp_path / "aug"
    load_cli("augment_data").main(
        ["augment", "--dataset_dir", str(SAMPLE), "--min_count", "26", "--output_dir", str(out), "--seed", "4"]
    )
    added = (out / "aug.txt").read_text(encoding="utf-8")
    original = (SAMPLE / "train.txt").read_text(encoding="utf-8")
    assert added and (out / "train_aug.txt").read_text(encoding="utf-8") == original + added
    assert len(read_examples(out / "train_aug.txt", h)) == len(original.splitlines()) + len(added.splitlines())


def test_evaluate_commands_write_their_reports(tmp_path):
    """The three experiments end to end, with runs far too short to mean anything:
    this checks the plumbing; the README shows a real run."""
    recipe = ["--from_scratch", "--epochs", "2", "--train_batch_size", "16", "--device", "cpu"]
    results = tmp_path / "results"
    common = ["--dataset_dir", str(SAMPLE), "--results_dir", str(results), *recipe]

    load_cli("sparse_data").main(
        ["evaluate", *common, "--work_dir", str(tmp_path / "s"), "--labelled_size", "100"]
        + ["--sparse_num", "8", "--valid_num", "20"]
    )
    s = json.loads((results / "sparse.json").read_text(encoding="utf-8"))
    assert s["labelled"] == 100 and s["pool"] == 260 and s["added"] == 20
    assert set(s["arms"]) == {"base", "base+sparse-selected", "base+random"}
    assert s["arms"]["base+random"]["train_examples"] == 120
    assert len(s["support_quintiles"]) == 5

    load_cli("dirty_data").main(["evaluate", *common, "--work_dir", str(tmp_path / "d"), "--train_size", "150"])
    d = json.loads((results / "dirty.json").read_text(encoding="utf-8"))
    assert d["train_examples"] == 150 and d["noisy_examples"] == 15
    assert set(d["methods"]) == {"loss", "representer"}
    assert all(0 <= v <= 1 for m in d["methods"].values() for v in m["precision_at_k"].values())

    # The same 100 examples and recipe as the sparse run's labelled part: that model is reused.
    load_cli("augment_data").main(
        ["evaluate", *common, "--work_dir", str(tmp_path / "s"), "--train_size", "100", "--min_count", "12"]
    )
    a = json.loads((results / "augment.json").read_text(encoding="utf-8"))
    assert a["added"] > 0 and set(a["arms"]) == {"without", "with"}
    assert a["train_seconds"]["labelled"] == s["train_seconds"]["labelled"]
    assert len(list((tmp_path / "s").glob("labelled-*"))) == 1
    # Each label reaches 12 unless its examples ran out of variants (2 each by default).
    assert all(r["train"] < 12 and r["train_augmented"] >= min(12, 3 * r["train"]) for r in a["rare_labels"])

    for name in ("sparse", "dirty", "augment"):
        assert (results / f"{name}.md").read_text(encoding="utf-8").startswith("# ")
        assert (results / f"{name}.png").read_bytes()[:4] == b"\x89PNG"


def test_a_dataset_with_other_labels_is_refused_by_name(checkpoint, tmp_path):
    data = tmp_path / "other"
    data.mkdir()
    for name in ("train.txt", "dev.txt"):
        shutil.copy(SAMPLE / name, data / name)
    labels = (SAMPLE / "label.txt").read_text(encoding="utf-8").splitlines()
    (data / "label.txt").write_text("\n".join(reversed(labels)) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"label.txt does not match the checkpoint's label.txt"):
        load_cli("dirty_data").main(["find", "--params_path", str(checkpoint), "--dataset_dir", str(data)])
