"""Sparse data: dev examples that little training data supports, and the
unlabelled texts most similar to them (the ones worth labelling next).

Two support scores, both on the checkpoint's features:

- ``similarity``: mean cosine similarity of a dev example to its ``k`` nearest
  training examples (TrustAI's feature-similarity evidence);
- ``representer``: mean of the ``k`` largest positive representer values
  ``alpha_i . f_i . f_t`` (Yeh et al., 2018), where ``alpha_i = y_i - sigmoid(logit_i)``
  is minus the BCE gradient of training example ``i`` at its logits and only the
  labels the model predicts for ``t`` count: how much training examples push the
  model towards its own prediction for ``t``.

Low support means the model has seen little like this example; such examples
are predicted worse (the experiment in ``hiercls.analysis.experiments`` shows it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hiercls.analysis.records import write_texts, write_tsv
from hiercls.data.reading import Example
from hiercls.evaluation.metrics import scores
from hiercls.runtime.decoding import LabelDecoder

logger = logging.getLogger(__name__)

SUPPORT_METHODS: tuple[str, ...] = ("similarity", "representer")
CHUNK = 512  # query rows per matrix product: bounds memory to CHUNK x n_keys floats


def l2_normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _top_k(values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Largest k per row, sorted descending: (values, column indices)."""
    k = min(k, values.shape[1])
    idx = np.argpartition(-values, k - 1, axis=1)[:, :k]
    part = np.take_along_axis(values, idx, axis=1)
    order = np.argsort(-part, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(idx, order, axis=1)


def nearest(queries: np.ndarray, keys: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarities [N, k] and indices [N, k] of each query's k nearest keys."""
    if k < 1:
        raise ValueError(f"k must be positive, got {k}")
    q, kk = l2_normalize(queries), l2_normalize(keys)
    sims, idx = [], []
    for start in range(0, len(q), CHUNK):
        s, i = _top_k(q[start : start + CHUNK] @ kk.T, k)
        sims.append(s)
        idx.append(i)
    return np.concatenate(sims), np.concatenate(idx)


def similarity_support(dev_features: np.ndarray, train_features: np.ndarray, k: int = 3) -> np.ndarray:
    """Mean cosine similarity to the k nearest training examples, per dev example."""
    sims, _ = nearest(dev_features, train_features, k)
    return sims.mean(axis=1)


def representer_alpha(train_probs: np.ndarray, train_y: np.ndarray) -> np.ndarray:
    """``y - sigmoid(logit)`` [n, L]: minus dBCE/dlogit; the representer theorem's
    weights up to a constant that does not change any ranking."""
    return np.asarray(train_y, dtype=np.float32) - np.asarray(train_probs, dtype=np.float32)


def representer_support(
    dev_features: np.ndarray,
    dev_pred: np.ndarray,
    train_features: np.ndarray,
    train_alpha: np.ndarray,
    k: int = 3,
) -> np.ndarray:
    """Mean of the k largest positive representer values towards each dev example's
    predicted labels (``dev_pred`` bool [N, L]; a row must predict something)."""
    dev_pred = np.asarray(dev_pred, dtype=np.float32)
    if (dev_pred.sum(axis=1) == 0).any():
        raise ValueError("every dev row needs at least one predicted label (decode with at_least_one)")
    f_train = np.asarray(train_features, dtype=np.float32)
    out = []
    for start in range(0, len(dev_features), CHUNK):
        dots = np.asarray(dev_features[start : start + CHUNK], dtype=np.float32) @ f_train.T  # [B, n]
        push = dev_pred[start : start + CHUNK] @ np.asarray(train_alpha, dtype=np.float32).T  # [B, n]
        top, _ = _top_k(np.maximum(dots * push, 0.0), k)
        out.append(top.mean(axis=1))
    return np.concatenate(out)


@dataclass(frozen=True)
class Selection:
    """One unlabelled text chosen for labelling."""

    pool_index: int  # row in the unlabelled pool
    sparse_rank: int  # which sparse dev example (0 = least supported) it is nearest to
    similarity: float


def select_for_labelling(
    sparse_features: np.ndarray,
    pool_features: np.ndarray,
    budget: int,
    min_similarity: float = -1.0,
) -> list[Selection]:
    """Up to ``budget`` distinct pool texts, round-robin over the sparse examples
    (least supported first): each takes its nearest text not yet chosen, so every
    sparse example gets help before any gets a second text."""
    if budget < 1 or len(sparse_features) == 0 or len(pool_features) == 0:
        return []
    per = min(len(pool_features), -(-budget // len(sparse_features)) * 2 + 4)  # slack for duplicates
    sims, idx = nearest(sparse_features, pool_features, per)
    chosen: dict[int, Selection] = {}
    cursor = np.zeros(len(sparse_features), dtype=np.int64)
    active = list(range(len(sparse_features)))
    while len(chosen) < budget and active:
        still = []
        for r in active:
            while cursor[r] < per:
                if sims[r, cursor[r]] < min_similarity:
                    cursor[r] = per  # sorted descending: the rest are below too
                elif int(idx[r, cursor[r]]) in chosen:
                    cursor[r] += 1
                else:
                    break
            if cursor[r] >= per:
                continue
            j = int(idx[r, cursor[r]])
            chosen[j] = Selection(j, r, float(sims[r, cursor[r]]))
            cursor[r] += 1
            still.append(r)
            if len(chosen) >= budget:
                break
        active = still
    return list(chosen.values())


@dataclass
class SparseResult:
    support: np.ndarray  # [N_dev], higher = better supported
    sparse: np.ndarray  # dev indices, least supported first
    selections: list[Selection]
    dev_probs: np.ndarray  # [N_dev, L]
    pool_texts: list[str]  # the deduplicated pool the selections index
    pool_probs: np.ndarray  # [N_pool, L]


def find_sparse(
    model,
    train: list[Example],
    dev: list[Example],
    pool_texts: list[str],
    method: str = "similarity",
    rationale_num: int = 3,
    sparse_num: int = 100,
    valid_num: int = 100,
    valid_threshold: float = -1.0,
) -> SparseResult:
    """Rank dev by support and choose pool texts near the least supported.
    ``model`` is a :class:`hiercls.analysis.features.CheckpointModel`."""
    if method not in SUPPORT_METHODS:
        raise ValueError(f"unknown support method {method!r}; choose one of {SUPPORT_METHODS}")
    if rationale_num < 1 or sparse_num < 1 or valid_num < 0:
        raise ValueError("--rationale_num and --sparse_num must be positive and --valid_num not negative")
    if method == "representer" and model.pooling != "pooled":
        raise ValueError("the representer score needs the classifier's input: use pooling 'pooled'")
    h = model.hierarchy
    enc_train = model.encode([e.text for e in train], "train texts")
    enc_dev = model.encode([e.text for e in dev], "dev texts")
    if method == "similarity":
        support = similarity_support(enc_dev.features, enc_train.features, rationale_num)
    else:
        dev_pred = h.multi_hot(model.decoding.label_sets(enc_dev.probs, at_least_one=True))
        alpha = representer_alpha(enc_train.probs, h.multi_hot([e.labels for e in train]))
        support = representer_support(enc_dev.features, dev_pred, enc_train.features, alpha, rationale_num)
    sparse = np.argsort(support, kind="stable")[: min(sparse_num, len(dev))]

    # A pool text already in train or dev would be labelled twice; repeats once.
    seen = {e.text for e in train} | {e.text for e in dev}
    pool = list(dict.fromkeys(t for t in pool_texts if t not in seen))
    if len(pool) < len(pool_texts):
        # duee_hier's data.txt is a sample of dev.txt: labelling it would leak dev into train.
        logger.warning(
            "%d of %d unlabelled texts dropped: repeated, or already in train or dev",
            len(pool_texts) - len(pool),
            len(pool_texts),
        )
    if pool and valid_num:
        enc_pool = model.encode(pool, "unlabelled texts")
        selections = select_for_labelling(enc_dev.features[sparse], enc_pool.features, valid_num, valid_threshold)
        pool_probs = enc_pool.probs
    else:
        selections, pool_probs = [], np.zeros((0, len(h)), dtype=np.float32)
    return SparseResult(support, sparse, selections, enc_dev.probs, pool, pool_probs)


def sparse_vs_rest(result: SparseResult, dev: list[Example], decoding: LabelDecoder) -> dict:
    """Dev scores of the sparse examples against the rest: the check that low
    support really marks examples the model gets wrong."""
    y = decoding.hierarchy.multi_hot([e.labels for e in dev]).astype(bool)
    pred = decoding.decode(result.dev_probs)
    mask = np.zeros(len(dev), dtype=bool)
    mask[result.sparse] = True
    out = {"sparse": {"count": int(mask.sum()), **scores(y[mask], pred[mask]).as_dict()}}
    if (~mask).any():
        out["rest"] = {"count": int((~mask).sum()), **scores(y[~mask], pred[~mask]).as_dict()}
    return out


def write_sparse_outputs(
    out_dir: Path,
    result: SparseResult,
    dev: list[Example],
    decoding: LabelDecoder,
    sparse_file: str = "sparse.tsv",
    valid_file: str = "valid.txt",
) -> dict[str, Path]:
    """sparse.tsv (least supported dev examples), valid.txt (texts to label, data.txt
    layout) and valid.tsv (the same with the model's suggestion and the sparse
    example each text was chosen for, to help the labeller)."""
    out_dir = Path(out_dir)
    dev_labels = decoding.label_sets(result.dev_probs)
    write_tsv(
        out_dir / sparse_file,
        ["rank", "support", "text", "labels", "predicted"],
        (
            (rank + 1, float(result.support[i]), dev[i].text, dev[i].labels, dev_labels[i])
            for rank, i in enumerate(result.sparse.tolist())
        ),
    )
    chosen = [s.pool_index for s in result.selections]
    texts = [result.pool_texts[j] for j in chosen]
    suggested = decoding.label_sets(result.pool_probs[chosen], at_least_one=True) if chosen else []
    write_texts(out_dir / valid_file, texts)
    detail = out_dir / (Path(valid_file).stem + ".tsv")
    write_tsv(
        detail,
        ["text", "suggested_labels", "similarity", "sparse_rank", "sparse_text"],
        (
            (t, lab, s.similarity, s.sparse_rank + 1, dev[int(result.sparse[s.sparse_rank])].text)
            for t, lab, s in zip(texts, suggested, result.selections)
        ),
    )
    return {"sparse": out_dir / sparse_file, "valid": out_dir / valid_file, "valid_detail": detail}
