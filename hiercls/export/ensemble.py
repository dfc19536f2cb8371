"""One export folder that averages several models' label probabilities.

The members are export folders of models trained on the same labels with the same
tokenizer (seeds, depths, a student and its teacher). Their ONNX graphs become one
graph with the members' inputs shared; its output is the logit of the mean member
probability, so the served postprocess (sigmoid, thresholds, decoder) and every offline
reader take the folder as one model. One graph rather than an ensemble of Triton models:
the tokenizer runs once, and one model step batches every member.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hiercls.runtime.artifacts import (
    EXPORT_META,
    LABEL_FILE,
    ONNX_FILE,
    THRESHOLDS_FILE,
    TOKENIZER_FILE,
    TRAIN_META,
    read_export_meta,
)
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.runtime.io import atomic_write_json, fresh_dir, swap_dir
from hiercls.runtime.thresholds import default_thresholds, save_thresholds

# Probabilities are clipped before the logit: a member sure to float precision must not
# turn the mean into an infinite logit.
EPS = 1e-7
# What must be the same in every member's export_meta for their inputs to be shared.
SHARED_META = ("max_seq_length", "pad_token_id", "num_labels")


class EnsembleError(ValueError):
    """The members cannot share one input: the message names the one that differs."""


def check_members(members: Sequence[Path]) -> dict:
    """The shared export_meta fields; refuses members that differ in labels, tokenizer,
    sequence length, padding or graph interface."""
    import onnx

    if len(members) < 2:
        raise EnsembleError(f"an ensemble needs at least two export folders, got {len(members)}")
    first = members[0]
    for m in members:
        missing = [n for n in (ONNX_FILE, EXPORT_META, LABEL_FILE, TOKENIZER_FILE) if not (m / n).is_file()]
        if missing:
            raise FileNotFoundError(f"{m} is not an export folder: no {', '.join(missing)}")
    base = read_export_meta(first)
    labels = LabelHierarchy.from_file(first / LABEL_FILE)
    tokenizer = (first / TOKENIZER_FILE).read_bytes()
    interface = _interface(onnx.load(str(first / ONNX_FILE), load_external_data=False))
    for m in members[1:]:
        meta = read_export_meta(m)
        for key in SHARED_META:
            if meta.get(key) != base.get(key):
                raise EnsembleError(f"{m}: {key} {meta.get(key)} differs from {first}'s {base.get(key)}")
        diff = LabelHierarchy.from_file(m / LABEL_FILE).difference(labels, str(m), str(first))
        if diff:
            raise EnsembleError(f"label.txt differs: {diff}")
        if (m / TOKENIZER_FILE).read_bytes() != tokenizer:
            raise EnsembleError(f"{m}: tokenizer.json differs from {first}'s (another vocabulary)")
        theirs = _interface(onnx.load(str(m / ONNX_FILE), load_external_data=False))
        if theirs != interface:
            raise EnsembleError(f"{m}: graph inputs/outputs {theirs} differ from {first}'s {interface}")
    return {k: base[k] for k in SHARED_META}


def _interface(model) -> tuple:
    inputs = tuple((i.name, i.type.tensor_type.elem_type) for i in model.graph.input)
    outputs = tuple(o.name for o in model.graph.output)
    if len(outputs) != 1:
        raise EnsembleError(f"a member graph must have one output (logits), has {list(outputs)}")
    return inputs, outputs


def merge_graphs(paths: Sequence[Path], weights: Sequence[float] | None = None):
    """One ONNX model: each member's nodes and weights under its own prefix, the inputs
    shared, the output ``logit(sum_i w_i * sigmoid(logits_i))`` under the members'
    output name."""
    import onnx
    from onnx import TensorProto, compose, helper, numpy_helper

    models = [onnx.load(str(p)) for p in paths]
    n = len(models)
    w = np.full(n, 1.0 / n) if weights is None else np.asarray(weights, dtype=np.float64) / np.sum(weights)
    out_name = models[0].graph.output[0].name
    nodes, inits, value_info, outs = [], [], [], []
    opsets: dict[str, int] = {}
    for i, model in enumerate(models):
        for op in model.opset_import:
            opsets[op.domain] = max(opsets.get(op.domain, 0), op.version)
        # Every name becomes the member's own; its inputs are fed from the shared ones
        # (onnxruntime folds the Identity away).
        g = compose.add_prefix(model, f"m{i}_").graph
        nodes += [helper.make_node("Identity", [x.name], [f"m{i}_{x.name}"]) for x in model.graph.input]
        nodes += list(g.node)
        inits += list(g.initializer)
        value_info += list(g.value_info)
        prob = f"ensemble_prob_{i}"
        scaled = f"ensemble_scaled_{i}"
        inits.append(numpy_helper.from_array(np.asarray(w[i], dtype=np.float32), f"ensemble_weight_{i}"))
        nodes += [
            helper.make_node("Sigmoid", [g.output[0].name], [prob]),
            helper.make_node("Mul", [prob, f"ensemble_weight_{i}"], [scaled]),
        ]
        outs.append(scaled)
    inits += [
        numpy_helper.from_array(np.asarray(EPS, dtype=np.float32), "ensemble_eps"),
        numpy_helper.from_array(np.asarray(1.0 - EPS, dtype=np.float32), "ensemble_one_minus_eps"),
        numpy_helper.from_array(np.asarray(1.0, dtype=np.float32), "ensemble_one"),
    ]
    nodes += [
        helper.make_node("Sum", outs, ["ensemble_mean"]),
        helper.make_node("Clip", ["ensemble_mean", "ensemble_eps", "ensemble_one_minus_eps"], ["ensemble_p"]),
        helper.make_node("Sub", ["ensemble_one", "ensemble_p"], ["ensemble_q"]),
        helper.make_node("Div", ["ensemble_p", "ensemble_q"], ["ensemble_odds"]),
        helper.make_node("Log", ["ensemble_odds"], [out_name]),
    ]
    output = helper.make_tensor_value_info(out_name, TensorProto.FLOAT, list(_dims(models[0].graph.output[0])))
    graph = helper.make_graph(
        nodes, "ensemble", list(models[0].graph.input), [output], initializer=inits, value_info=value_info
    )
    merged = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()],
        producer_name="hiercls.export.ensemble",
    )
    merged.ir_version = max(m.ir_version for m in models)
    onnx.checker.check_model(merged)
    return merged


def _dims(value_info) -> list:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def build_ensemble(members: Sequence[str | Path], output: str | Path, weights: Sequence[float] | None = None) -> dict:
    """Write the ensemble export folder (temp dir, then swapped in) with thresholds at
    0.5; tune them afterwards on dev (``tune_export``). Returns its export_meta."""
    import onnx

    members = [Path(m) for m in members]
    output = Path(output)
    if weights is not None and (len(weights) != len(members) or min(weights) <= 0):
        raise EnsembleError(f"need one positive weight per member ({len(members)}), got {list(weights)}")
    if output.resolve() in {m.resolve() for m in members}:
        raise EnsembleError(f"output {output} is one of the members")
    shared = check_members(members)
    merged = merge_graphs([m / ONNX_FILE for m in members], weights)
    tmp = fresh_dir(output.with_name(output.name + ".tmp"))
    # Members' weights in one file: a 12-layer and a 6-layer model stay under protobuf's 2 GB.
    onnx.save(merged, str(tmp / ONNX_FILE))
    for name in (TOKENIZER_FILE, LABEL_FILE):
        shutil.copy2(members[0] / name, tmp / name)
    if (members[0] / TRAIN_META).is_file():
        shutil.copy2(members[0] / TRAIN_META, tmp / TRAIN_META)
    hierarchy = LabelHierarchy.from_file(members[0] / LABEL_FILE)
    save_thresholds(tmp / THRESHOLDS_FILE, hierarchy, default_thresholds(hierarchy), source="default")
    meta = {
        **read_export_meta(members[0]),
        **shared,
        "ensemble": {
            "members": [str(m) for m in members],
            "weights": [float(x) for x in (weights or [1.0] * len(members))],
            "combine": "logit of the weighted mean of member probabilities",
        },
    }
    meta.pop("onnx_parity_max_abs_diff", None)
    meta.pop("parity_texts", None)
    meta.pop("source_checkpoint", None)
    atomic_write_json(tmp / EXPORT_META, meta)
    swap_dir(tmp, output)
    return meta
