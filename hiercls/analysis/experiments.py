"""The retraining experiments that measure what each analysis is worth on a
labelled data set, and their reports (Markdown table, JSON, PNG plot).

- sparse: hide the labels of part of train.txt (the unlabelled pool), train on the
  rest, choose pool texts for the least supported dev examples, "label" them by
  revealing their labels, retrain; compare with the same number of random pool texts.
- dirty: swap the labels of a known share of train.txt, train on it, rank the
  training examples and measure precision@k of finding the swapped ones.
- augment: train with and without augmented copies of the rare labels' examples
  and compare F1 on the rare labels.

Every model is trained by ``hiercls.training.train.train`` with one recipe (a
TrainConfig), on the experiment's examples in memory, so arms differ only in their data.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from hiercls.analysis import augment, dirty, sparse
from hiercls.analysis.features import CheckpointModel
from hiercls.analysis.records import format_line
from hiercls.analysis.report import bar_plot, line_plot, markdown_table, write_markdown
from hiercls.data.reading import DatasetFiles, Example, dataset_files, read_examples
from hiercls.evaluation.metrics import class_report, scores
from hiercls.runtime.artifacts import DEV_FILE, LABEL_FILE, TRAIN_FILE
from hiercls.runtime.decoding import LabelDecoder
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.runtime.io import atomic_write_json
from hiercls.runtime.thresholds import default_thresholds
from hiercls.training.config import TrainConfig
from hiercls.training.train import train

logger = logging.getLogger(__name__)

EVAL_THRESHOLDS: tuple[str, ...] = ("default", "checkpoint")


@dataclass
class Dataset:
    files: DatasetFiles
    hierarchy: LabelHierarchy
    train: list[Example]
    dev: list[Example]


def load_dataset(
    dataset_dir: str | Path, train_file: str = TRAIN_FILE, dev_file: str = DEV_FILE, label_file: str = LABEL_FILE
) -> Dataset:
    files = dataset_files(dataset_dir, train_file, dev_file, label_file)
    h = LabelHierarchy.from_file(files.label)
    return Dataset(files, h, read_examples(files.train, h), read_examples(files.dev, h))


def subsample_mask(n: int, size: int | None, seed: int) -> np.ndarray:
    """Which of n examples a seeded draw of ``size`` keeps (all when size is None). The
    experiments share it, so the same size and seed give the same subset everywhere
    (and the run cache can reuse a model trained on it)."""
    keep = np.ones(n, dtype=bool)
    if size is None or size >= n:
        return keep
    if size < 1:
        raise ValueError(f"the subset size must be positive, got {size}")
    keep[:] = False
    keep[np.random.default_rng(seed).choice(n, size=size, replace=False)] = True
    return keep


def subsample(examples: list[Example], size: int | None, seed: int) -> list[Example]:
    """``size`` examples drawn without replacement, in file order (all when size is None)."""
    keep = subsample_mask(len(examples), size, seed)
    return [e for e, k in zip(examples, keep) if k]


@dataclass
class Evaluation:
    probs: np.ndarray
    pred: np.ndarray  # bool [N, L], decoded as the runner's ``thresholds`` says
    pred_tuned: np.ndarray  # bool [N, L], with the checkpoint's tuned thresholds and decoder


@dataclass
class Runner:
    """Trains and evaluates the experiment's models with one recipe: ``config`` (its
    save_dir set per run) on the given training examples, picking epochs on the
    data set's dev."""

    config: TrainConfig
    dataset: Dataset
    work_dir: Path
    batch_size: int = 64
    # "default": compare arms at 0.5 with the closure decoder, the rule training picks
    # epochs by; "checkpoint": each arm's thresholds tuned on dev (adds their variance).
    thresholds: str = "default"
    train_seconds: dict[str, float] = field(default_factory=dict)

    def run_key(self, examples: list[Example]) -> str:
        """Hash of the recipe, the labels, dev and the training data: the same key means the same model."""
        recipe = {k: v for k, v in asdict(self.config).items() if k != "save_dir"}
        digest = hashlib.sha1(json.dumps(recipe, sort_keys=True, default=str).encode())
        digest.update("\n".join(self.dataset.hierarchy.labels).encode())
        for part in (self.dataset.dev, examples):
            digest.update(b"\0")
            for e in part:
                digest.update((format_line(e.text, e.labels) + "\n").encode())
        return digest.hexdigest()[:12]

    def train(self, name: str, examples: list[Example]) -> Path:
        """Train (or reuse a finished run in work_dir with the same key) and return the checkpoint."""
        arm = Path(self.work_dir) / f"{name}-{self.run_key(examples)}"
        save_dir = arm / "checkpoint"
        done = arm / "run.json"  # written last: its presence means the checkpoint is complete
        if done.is_file():
            # Finished earlier (another experiment's arm, or a rerun): same data, same recipe.
            self.train_seconds[name] = json.loads(done.read_text(encoding="utf-8"))["seconds"]
            logger.info("reusing %s (trained in %.0fs)", save_dir, self.train_seconds[name])
            return save_dir
        logger.info("training %r on %d examples (%d epochs)", name, len(examples), self.config.epochs)
        t0 = time.time()
        config = replace(self.config, save_dir=save_dir)
        summary = train(config, examples, self.dataset.dev, self.dataset.hierarchy)
        self.train_seconds[name] = round(time.time() - t0, 1)
        atomic_write_json(done, {"seconds": self.train_seconds[name], "examples": len(examples), **summary})
        logger.info(
            "trained %r in %.0fs: best dev micro F1 %.4f (epoch %d)",
            name,
            self.train_seconds[name],
            summary["best_dev_micro_f1"],
            summary["best_epoch"],
        )
        return save_dir

    def model(self, checkpoint: Path) -> CheckpointModel:
        """The checkpoint, decoding as ``thresholds`` says."""
        if self.thresholds not in EVAL_THRESHOLDS:
            raise ValueError(f"unknown thresholds {self.thresholds!r}; choose one of {EVAL_THRESHOLDS}")
        model = CheckpointModel(checkpoint, batch_size=self.batch_size)
        model.tuned_decoding = model.decoding
        if self.thresholds == "default":
            model.decoding = LabelDecoder(model.hierarchy, default_thresholds(model.hierarchy), "closure")
        return model

    def evaluate(self, checkpoint: Path, examples: list[Example]) -> Evaluation:
        model = self.model(checkpoint)
        probs = model.encode([e.text for e in examples], "dev texts").probs
        return Evaluation(probs, model.decoding.decode(probs), model.tuned_decoding.decode(probs))


