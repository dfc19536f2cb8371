"""DynaBERT width-adaptive pruning with PaddleSlim's OFA, distilling from the fine-tuned
teacher; the loop behind training/prune.py.

The steps are DynaBERT's as PaddleNLP 2.8.1 runs them (``Trainer.compress`` with
``strategy="dynabert"``):

1. convert a copy of the teacher to a PaddleSlim supernet (``Convert`` +
   ``supernet``) inside ``OFA`` with a ``DistillConfig`` mapping the embeddings and
   every encoder layer to the teacher's;
2. score every attention head (gradient of the loss with respect to a head mask) and
   every FFN neuron (|w * grad w|), and sort them by importance so that the leading
   ones are kept (PaddleNLP's ``compute_neuron_head_importance`` /
   ``reorder_neuron_head``);
3. train the supernet: each step runs every requested width (``utils.dynabert_config``)
   and adds hidden-state distillation (OFA's ``calc_distill_loss``) to a logit loss
   against the teacher.

Where this differs from ``Trainer.compress``, on purpose:

- the logit loss is BCE against the teacher's sigmoid probabilities (multi-label);
  PaddleNLP's is a softmax cross entropy, which is for single-label classes;
- importance is scored on training batches, not on dev, which stays for model selection;
- each width is evaluated as the real pruned model (weights sliced into a narrower
  ERNIE) on dev micro F1 with the checkpoint's thresholds and hierarchy decoder,
  and the best step per width is kept;
- several widths are exported correctly: PaddleNLP 2.8.1's ``_get_dynabert_model``
  narrows the same model in place for every width, so a second width compounds the
  first (3/4 then 1/2 gives 3/8).

Each width is written as a checkpoint (``output_dir/checkpoints/width_mult_W``) and
exported with ``hiercls.export.onnx.export_checkpoint`` to ``output_dir/width_mult_W`` (static
graph + ONNX + everything the repository builder needs).
"""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path

import numpy as np

from hiercls.compression import paddleslim_compat, pruning
from hiercls.data.batching import pad_batch
from hiercls.data.reading import Example, dataset_files, read_examples
from hiercls.evaluation.metrics import scores
from hiercls.export.onnx import export_checkpoint
from hiercls.modeling.checkpoint import load_checkpoint, sample_texts, save_checkpoint
from hiercls.modeling.inference import default_device, encode, paddle_logits
from hiercls.runtime.artifacts import LABEL_FILE, THRESHOLDS_FILE, read_train_meta
from hiercls.runtime.decoding import LabelDecoder
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.runtime.io import atomic_write_json, atomic_write_text
from hiercls.training.config import PruneConfig
from hiercls.training.loop import EpochLoop, build_optimizer, seed_everything

logger = logging.getLogger(__name__)

CHECKPOINTS_DIR = "checkpoints"
SUMMARY_FILE = "prune_summary.json"
LAMBDA_DISTILL = 0.1  # PaddleNLP's weight of the hidden-state loss
LAMBDA_LOGIT = 1.0


def build_supernet(student, teacher):
    """(OFA model) with width elasticity and layer-wise distillation from ``teacher``."""
    from paddlenlp.trainer import trainer_compress as tc
    from paddleslim.nas.ofa import OFA, DistillConfig, utils
    from paddleslim.nas.ofa.convert_super import Convert, supernet

    paddleslim_compat.apply()
    weights = student.state_dict()
    # PaddleNLP's forward replacements (private helpers of the pinned 2.8.1) that let
    # ERNIE take attention_mask=[mask, head_mask] and narrow its heads under OFA; the
    # same calls, in the same order, as its Trainer.compress.
    tc._replace_auto_model_forward(student)
    tc._replace_auto_model_forward(teacher)
    student = Convert(supernet(expand_ratio=[1.0])).convert(student)
    utils.set_state_dict(student, weights)
    prefix = student.base_model_prefix
    mapping = [f"{prefix}.embeddings"] + [
        f"{prefix}.encoder.layers.{i}" for i in range(student.base_model.config["num_hidden_layers"])
    ]
    distill = DistillConfig(lambda_distill=LAMBDA_DISTILL, teacher_model=teacher, mapping_layers=mapping)
    ofa_model = OFA(student, distill_config=distill, elastic_order=["width"])
    tc._replace_transformer_func(ofa_model.model)
    tc._replace_transformer_func(ofa_model)  # reaches the teacher's copy inside OFA too
    return ofa_model


