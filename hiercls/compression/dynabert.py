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
exported with ``hiercls.export.export_checkpoint`` to ``output_dir/width_mult_W`` (static
graph + ONNX + everything the repository builder needs).
"""

from __future__ import annotations

import argparse
import copy
import logging
import random
import time
from pathlib import Path

import numpy as np

from hiercls.batching import pad_batch
from hiercls.compression import pruning
from hiercls.runtime.artifacts import LABEL_FILE, THRESHOLDS_FILE, read_train_meta
from hiercls.runtime.decoding import LabelDecoder
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.runtime.io import atomic_write_json, atomic_write_text

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

    from hiercls.compression import paddleslim_compat

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
    from hiercls.metrics import scores
    from hiercls.training import paddle_logits

    logits = paddle_logits(model, ids, batch_size, pad_id)
    if not np.isfinite(logits).all():
        return {"micro_f1": float("nan"), "macro_f1": float("nan")}
    return scores(y_true, decoding.decode_logits(logits)[1]).as_dict()


def _read_data(args: argparse.Namespace, hierarchy: LabelHierarchy, tokenizer):
    from hiercls.data import dataset_files, read_examples
    from hiercls.training import encode

    files = dataset_files(args.dataset_dir)
    data_hierarchy = LabelHierarchy.from_file(files.label)
    if data_hierarchy.labels != hierarchy.labels:
        raise ValueError(
            f"{files.label} does not match the teacher's {LABEL_FILE} in {args.params_dir}: "
            "prune with the data set the teacher was trained on"
        )
    out = {}
    for split, path in (("train", files.train), ("dev", files.dev)):
        examples = read_examples(path, hierarchy)
        out[split] = (
            encode(tokenizer, [e.text for e in examples], args.max_seq_length),
            hierarchy.multi_hot([e.labels for e in examples]).astype(np.float32),
        )
    out["dev_texts"] = [e.text for e in examples]
    return out


def prune(args: argparse.Namespace) -> dict:
    """Train the width-adaptive supernet and write one checkpoint + export per width."""
    import paddle
    from paddlenlp.transformers import LinearDecayWithWarmup

    from hiercls.export import export_checkpoint
    from hiercls.modeling import load_checkpoint
    from hiercls.training import default_device, sample_texts, save_checkpoint

    paddle.set_device(args.device or default_device())
    random.seed(args.seed)
    np.random.seed(args.seed)
    paddle.seed(args.seed)

    params_dir, output_dir = Path(args.params_dir), Path(args.output_dir)
    if pruning.is_checkpoint(params_dir):
        raise ValueError(f"{params_dir} is already pruned: prune the fine-tuned full-width checkpoint")
    teacher, tokenizer = load_checkpoint(params_dir)
    if type(teacher).__name__ != "ErnieForSequenceClassification":
        raise ValueError(
            f"{params_dir} holds a {type(teacher).__name__}; DynaBERT pruning here supports ERNIE checkpoints"
        )
    decoding = LabelDecoder.from_folder(params_dir)
    hierarchy, pad_id = decoding.hierarchy, int(tokenizer.pad_token_id)
    teacher_meta = read_train_meta(params_dir)
    widths = sorted(set(args.width_mult), reverse=True)
    shapes = {w: pruning.shape_of(teacher, w) for w in widths}  # fails early on a width that splits a head
    config = teacher.config.to_dict()
    cfg = teacher.base_model.config

    data = _read_data(args, hierarchy, tokenizer)
    train_ids, y_train = data["train"]
    dev_ids, y_dev = data["dev"]
    teacher_dev = evaluate(teacher, dev_ids, y_dev, decoding, pad_id, args.per_device_eval_batch_size)
    logger.info("teacher dev micro F1 %.4f macro F1 %.4f", teacher_dev["micro_f1"], teacher_dev["macro_f1"])

    student = copy.deepcopy(teacher)
    ofa_model = build_supernet(student, teacher)

    rng = np.random.default_rng(args.seed)
    bs = args.per_device_train_batch_size

    def batch(idx):
        x = paddle.to_tensor(pad_batch([train_ids[i] for i in idx], tokenizer.pad_token_id))
        return x, paddle.zeros_like(x), paddle.to_tensor(y_train[idx])

    order = rng.permutation(len(train_ids))
    imp_batches = [list(batch(order[i : i + bs])) for i in range(0, min(len(order), args.importance_batches * bs), bs)]
    t0 = time.time()
    head_imp, _ = reorder_by_importance(ofa_model, imp_batches, cfg["num_hidden_layers"], cfg["num_attention_heads"])
    logger.info(
        "head importance on %d batches (%.1fs), per layer: %s",
        len(imp_batches),
        time.time() - t0,
        np.round(head_imp, 4).tolist(),
    )

    steps_per_epoch = -(-len(train_ids) // bs)
    total_steps = steps_per_epoch * args.num_train_epochs
    lr = LinearDecayWithWarmup(args.learning_rate, total_steps, 0)
    optimizer = paddle.optimizer.AdamW(learning_rate=lr, parameters=ofa_model.model.parameters())
    bce = paddle.nn.BCEWithLogitsLoss()

    best: dict[float, dict] = {w: {"micro_f1": -1.0} for w in widths}
    best_state: dict[float, dict] = {}
    history = []

    def evaluate_widths(step: int) -> None:
        state = {k: v.numpy().copy() for k, v in full_state(ofa_model).items()}
        row = {"step": step}
        for w in widths:
            model = sub_model(config, shapes[w], state)
            dev = evaluate(model, dev_ids, y_dev, decoding, pad_id, args.per_device_eval_batch_size)
            row[pruning.width_dir_name(w)] = dev
            logger.info("step %d width %.4g dev micro F1 %.4f macro F1 %.4f", step, w, dev["micro_f1"], dev["macro_f1"])
            # NaN compares False: a diverged width never replaces a good step.
            if dev["micro_f1"] > best[w]["micro_f1"]:
                best[w] = {**dev, "step": step}
                best_state[w] = {k: v.numpy().copy() for k, v in model.state_dict().items()}
        history.append(row)

    evaluate_widths(0)  # the pruned teacher before any training: what distillation improves on
    step, t_start = 0, time.time()
    for epoch in range(args.num_train_epochs):
        ofa_model.set_epoch(epoch)
        ofa_model.set_task("width")
        ofa_model.model.train()
        ofa_model.ofa_teacher_model.model.eval()
        order = rng.permutation(len(train_ids))
        for b in range(steps_per_epoch):
            x, types, _ = batch(order[b * bs : (b + 1) * bs])
            for w in widths:
                set_width(ofa_model, w)
                logits, teacher_logits = ofa_model(x, token_type_ids=types, attention_mask=[None, None])
                restore_heads(ofa_model, cfg["num_attention_heads"])
                loss = ofa_model.calc_distill_loss() + LAMBDA_LOGIT * bce(
                    logits, paddle.nn.functional.sigmoid(teacher_logits.detach())
                )
                loss.backward()
            optimizer.step()
            lr.step()
            optimizer.clear_grad()
            step += 1
            if step % args.logging_steps == 0 or step == total_steps:
                rate = step * bs / max(time.time() - t_start, 1e-9)
                logger.info(
                    "epoch %d step %d/%d loss %.4f lr %.2e %.1f samples/s ETA %.0fs",
                    epoch + 1,
                    step,
                    total_steps,
                    float(loss),
                    lr.get_lr(),
                    rate,
                    (total_steps - step) * bs / rate,
                )
            if step % args.save_steps == 0:
                evaluate_widths(step)
        if step % args.save_steps != 0:
            evaluate_widths(step)

    results = {}
    for w in widths:
        name = pruning.width_dir_name(w)
        ckpt = output_dir / CHECKPOINTS_DIR / name
        model = pruning.build_pruned_model(config, shapes[w])
        model.set_state_dict(best_state[w])
        meta = {
            "model_name": teacher_meta.get("model_name"),
            "from_scratch": teacher_meta.get("from_scratch"),
            "max_seq_length": args.max_seq_length,
            "teacher": str(params_dir.resolve()),
            "teacher_dev": teacher_dev,
            "dynabert": shapes[w].as_dict(),
            "step": best[w]["step"],
            "dev": {k: v for k, v in best[w].items() if k != "step"},
            # Real inputs of varied length for the export's Paddle-vs-ONNX check.
            "sample_texts": teacher_meta.get("sample_texts") or sample_texts(data["dev_texts"]),
        }
        save_checkpoint(ckpt, model, tokenizer, hierarchy, meta)
        if (params_dir / THRESHOLDS_FILE).is_file():
            # The teacher's (possibly tuned) thresholds and decoder, not save_checkpoint's
            # defaults: they are what the pruned model was selected with.
            atomic_write_text(ckpt / THRESHOLDS_FILE, (params_dir / THRESHOLDS_FILE).read_text(encoding="utf-8"))
        export = export_checkpoint(ckpt, output_dir / name, args.max_seq_length)
        results[name] = {"checkpoint": str(ckpt), "export": str(output_dir / name), **meta["dynabert"]}
        results[name].update(dev=meta["dev"], step=meta["step"], onnx_parity=export["onnx_parity_max_abs_diff"])
        logger.info(
            "width %.4g: dev micro F1 %.4f (step %d) -> %s", w, best[w]["micro_f1"], best[w]["step"], output_dir / name
        )

    summary = {
        "teacher": str(params_dir.resolve()),
        "teacher_dev": teacher_dev,
        "widths": results,
        "train_seconds": round(time.time() - t_start, 1),
        "history": history,
    }
    atomic_write_json(output_dir / SUMMARY_FILE, summary)
    return summary
