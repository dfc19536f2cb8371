"""The training loop behind training/train.py (PaddlePaddle dygraph, sigmoid + BCE)."""

from __future__ import annotations

import argparse
import logging
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from hiercls.batching import length_sorted_batches, pad_batch
from hiercls.data import Example, dataset_files, read_examples
from hiercls.runtime.decoding import decode, sigmoid
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.runtime.io import atomic_write_json
from hiercls.runtime.thresholds import THRESHOLDS_FILE, default_thresholds, save_thresholds

logger = logging.getLogger(__name__)

TRAIN_META = "train_meta.json"


def encode(tokenizer, texts: list[str], max_seq_length: int) -> list[list[int]]:
    enc = tokenizer(texts, max_length=max_seq_length, truncation=True, return_token_type_ids=False)
    return enc["input_ids"]


def paddle_logits(model, ids: list[list[int]], batch_size: int, pad_id: int = 0) -> np.ndarray:
    """Logits for pre-tokenised texts, length-sorted batches, original order out."""
    import paddle

    rows: dict[int, np.ndarray] = {}
    model.eval()
    with paddle.no_grad():
        for idx in length_sorted_batches([len(x) for x in ids], batch_size):
            x = paddle.to_tensor(pad_batch([ids[i] for i in idx], pad_id))
            logits = model(x, token_type_ids=paddle.zeros_like(x))
            rows.update(zip(idx.tolist(), logits.numpy().astype(np.float32)))
    return np.stack([rows[i] for i in range(len(ids))])