def set_width(ofa_model, width_mult: float) -> None:
    from paddlenlp.trainer.trainer_compress import check_dynabert_config
    from paddleslim.nas.ofa import utils

    config = check_dynabert_config(utils.dynabert_config(ofa_model, width_mult), width_mult)
    ofa_model.set_net_config(config)


def restore_heads(ofa_model, num_heads: int) -> None:
    """PaddleNLP's OFA attention narrows ``num_heads`` before a forward and restores it
    after as int(heads / width), which float rounding can leave one head short
    (int(8 / 0.666667) == 11): reset it to the true count."""
    for layer in ofa_model.model.base_model.encoder.layers:
        layer.self_attn.num_heads = num_heads


def reorder_by_importance(ofa_model, batches: list, num_layers: int, num_heads: int) -> tuple[np.ndarray, list]:
    """Sort heads and FFN neurons of every layer by importance (kept ones first)."""
    import paddle
    from paddlenlp.transformers.ofa_utils import compute_neuron_head_importance, reorder_neuron_head

    head_imp, neuron_imp = compute_neuron_head_importance(
        model=ofa_model.model,
        data_loader=batches,
        loss_fct=paddle.nn.BCEWithLogitsLoss(),
        num_layers=num_layers,
        num_heads=num_heads,
    )
    reorder_neuron_head(ofa_model.model, head_imp, neuron_imp)
    ofa_model.model.clear_gradients()
    return head_imp.numpy(), neuron_imp


def full_state(ofa_model) -> dict:
    """The supernet's weights under the plain model's parameter names."""
    return {k.replace(".fn.", "."): v for k, v in ofa_model.model.state_dict().items()}


def sub_model(config: dict, shape: pruning.PrunedShape, state: dict):
    model = pruning.build_pruned_model(config, shape)
    model.set_state_dict(pruning.slice_state_dict(state, model.state_dict()))
    model.eval()
    return model


def evaluate(model, ids, y_true: np.ndarray, decoding: LabelDecoder, pad_id: int, batch_size: int) -> dict:
    """Dev scores with the checkpoint's thresholds and decoder, as the server decodes."""
    logits = paddle_logits(model, ids, batch_size, pad_id)
    if not np.isfinite(logits).all():
        return {"micro_f1": float("nan"), "macro_f1": float("nan")}
    return scores(y_true, decoding.decode_logits(logits)[1]).as_dict()


def prune_from_files(config: PruneConfig, dataset_dir: str | Path) -> dict:
    """``prune`` with train.txt and dev.txt of ``dataset_dir``, whose label.txt must be the teacher's."""
    files = dataset_files(dataset_dir)
    hierarchy = LabelHierarchy.from_file(files.label)
    if hierarchy.labels != LabelHierarchy.from_file(config.params_dir / LABEL_FILE).labels:
        raise ValueError(
            f"{files.label} does not match the teacher's {LABEL_FILE} in {config.params_dir}: "
            "prune with the data set the teacher was trained on"
        )
    return prune(config, read_examples(files.train, hierarchy), read_examples(files.dev, hierarchy))