def _y(examples: list[Example], h: LabelHierarchy) -> np.ndarray:
    return h.multi_hot([e.labels for e in examples]).astype(bool)


def describe(examples: list[Example]) -> dict:
    """What a set of texts looks like: length, labels per text, how many label sets."""
    if not examples:
        return {"count": 0}
    return {
        "count": len(examples),
        "mean_chars": round(float(np.mean([len(e.text) for e in examples])), 1),
        "mean_labels": round(float(np.mean([len(e.labels) for e in examples])), 2),
        "distinct_label_sets": len({e.labels for e in examples}),
    }


def _mean(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def _f1s(y: np.ndarray, pred: np.ndarray) -> dict:
    s = scores(y, pred).as_dict()
    return {"micro_f1": s["micro_f1"], "macro_f1": s["macro_f1"], "accuracy": s["accuracy"]}


def _time_note(result: dict) -> str:
    runs = ", ".join(f"{name} {sec:.0f} s" for name, sec in result["train_seconds"].items())
    return (
        f"Training wall time per run: {runs} (a run reused from the work_dir cache shows its original time). "
        f"This invocation took {result['seconds']:.0f} s.\n"
    )


def _thresholds_note(thresholds: str) -> str:
    if thresholds == "default":
        return "Scores use threshold 0.5 and the closure decoder for every arm (the rule training selects epochs by)."
    return "Scores use each arm's thresholds and decoder as tuned on dev at the end of its training."


# --------------------------------------------------------------------------- sparse


def sparse_experiment(
    ds: Dataset,
    runner: Runner,
    labelled_size: int,
    sparse_num: int,
    valid_num: int,
    method: str = "similarity",
    rationale_num: int = 3,
    seed: int = 3,
) -> dict:
    h = ds.hierarchy
    if not 0 < labelled_size < len(ds.train):
        raise ValueError(f"--labelled_size must lie between 1 and {len(ds.train) - 1} (train.txt has {len(ds.train)})")
    t0 = time.time()
    rng = np.random.default_rng(seed + 1)  # the random arm's draw, apart from the split's
    keep = subsample_mask(len(ds.train), labelled_size, seed)
    base = [e for e, k in zip(ds.train, keep) if k]
    pool = [e for e, k in zip(ds.train, keep) if not k]
    by_text: dict[str, Example] = {}
    for e in pool:
        by_text.setdefault(e.text, e)  # the labels "revealed" when a pool text is chosen

    base_ckpt = runner.train("labelled", base)
    model = runner.model(base_ckpt)
    res = sparse.find_sparse(model, base, ds.dev, [e.text for e in pool], method, rationale_num, sparse_num, valid_num)
    selected = [by_text[res.pool_texts[s.pool_index]] for s in res.selections]
    random_idx = rng.choice(len(res.pool_texts), size=len(selected), replace=False)
    random_pick = [by_text[res.pool_texts[j]] for j in random_idx]

    y = _y(ds.dev, h)
    mask = np.zeros(len(ds.dev), dtype=bool)
    mask[res.sparse] = True
    base_pred = model.decoding.decode(res.dev_probs)
    arms = {"base": base_pred}
    for name, extra in (("base+sparse-selected", selected), ("base+random", random_pick)):
        arms[name] = runner.evaluate(runner.train(name.replace("+", "_"), base + extra), ds.dev).pred

    # Does low support mark examples the model gets wrong? Micro F1 per support quintile.
    order = np.argsort(res.support, kind="stable")
    quintiles = []
    for q, part in enumerate(np.array_split(order, 5), 1):
        quintiles.append(
            {
                "quintile": q,
                "support_range": [round(float(res.support[part].min()), 6), round(float(res.support[part].max()), 6)],
                **_f1s(y[part], base_pred[part]),
            }
        )
    return {
        "experiment": "sparse",
        "method": method,
        "rationale_num": rationale_num,
        "train_examples": len(ds.train),
        "labelled": len(base),
        "pool": len(res.pool_texts),
        "dev": len(ds.dev),
        "sparse_num": int(mask.sum()),
        "added": len(selected),
        "thresholds": runner.thresholds,
        "texts": {
            "sparse dev": describe([ds.dev[i] for i in res.sparse.tolist()]),
            "all dev": describe(ds.dev),
            "sparse-selected": describe(selected),
            "random": describe(random_pick),
        },
        "arms": {
            name: {
                "train_examples": len(base) + (0 if name == "base" else len(selected)),
                "dev": _f1s(y, pred),
                "sparse_dev": _f1s(y[mask], pred[mask]),
                "rest_dev": _f1s(y[~mask], pred[~mask]) if (~mask).any() else None,
            }
            for name, pred in arms.items()
        },
        "support_quintiles": quintiles,
        "train_seconds": runner.train_seconds,
        "seconds": round(time.time() - t0, 1),
    }


def write_sparse_report(result: dict, out_dir: Path, command: str = "") -> None:
    out_dir = Path(out_dir)
    rows = [
        [
            name,
            a["train_examples"],
            a["dev"]["micro_f1"],
            a["dev"]["macro_f1"],
            a["sparse_dev"]["micro_f1"],
            a["sparse_dev"]["macro_f1"],
        ]
        for name, a in result["arms"].items()
    ]
    table = markdown_table(
        ["training data", "examples", "dev micro F1", "dev macro F1", "sparse-dev micro F1", "sparse-dev macro F1"],
        rows,
    )
    q_rows = [
        [q["quintile"], f"{q['support_range'][0]:.5f} – {q['support_range'][1]:.5f}", q["micro_f1"], q["accuracy"]]
        for q in result["support_quintiles"]
    ]
    intro = (
        f"Labelled {result['labelled']} of {result['train_examples']} training examples; the other "
        f"{result['pool']} (labels hidden) are the unlabelled pool. Support method `{result['method']}` "
        f"(k={result['rationale_num']}); the {result['sparse_num']} least supported dev examples are the sparse "
        f"set; {result['added']} pool texts were chosen for them and their labels revealed, against as many "
        f"random pool texts. Same recipe and seed for every arm; dev also picks each run's best epoch. "
        f"{_thresholds_note(result['thresholds'])}\n"
    )
    sections = [("", intro), ("Effect of adding the chosen texts", table)]
    sections.append(
        (
            "Base model's dev micro F1 by support quintile (1 = least supported)",
            markdown_table(["quintile", "support", "micro F1", "exact match"], q_rows),
        )
    )
    t_rows = [
        [name, t["count"], t.get("mean_chars", ""), t.get("mean_labels", ""), t.get("distinct_label_sets", "")]
        for name, t in result["texts"].items()
    ]
    sections.append(
        (
            "What was added",
            markdown_table(["texts", "count", "mean characters", "labels per text", "distinct label sets"], t_rows),
        )
    )
    sections.append(("Time", _time_note(result)))
    if command:
        sections.append(("Command", f"```\n{command}\n```\n"))
    write_markdown(out_dir / "sparse.md", "Sparse data: choosing texts to label", sections)
    atomic_write_json(out_dir / "sparse.json", result)
    names = list(result["arms"])
    bar_plot(
        out_dir / "sparse.png",
        ["dev micro F1", "dev macro F1", "sparse-dev micro F1", "sparse-dev macro F1"],
        {
            n: [
                result["arms"][n]["dev"]["micro_f1"],
                result["arms"][n]["dev"]["macro_f1"],
                result["arms"][n]["sparse_dev"]["micro_f1"],
                result["arms"][n]["sparse_dev"]["macro_f1"],
            ]
            for n in names
        },
        f"Adding {result['added']} texts chosen for sparse dev examples vs random",
        "F1",
    )


# --------------------------------------------------------------------------- dirty


def out_of_fold_probs(runner: Runner, examples: list[Example], folds: int, seed: int) -> np.ndarray:
    """Probabilities for every example from a model trained on the other folds."""
    if folds < 2:
        raise ValueError(f"--folds must be at least 2, got {folds}")
    fold_of = np.random.default_rng(seed).permutation(len(examples)) % folds
    probs = None
    for f in range(folds):
        held = np.flatnonzero(fold_of == f)
        ckpt = runner.train(f"fold{f + 1}of{folds}", [e for i, e in enumerate(examples) if fold_of[i] != f])
        p = runner.model(ckpt).encode([examples[i].text for i in held], f"fold {f + 1} texts").probs
        if probs is None:
            probs = np.zeros((len(examples), p.shape[1]), dtype=np.float32)
        probs[held] = p
    return probs


def dirty_experiment(
    ds: Dataset,
    runner: Runner,
    noise_rate: float,
    train_size: int | None = None,
    folds: int = 0,
    seed: int = 3,
) -> dict:
    h = ds.hierarchy
    t0 = time.time()
    clean = subsample(ds.train, train_size, seed)
    noisy, noisy_idx = dirty.inject_label_noise(clean, h, noise_rate, seed)
    ckpt = runner.train("noisy", noisy)
    model = runner.model(ckpt)
    enc = model.encode([e.text for e in noisy], "train texts")
    results = [dirty.score_dirty(m, noisy, h, enc.probs, enc.features) for m in ("loss", "representer")]
    if folds >= 2:
        oof = out_of_fold_probs(runner, noisy, folds, seed)
        results.append(dirty.score_dirty("cv", noisy, h, oof))
    n_noisy = len(noisy_idx)
    ks = sorted({k for k in (50, 100, 200, 500, 1000, n_noisy) if k <= len(noisy)})
    is_noisy = np.zeros(len(noisy), dtype=bool)
    is_noisy[noisy_idx] = True
    methods = {}
    for r in results:
        top = r.order[:n_noisy]
        found = top[is_noisy[top]]
        suggested = model.decoding.label_sets(r.probs[found], at_least_one=True)
        restored = sum(s == clean[i].labels for s, i in zip(suggested, found.tolist()))
        curve_k = np.unique(np.linspace(1, min(len(noisy), 3 * n_noisy), 60).astype(int)).tolist()
        methods[r.method] = {
            "precision_at_k": {str(k): round(v, 4) for k, v in dirty.precision_at_k(r.order, noisy_idx, ks).items()},
            "average_precision": round(dirty.average_precision(r.order, noisy_idx), 4),
            "suggestion_restores_original": round(restored / max(len(found), 1), 4),
            "curve": {
                "k": curve_k,
                "precision": [round(v, 4) for v in dirty.precision_at_k(r.order, noisy_idx, curve_k).values()],
            },
        }
    y = _y(ds.dev, h)
    dev_eval = runner.evaluate(ckpt, ds.dev)
    return {
        "experiment": "dirty",
        "train_examples": len(noisy),
        "noise_rate": noise_rate,
        "noisy_examples": n_noisy,
        "folds": folds,
        "ks": ks,
        "methods": methods,
        "noisy_model_dev": _f1s(y, dev_eval.pred),
        "thresholds": runner.thresholds,
        "train_seconds": runner.train_seconds,
        "seconds": round(time.time() - t0, 1),
    }


def write_dirty_report(result: dict, out_dir: Path, command: str = "") -> None:
    out_dir = Path(out_dir)
    ks = [str(k) for k in result["ks"]]
    rows = [
        [m, *[r["precision_at_k"][k] for k in ks], r["average_precision"], r["suggestion_restores_original"]]
        for m, r in result["methods"].items()
    ]
    rows.append(["random (expected)", *[result["noisy_examples"] / result["train_examples"]] * len(ks), "", ""])
    n = result["noisy_examples"]
    intro = (
        f"{n} of {result['train_examples']} training examples ({result['noise_rate']:.0%}) had one leaf label "
        f"swapped for another label of the same level (ancestors follow). A model trained on the noisy set "
        f"(dev micro F1 {result['noisy_model_dev']['micro_f1']:.4f}) ranks every training example; precision@k is "
        f"the share of swapped examples among the top k (k={n} is R-precision). 'restores' is the share of found "
        f"swapped examples whose suggested labels equal the original ones. {_thresholds_note(result['thresholds'])}\n"
    )
    header = ["method", *[f"P@{k}" for k in ks], "average precision", "restores"]
    sections = [("", intro), ("Finding injected label noise", markdown_table(header, rows))]
    sections.append(("Time", _time_note(result)))
    if command:
        sections.append(("Command", f"```\n{command}\n```\n"))
    write_markdown(out_dir / "dirty.md", "Dirty data: finding wrong labels", sections)
    atomic_write_json(out_dir / "dirty.json", result)
    first = next(iter(result["methods"].values()))
    line_plot(
        out_dir / "dirty.png",
        first["curve"]["k"],
        {m: r["curve"]["precision"] for m, r in result["methods"].items()},
        f"precision@k, {n} injected wrong labels in {result['train_examples']}",
        "k (top-ranked training examples)",
        "precision",
        hline=(n / result["train_examples"], "random"),
    )


# --------------------------------------------------------------------------- augment


def augment_experiment(
    ds: Dataset,
    runner: Runner,
    min_count: int,
    create_n: int = 2,
    strategy: str = "mix",
    aug_percent: float = 0.1,
    train_size: int | None = None,
    seed: int = 3,
    synonyms: dict[str, list[str]] | None = None,
    protect_top: int = 8,
) -> dict:
    from sklearn.metrics import average_precision_score

    h = ds.hierarchy
    t0 = time.time()
    train = subsample(ds.train, train_size, seed)
    rare = augment.rare_labels(train, h, min_count)
    if not rare:
        raise ValueError(f"no label has fewer than --min_count {min_count} training examples: raise --min_count")
    new = augment.augment_rare(train, h, min_count, create_n, strategy, aug_percent, seed, synonyms, protect_top)
    y = _y(ds.dev, h)
    before = h.multi_hot([e.labels for e in train]).sum(0)
    after = before + h.multi_hot([e.labels for e in new]).sum(0)
    arms = {}
    # "labelled" is the sparse experiment's name for the same data: a shared run is reused.
    rare_eval = [x for x in rare if y[:, h.index[x]].any()]  # F1 of a label absent from dev says nothing
    for name, run, data in (("without", "labelled", train), ("with", "augmented", train + new)):
        ev = runner.evaluate(runner.train(run, data), ds.dev)
        report = {r["label"]: r for r in class_report(y, ev.pred, h)}
        tuned = {r["label"]: r for r in class_report(y, ev.pred_tuned, h)}
        # Threshold-free: does the model rank a rare label's dev texts above the others?
        ap = {x: float(average_precision_score(y[:, h.index[x]], ev.probs[:, h.index[x]])) for x in rare_eval}
        arms[name] = {
            "dev": _f1s(y, ev.pred),
            "rare_macro_f1": _mean([report[x]["f1"] for x in rare_eval]),
            "rare_macro_f1_tuned": _mean([tuned[x]["f1"] for x in rare_eval]),
            "rare_macro_ap": _mean(list(ap.values())),
            "per_label": {x: report[x]["f1"] for x in rare},
            "per_label_tuned": {x: tuned[x]["f1"] for x in rare},
            "per_label_ap": {x: round(v, 4) for x, v in ap.items()},
        }
    dev_counts = y.sum(0)
    return {
        "experiment": "augment",
        "train_examples": len(train),
        "added": len(new),
        "min_count": min_count,
        "create_n": create_n,
        "strategy": strategy,
        "aug_percent": aug_percent,
        "thresholds": runner.thresholds,
        "rare_labels": [
            {
                "label": x,
                "train": int(before[h.index[x]]),
                "train_augmented": int(after[h.index[x]]),
                "dev": int(dev_counts[h.index[x]]),
            }
            for x in rare
        ],
        "arms": arms,
        "examples": [e.text for e in new[:5]],
        "train_seconds": runner.train_seconds,
        "seconds": round(time.time() - t0, 1),
    }


def write_augment_report(result: dict, out_dir: Path, command: str = "") -> None:
    out_dir = Path(out_dir)
    a, b = result["arms"]["without"], result["arms"]["with"]
    n_eval = sum(r["dev"] > 0 for r in result["rare_labels"])
    summary = markdown_table(
        [
            "training data",
            "dev micro F1",
            "dev macro F1",
            f"rare-label macro F1 ({n_eval} labels)",
            "same, tuned thresholds",
            "rare-label macro average precision",
        ],
        [
            [
                label,
                arm["dev"]["micro_f1"],
                arm["dev"]["macro_f1"],
                arm["rare_macro_f1"],
                arm["rare_macro_f1_tuned"],
                arm["rare_macro_ap"],
            ]
            for label, arm in (("train", a), (f"train + {result['added']} augmented", b))
        ],
    )
    rows = [
        [
            i + 1,
            r["label"],
            r["train"],
            r["train_augmented"],
            r["dev"],
            a["per_label"][r["label"]],
            b["per_label"][r["label"]],
            a["per_label_ap"].get(r["label"], ""),
            b["per_label_ap"].get(r["label"], ""),
        ]
        for i, r in enumerate(result["rare_labels"])
    ]
    per_label = markdown_table(
        ["#", "label", "train", "train + aug", "dev", "F1 without", "F1 with", "AP without", "AP with"], rows
    )
    intro = (
        f"Labels with fewer than {result['min_count']} of {result['train_examples']} training examples were "
        f"augmented (strategy `{result['strategy']}`, aug_percent {result['aug_percent']}, at most "
        f"{result['create_n']} variants per example): {result['added']} new lines. Both runs use the same recipe "
        f"and seed. Rare-label macro F1 averages the rare labels that occur in dev; with a handful of dev examples "
        f"per label, one prediction moves a label's F1 a lot. {_thresholds_note(result['thresholds'])} Average "
        f"precision (AP) ranks dev texts by the label's probability and needs no threshold: it shows whether the "
        f"model moved towards a rare label even where no prediction crosses a threshold.\n"
    )
    examples = "".join(f"- {t}\n" for t in result["examples"])
    sections = [("", intro), ("Effect", summary), ("Per rare label (dev)", per_label), ("First variants", examples)]
    sections.append(("Time", _time_note(result)))
    if command:
        sections.append(("Command", f"```\n{command}\n```\n"))
    write_markdown(out_dir / "augment.md", "Augmentation for rare labels", sections)
    atomic_write_json(out_dir / "augment.json", result)
    labels = [r["label"] for r in result["rare_labels"]]
    bar_plot(
        out_dir / "augment.png",
        labels,
        {
            "without": [a["per_label_ap"].get(x, 0.0) for x in labels],
            "with augmentation": [b["per_label_ap"].get(x, 0.0) for x in labels],
        },
        f"Dev average precision of labels with < {result['min_count']} training examples",
        "average precision",
        rotate=True,
    )