def save_checkpoint(save_dir: Path, model, tokenizer, hierarchy: LabelHierarchy, meta: dict) -> None:
    """Write the checkpoint to a temp dir, then swap it in: a crash never leaves half
    a checkpoint in save_dir."""
    tmp = save_dir.with_name(save_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    hierarchy.save(tmp / "label.txt")
    save_thresholds(tmp / THRESHOLDS_FILE, hierarchy, default_thresholds(hierarchy), source="default")
    atomic_write_json(tmp / TRAIN_META, meta)
    old = save_dir.with_name(save_dir.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if save_dir.exists():
        save_dir.rename(old)
    tmp.rename(save_dir)
    shutil.rmtree(old, ignore_errors=True)


def sample_texts(texts: list[str], n: int = 16) -> list[str]:
    """n texts spread over the length range, shortest to longest."""
    by_len = sorted(set(texts), key=len)
    if len(by_len) <= n:
        return by_len
    return [by_len[round(i * (len(by_len) - 1) / (n - 1))] for i in range(n)]


def evaluate_micro_f1(model, ids, y_true: np.ndarray, hierarchy: LabelHierarchy, batch_size: int) -> dict:
    from hiercls.metrics import scores

    probs = sigmoid(paddle_logits(model, ids, batch_size))
    pred = decode(probs, default_thresholds(hierarchy), hierarchy)
    return scores(y_true, pred).as_dict()


def train(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="hiercls-vocab-") as scratch:
        return _train(args, scratch)


def _train(args: argparse.Namespace, scratch: str) -> dict:
    import paddle
    from paddlenlp.transformers import LinearDecayWithWarmup

    from hiercls import modeling

    paddle.set_device(args.device)
    random.seed(args.seed)
    np.random.seed(args.seed)
    paddle.seed(args.seed)

    files = dataset_files(args.dataset_dir, args.train_file, args.dev_file, args.label_file)
    hierarchy = LabelHierarchy.from_file(files.label)
    train_ex: list[Example] = read_examples(files.train, hierarchy)
    dev_ex: list[Example] = read_examples(files.dev, hierarchy)
    logger.info("labels %d (depth %d), train %d, dev %d", len(hierarchy), hierarchy.depth, len(train_ex), len(dev_ex))

    save_dir = Path(args.save_dir)
    if args.from_scratch:
        vocab = modeling.build_char_vocab(e.text for e in train_ex)
        model, tokenizer = modeling.new_model(args.model_name, len(hierarchy), vocab, Path(scratch))
        logger.info("from scratch: shape %s, vocab %d", args.model_name, len(vocab))
    else:
        model, tokenizer = modeling.pretrained_model(args.model_name, len(hierarchy))
    if args.init_from_ckpt:
        model.set_dict(paddle.load(args.init_from_ckpt))
        logger.info("initialised from %s", args.init_from_ckpt)

    train_ids = encode(tokenizer, [e.text for e in train_ex], args.max_seq_length)
    dev_ids = encode(tokenizer, [e.text for e in dev_ex], args.max_seq_length)
    y_train = hierarchy.multi_hot([e.labels for e in train_ex])
    y_dev = hierarchy.multi_hot([e.labels for e in dev_ex])

    steps_per_epoch = -(-len(train_ex) // args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    warmup = args.warmup_steps if args.warmup else 0
    # The schedule always advances (PaddleNLP's only did with --warmup); warm-up 0
    # is plain linear decay.
    lr = LinearDecayWithWarmup(args.learning_rate, total_steps, warmup)
    decay = [p.name for n, p in model.named_parameters() if not any(k in n for k in ("bias", "norm"))]
    optimizer = paddle.optimizer.AdamW(
        learning_rate=lr,
        parameters=model.parameters(),
        weight_decay=args.weight_decay,
        apply_decay_param_fun=lambda name: name in decay,
    )
    criterion = paddle.nn.BCEWithLogitsLoss()

    best, best_epoch, bad_epochs, step = -1.0, 0, 0, 0
    history = []
    rng = np.random.default_rng(args.seed)
    t_start = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = rng.permutation(len(train_ex))
        t_epoch, seen = time.time(), 0
        for b in range(steps_per_epoch):
            idx = order[b * args.batch_size : (b + 1) * args.batch_size]
            x = paddle.to_tensor(pad_batch([train_ids[i] for i in idx]))
            logits = model(x, token_type_ids=paddle.zeros_like(x))
            loss = criterion(logits, paddle.to_tensor(y_train[idx]))
            loss.backward()
            optimizer.step()
            lr.step()
            optimizer.clear_grad()
            step += 1
            seen += len(idx)
            if step % args.logging_steps == 0 or b == steps_per_epoch - 1:
                rate = seen / max(time.time() - t_epoch, 1e-9)
                eta = (total_steps - step) * args.batch_size / rate
                logger.info(
                    "epoch %d step %d/%d loss %.4f lr %.2e %.1f samples/s ETA %.0fs",
                    epoch,
                    step,
                    total_steps,
                    float(loss),
                    lr.get_lr(),
                    rate,
                    eta,
                )
        dev = evaluate_micro_f1(model, dev_ids, y_dev, hierarchy, args.batch_size)
        history.append({"epoch": epoch, **dev})
        logger.info(
            "epoch %d dev micro_f1 %.4f macro_f1 %.4f accuracy %.4f",
            epoch,
            dev["micro_f1"],
            dev["macro_f1"],
            dev["accuracy"],
        )
        if dev["micro_f1"] > best:
            best, best_epoch, bad_epochs = dev["micro_f1"], epoch, 0
            meta = {
                "model_name": args.model_name,
                "from_scratch": bool(args.from_scratch),
                "max_seq_length": args.max_seq_length,
                "epoch": epoch,
                "dev": dev,
                "label_train_counts": dict(zip(hierarchy.labels, y_train.sum(0).astype(int).tolist())),
                # Real inputs of varied length for the export's Paddle-vs-ONNX check.
                "sample_texts": sample_texts([e.text for e in dev_ex]),
            }
            save_checkpoint(save_dir, model, tokenizer, hierarchy, meta)
            logger.info("saved best checkpoint (dev micro F1 %.4f) to %s", best, save_dir)
        else:
            bad_epochs += 1
            if args.early_stop and bad_epochs >= args.early_stop_nums:
                logger.info("early stop: no dev improvement for %d epochs", bad_epochs)
                break
    summary = {
        "best_dev_micro_f1": best,
        "best_epoch": best_epoch,
        "train_seconds": round(time.time() - t_start, 1),
        "history": history,
    }
    atomic_write_json(save_dir / "train_history.json", summary)
    return summary