def prune(config: PruneConfig, train_ex: list[Example], dev_ex: list[Example]) -> dict:
    """Train the width-adaptive supernet and write one checkpoint + export per width.
    The examples carry the teacher's labels (``prune_from_files`` checks a data set's)."""
    import paddle

    paddle.set_device(config.device or default_device())
    seed_everything(config.seed)
    teacher, tokenizer, decoding = load_teacher(config.params_dir)
    pad_id = int(tokenizer.pad_token_id)
    widths = sorted(set(config.width_mult), reverse=True)
    shapes = {w: pruning.shape_of(teacher, w) for w in widths}  # fails early on a width that splits a head

    def encoded(examples: list[Example]):
        ids = encode(tokenizer, [e.text for e in examples], config.max_seq_length)
        return ids, decoding.hierarchy.multi_hot([e.labels for e in examples]).astype(np.float32)

    train_ids, y_train = encoded(train_ex)
    dev_ids, y_dev = encoded(dev_ex)
    teacher_dev = evaluate(teacher, dev_ids, y_dev, decoding, pad_id, config.eval_batch_size)
    logger.info("teacher dev micro F1 %.4f macro F1 %.4f", teacher_dev["micro_f1"], teacher_dev["macro_f1"])

    loop = WidthLoop(config, teacher, shapes, decoding, pad_id, (train_ids, y_train), (dev_ids, y_dev))
    loop.reorder_by_importance()
    loop.evaluate_widths(0)  # the pruned teacher before any training: what distillation improves on
    seconds = loop.run()
    results = {w: _write_width(config, loop, tokenizer, w, teacher_dev, [e.text for e in dev_ex]) for w in widths}
    summary = {
        "teacher": str(config.params_dir.resolve()),
        "teacher_dev": teacher_dev,
        "widths": {pruning.width_dir_name(w): r for w, r in results.items()},
        "train_seconds": round(seconds, 1),
        "history": loop.history,
    }
    atomic_write_json(config.output_dir / SUMMARY_FILE, summary)
    return summary


def load_teacher(params_dir: Path):
    """(teacher model, tokenizer, its LabelDecoder) of a fine-tuned full-width ERNIE checkpoint."""
    if pruning.is_checkpoint(params_dir):
        raise ValueError(f"{params_dir} is already pruned: prune the fine-tuned full-width checkpoint")
    teacher, tokenizer = load_checkpoint(params_dir)
    if type(teacher).__name__ != "ErnieForSequenceClassification":
        raise ValueError(
            f"{params_dir} holds a {type(teacher).__name__}; DynaBERT pruning here supports ERNIE checkpoints"
        )
    return teacher, tokenizer, LabelDecoder.from_folder(params_dir)


