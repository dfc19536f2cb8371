"""Dirty data: training examples whose labels are likely wrong, ranked, with the
model's hierarchy-consistent suggestion for each.

Scores (higher = more suspect):

- ``loss``: the example's BCE under the model, summed over labels (self-confidence:
  a label the model, having seen it, still disbelieves);
- ``representer``: self-influence in the representer-point sense, the size of the
  BCE gradient at the logits times the squared feature norm,
  ``sum_c |y_c - sigmoid(logit_c)| * |f|^2`` (TrustAI's dirty-data score);
- ``cv``: the ``loss`` score under out-of-fold probabilities (confident learning):
  each example is scored by a model that never saw it, so memorised wrong labels
  cannot hide. Needs K retrainings (see ``hiercls.analysis.experiments``).

The noise-injection helpers measure how well a score finds known wrong labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hiercls.analysis.records import leaf_labels, write_examples, write_tsv
from hiercls.data.reading import Example
from hiercls.runtime.decoding import LabelDecoder
from hiercls.runtime.hierarchy import LabelHierarchy

DIRTY_METHODS: tuple[str, ...] = ("loss", "representer", "cv")
EPS = 1e-6


def example_loss(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Summed BCE per row."""
    p = np.clip(np.asarray(probs, dtype=np.float64), EPS, 1 - EPS)
    y = np.asarray(y, dtype=np.float64)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum(axis=1)


def representer_self_influence(features: np.ndarray, probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``sum_c |alpha_ic| * f_i . f_i`` with ``alpha = y - sigmoid(logit)``."""
    alpha = np.abs(np.asarray(y, dtype=np.float64) - np.asarray(probs, dtype=np.float64)).sum(axis=1)
    return alpha * np.square(np.asarray(features, dtype=np.float64)).sum(axis=1)


@dataclass
class DirtyResult:
    method: str
    scores: np.ndarray  # [N_train], higher = more suspect
    order: np.ndarray  # train indices, most suspect first
    probs: np.ndarray  # [N_train, L] the probabilities scored (in-sample, or out-of-fold for cv)


def score_dirty(
    method: str,
    train: list[Example],
    hierarchy: LabelHierarchy,
    probs: np.ndarray,
    features: np.ndarray | None = None,
) -> DirtyResult:
    """Rank training examples; ``features`` are needed for ``representer``."""
    if method not in DIRTY_METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {DIRTY_METHODS}")
    y = hierarchy.multi_hot([e.labels for e in train])
    if probs.shape != y.shape:
        raise ValueError(f"probabilities of shape {list(probs.shape)} for {list(y.shape)} labels")
    if method == "representer":
        if features is None:
            raise ValueError("the representer score needs the training features")
        scores = representer_self_influence(features, probs, y)
    else:
        scores = example_loss(probs, y)
    order = np.argsort(-scores, kind="stable")
    return DirtyResult(method, scores, order, np.asarray(probs, dtype=np.float32))


def find_dirty(model, train: list[Example], method: str = "loss") -> DirtyResult:
    """In-sample scores from a :class:`hiercls.analysis.features.CheckpointModel`
    (``cv`` needs out-of-fold probabilities: use experiments.out_of_fold_probs)."""
    if method == "cv":
        raise ValueError("method 'cv' scores out-of-fold probabilities: pass --folds K (at least 2)")
    enc = model.encode([e.text for e in train], "train texts")
    return score_dirty(method, train, model.hierarchy, enc.probs, enc.features)


def suspects(result: DirtyResult, dirty_num: int, dirty_threshold: float | None = None) -> np.ndarray:
    """The top ``dirty_num`` indices, keeping only scores above the threshold if one is set."""
    top = result.order[: max(dirty_num, 0)]
    if dirty_threshold is not None:
        top = top[result.scores[top] > dirty_threshold]
    return top


def write_dirty_outputs(
    out_dir: Path,
    result: DirtyResult,
    train: list[Example],
    decoding: LabelDecoder,
    dirty_num: int,
    dirty_threshold: float | None = None,
    dirty_file: str = "train_dirty.txt",
    rest_file: str = "train_dirty_rest.txt",
) -> dict[str, Path]:
    """train_dirty.txt (suspects, current labels, to relabel), train_dirty_rest.txt
    (everything else), both in train.txt layout so ``cat`` rebuilds a training file,
    and dirty.tsv (rank, score, current and suggested labels)."""
    out_dir = Path(out_dir)
    top = suspects(result, dirty_num, dirty_threshold)
    suggested = decoding.label_sets(result.probs[top], at_least_one=True) if len(top) else []
    picked = set(top.tolist())
    write_examples(out_dir / dirty_file, (train[i] for i in top))
    write_examples(out_dir / rest_file, (e for i, e in enumerate(train) if i not in picked))
    detail = out_dir / (Path(dirty_file).stem + ".tsv")
    write_tsv(
        detail,
        ["rank", "score", "text", "labels", "suggested_labels", "differs"],
        (
            (r + 1, float(result.scores[i]), train[i].text, train[i].labels, s, "yes" if s != train[i].labels else "no")
            for r, (i, s) in enumerate(zip(top.tolist(), suggested))
        ),
    )
    return {"dirty": out_dir / dirty_file, "rest": out_dir / rest_file, "detail": detail}


def inject_label_noise(
    examples: list[Example], hierarchy: LabelHierarchy, rate: float, seed: int
) -> tuple[list[Example], np.ndarray]:
    """A copy of ``examples`` where a ``rate`` share of rows has one leaf label swapped
    for another label of the same level (closed under ancestors, so the noise is
    hierarchy-consistent and a parent changes with its child). Returns the noisy
    examples and the sorted indices that were changed."""
    if not 0 < rate < 1:
        raise ValueError(f"--noise_rate must lie strictly between 0 and 1, got {rate}")
    rng = np.random.default_rng(seed)
    n = round(rate * len(examples))
    idx = np.sort(rng.choice(len(examples), size=n, replace=False))
    out = list(examples)
    by_level = {lvl: [hierarchy.labels[i] for i in ids] for lvl, ids in enumerate(hierarchy.level_order(), 1)}
    changed = []
    for i in idx.tolist():
        leaves = leaf_labels(examples[i].labels, hierarchy)
        old = leaves[rng.integers(len(leaves))]
        options = [x for x in by_level[int(hierarchy.levels[hierarchy.index[old]])] if x not in examples[i].labels]
        if not options:
            continue  # the example already carries every label of that level
        new = options[rng.integers(len(options))]
        out[i] = Example(examples[i].text, tuple(hierarchy.close([x for x in leaves if x != old] + [new])))
        changed.append(i)
    return out, np.asarray(changed, dtype=np.int64)


def precision_at_k(order: np.ndarray, noisy: np.ndarray, ks: list[int]) -> dict[int, float]:
    """Share of truly noisy examples among the top k, for each k."""
    is_noisy = np.zeros(len(order), dtype=bool)
    is_noisy[noisy] = True
    hits = np.cumsum(is_noisy[order])
    return {k: float(hits[min(k, len(order)) - 1] / min(k, len(order))) for k in ks if k >= 1}


def average_precision(order: np.ndarray, noisy: np.ndarray) -> float:
    """Mean of precision@rank over the ranks of the noisy examples (1.0 = all first)."""
    from sklearn.metrics import average_precision_score

    is_noisy = np.zeros(len(order), dtype=bool)
    is_noisy[noisy] = True
    if not is_noisy.any():
        return 0.0
    score = np.empty(len(order))
    score[order] = -np.arange(len(order))  # earlier in the ranking = more suspect
    return float(average_precision_score(is_noisy, score))