class WidthLoop(EpochLoop):
    """Trains the supernet: every step runs each width against the teacher; every
    ``save_steps`` and at each epoch's end every width is evaluated as the real pruned
    model and its best step kept."""

    def __init__(
        self, config: PruneConfig, teacher, shapes: dict, decoding: LabelDecoder, pad_id: int, train, dev
    ) -> None:
        import paddle

        self.config, self.shapes, self.decoding, self.pad_id = config, shapes, decoding, pad_id
        self.widths = list(shapes)
        self.model_config = teacher.config.to_dict()
        self.num_layers = teacher.base_model.config["num_hidden_layers"]
        self.num_heads = teacher.base_model.config["num_attention_heads"]
        (self.train_ids, self.y_train), (self.dev_ids, self.y_dev) = train, dev
        self.ofa_model = build_supernet(copy.deepcopy(teacher), teacher)
        self.rng = np.random.default_rng(config.seed)
        bs = config.train_batch_size
        steps_per_epoch = -(-len(self.train_ids) // bs)
        optimizer, lr = build_optimizer(
            self.ofa_model.model, config.learning_rate, steps_per_epoch * config.epochs, 0, config.weight_decay
        )
        super().__init__(optimizer, lr, config.epochs, steps_per_epoch, bs, config.logging_steps)
        self.bce = paddle.nn.BCEWithLogitsLoss()
        self.best: dict[float, dict] = {w: {"micro_f1": -1.0} for w in self.widths}
        self.best_state: dict[float, dict] = {}
        self.history: list[dict] = []

    def batch(self, idx):
        import paddle

        x = paddle.to_tensor(pad_batch([self.train_ids[i] for i in idx], self.pad_id))
        return x, paddle.zeros_like(x), paddle.to_tensor(self.y_train[idx])

    def reorder_by_importance(self) -> None:
        bs, n = self.config.train_batch_size, len(self.train_ids)
        order = self.rng.permutation(n)
        batches = [
            list(self.batch(order[i : i + bs])) for i in range(0, min(n, self.config.importance_batches * bs), bs)
        ]
        t0 = time.time()
        head_imp, _ = reorder_by_importance(self.ofa_model, batches, self.num_layers, self.num_heads)
        logger.info(
            "head importance on %d batches (%.1fs), per layer: %s",
            len(batches),
            time.time() - t0,
            np.round(head_imp, 4).tolist(),
        )

    def evaluate_widths(self, step: int) -> None:
        state = {k: v.numpy().copy() for k, v in full_state(self.ofa_model).items()}
        row = {"step": step}
        for w in self.widths:
            model = sub_model(self.model_config, self.shapes[w], state)
            dev = evaluate(model, self.dev_ids, self.y_dev, self.decoding, self.pad_id, self.config.eval_batch_size)
            row[pruning.width_dir_name(w)] = dev
            logger.info("step %d width %.4g dev micro F1 %.4f macro F1 %.4f", step, w, dev["micro_f1"], dev["macro_f1"])
            # NaN compares False: a diverged width never replaces a good step.
            if dev["micro_f1"] > self.best[w]["micro_f1"]:
                self.best[w] = {**dev, "step": step}
                self.best_state[w] = {k: v.numpy().copy() for k, v in model.state_dict().items()}
        self.history.append(row)

    def start_epoch(self, epoch: int) -> None:
        self.ofa_model.set_epoch(epoch - 1)
        self.ofa_model.set_task("width")
        self.ofa_model.model.train()
        self.ofa_model.ofa_teacher_model.model.eval()
        self.order = self.rng.permutation(len(self.train_ids))

    def loss(self, epoch: int, batch: int):
        import paddle

        bs = self.config.train_batch_size
        x, types, _ = self.batch(self.order[batch * bs : (batch + 1) * bs])
        for w in self.widths:
            set_width(self.ofa_model, w)
            logits, teacher_logits = self.ofa_model(x, token_type_ids=types, attention_mask=[None, None])
            restore_heads(self.ofa_model, self.num_heads)
            soft = paddle.nn.functional.sigmoid(teacher_logits.detach())
            loss = self.ofa_model.calc_distill_loss() + LAMBDA_LOGIT * self.bce(logits, soft)
            loss.backward()
        return loss

    def after_step(self, step: int, last_of_epoch: bool) -> None:
        if step % self.config.save_steps == 0:
            self.evaluate_widths(step)

    def end_epoch(self, epoch: int) -> bool:
        if self.progress["step"] % self.config.save_steps != 0:
            self.evaluate_widths(self.progress["step"])
        return False


def _write_width(config: PruneConfig, loop: WidthLoop, tokenizer, w: float, teacher_dev: dict, dev_texts) -> dict:
    """Width ``w``'s best step as a checkpoint and an export folder; its summary row."""
    params_dir, output_dir = config.params_dir, config.output_dir
    teacher_meta = read_train_meta(params_dir)
    name = pruning.width_dir_name(w)
    ckpt = output_dir / CHECKPOINTS_DIR / name
    model = pruning.build_pruned_model(loop.model_config, loop.shapes[w])
    model.set_state_dict(loop.best_state[w])
    best = loop.best[w]
    meta = {
        "model_name": teacher_meta.get("model_name"),
        "from_scratch": teacher_meta.get("from_scratch"),
        "max_seq_length": config.max_seq_length,
        "teacher": str(params_dir.resolve()),
        "teacher_dev": teacher_dev,
        "dynabert": loop.shapes[w].as_dict(),
        "step": best["step"],
        "dev": {k: v for k, v in best.items() if k != "step"},
        # Real inputs of varied length for the export's Paddle-vs-ONNX check.
        "sample_texts": teacher_meta.get("sample_texts") or sample_texts(dev_texts),
    }
    save_checkpoint(ckpt, model, tokenizer, loop.decoding.hierarchy, meta)
    if (params_dir / THRESHOLDS_FILE).is_file():
        # The teacher's (possibly tuned) thresholds and decoder, not save_checkpoint's
        # defaults: they are what the pruned model was selected with.
        atomic_write_text(ckpt / THRESHOLDS_FILE, (params_dir / THRESHOLDS_FILE).read_text(encoding="utf-8"))
    export = export_checkpoint(ckpt, output_dir / name, config.max_seq_length)
    logger.info("width %.4g: dev micro F1 %.4f (step %d) -> %s", w, best["micro_f1"], best["step"], output_dir / name)
    return {
        "checkpoint": str(ckpt),
        "export": str(output_dir / name),
        **meta["dynabert"],
        "dev": meta["dev"],
        "step": meta["step"],
        "onnx_parity": export["onnx_parity_max_abs_diff"],
    }
