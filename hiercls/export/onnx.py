"""Checkpoint -> static graph -> ONNX, with a logits parity check on real inputs.

The export folder is everything the repository builder needs, and nothing it
has to guess: model.onnx (inputs input_ids/token_type_ids, output ``logits``),
the Paddle inference model, tokenizer.json, label.txt, thresholds.json and
export_meta.json.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np

from hiercls.data.batching import pad_batch
from hiercls.modeling.checkpoint import load_checkpoint
from hiercls.modeling.fast_tokenizer import write_tokenizer_json
from hiercls.modeling.inference import encode
from hiercls.runtime import contract
from hiercls.runtime.artifacts import (
    EXPORT_COPIES,
    EXPORT_META,
    LABEL_FILE,
    LEGACY_PROGRAM_FILE,
    ONNX_FILE,
    PARAMS_FILE,
    PROGRAM_FILE,
    STATIC_PREFIX,
    read_train_meta,
    train_max_seq_length,
)
from hiercls.runtime.io import atomic_write_json, fresh_dir, swap_dir

logger = logging.getLogger(__name__)


class ParityError(RuntimeError):
    pass


def save_static(model, folder: Path) -> tuple[Path, Path]:
    import paddle
    from paddle.static import InputSpec

    spec = [
        InputSpec([None, None], "int64", name=contract.INPUT_IDS),
        InputSpec([None, None], "int64", name=contract.TOKEN_TYPE_IDS),
    ]
    static = paddle.jit.to_static(model, input_spec=spec, full_graph=True)
    paddle.jit.save(static, str(folder / STATIC_PREFIX))
    program = next(folder / p for p in (PROGRAM_FILE, LEGACY_PROGRAM_FILE) if (folder / p).is_file())
    return program, folder / PARAMS_FILE


def to_onnx(program: Path, params: Path, out: Path, opset: int) -> None:
    import onnx
    import paddle2onnx

    paddle2onnx.export(str(program), str(params), save_file=str(out), opset_version=opset)
    # Some paddle2onnx versions report success and write nothing: check the file.
    if not out.is_file() or out.stat().st_size == 0:
        raise RuntimeError(f"paddle2onnx wrote no model to {out}")
    m = onnx.load(str(out))
    inputs = [i.name for i in m.graph.input]
    if sorted(inputs) != sorted([contract.INPUT_IDS, contract.TOKEN_TYPE_IDS]):
        raise RuntimeError(f"unexpected ONNX inputs {inputs}")
    if len(m.graph.output) != 1:
        raise RuntimeError(f"expected one ONNX output, got {[o.name for o in m.graph.output]}")
    # paddle2onnx names the output after an internal op (linear_147.tmp_1 ...), which
    # is how PaddleNLP's configs came to disagree; pin it to the contract's name.
    old = m.graph.output[0].name
    if old != contract.LOGITS:
        m.graph.node.append(onnx.helper.make_node("Identity", [old], [contract.LOGITS], name="hiercls_logits"))
        m.graph.output[0].name = contract.LOGITS
    onnx.checker.check_model(m)
    onnx.save(m, str(out))


def optimize_graph(path: Path, num_heads: int, hidden_size: int) -> dict[str, int]:
    """Rewrite model.onnx with onnxruntime's transformer optimizer (LayerNorm, GELU,
    embedding and attention fusion where its patterns match); returns the fused
    operators it counted. The parity check runs on the rewritten file."""
    from onnxruntime.transformers import optimizer

    m = optimizer.optimize_model(
        str(path), model_type="bert", num_heads=num_heads, hidden_size=hidden_size, opt_level=0, use_gpu=False
    )
    fused = {k: v for k, v in m.get_fused_operator_statistics().items() if v}
    outputs = [o.name for o in m.model.graph.output]
    if outputs != [contract.LOGITS]:
        raise RuntimeError(f"the optimizer changed the graph's outputs to {outputs}")
    m.save_model_to_file(str(path))
    return fused


def onnx_logits(session, ids: np.ndarray) -> np.ndarray:
    feed = {contract.INPUT_IDS: ids, contract.TOKEN_TYPE_IDS: np.zeros_like(ids)}
    return session.run([contract.LOGITS], feed)[0]


def check_parity(model, tokenizer, onnx_path: Path, texts: list[str], max_seq_length: int, tolerance: float) -> float:
    """Max |logit diff| between Paddle and ONNX Runtime on the same padded batch."""
    import onnxruntime as ort
    import paddle

    ids = pad_batch(encode(tokenizer, texts, max_seq_length), tokenizer.pad_token_id)
    with paddle.no_grad():
        x = paddle.to_tensor(ids)
        ref = model(x, token_type_ids=paddle.zeros_like(x)).numpy()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = onnx_logits(session, ids)
    diff = float(np.max(np.abs(ref - got)))
    if not np.isfinite(got).all() or diff > tolerance:
        raise ParityError(f"ONNX logits differ from Paddle by {diff:.3g} (tolerance {tolerance})")
    return diff


def export_checkpoint(
    params_path: str | Path,
    output_path: str | Path,
    max_seq_length: int | None = None,
    opset: int = 13,
    parity_texts: list[str] | None = None,
    tolerance: float = 1e-3,
    optimize: bool = False,
) -> dict:

    params_path, output_path = Path(params_path), Path(output_path)
    model, tokenizer = load_checkpoint(params_path)
    train_meta = read_train_meta(params_path)
    max_seq_length = train_max_seq_length(train_meta, max_seq_length)
    texts = parity_texts or train_meta.get("sample_texts")
    if not texts:
        raise ValueError("no texts for the parity check: pass --parity_file (one text per line)")

    tmp = fresh_dir(output_path.with_name(output_path.name + ".tmp"))
    program, params = save_static(model, tmp)
    logger.info("static graph: %s", program.name)
    to_onnx(program, params, tmp / ONNX_FILE, opset)
    fused = {}
    if optimize:
        cfg = model.config
        fused = optimize_graph(tmp / ONNX_FILE, int(cfg.num_attention_heads), int(cfg.hidden_size))
        logger.info("onnxruntime transformer optimizer fused %s", fused or "nothing")
    diff = check_parity(model, tokenizer, tmp / ONNX_FILE, texts, max_seq_length, tolerance)
    logger.info("ONNX vs Paddle max |logit diff| %.3g on %d texts", diff, len(texts))
    for name in EXPORT_COPIES:
        if (params_path / name).is_file():
            shutil.copy2(params_path / name, tmp / name)
    if not (tmp / LABEL_FILE).is_file():
        raise FileNotFoundError(f"{params_path}/{LABEL_FILE} missing: the checkpoint must carry its labels")
    write_tokenizer_json(params_path, tmp)
    meta = {
        "num_labels": int(model.num_labels),
        "max_seq_length": int(max_seq_length),
        "pad_token_id": int(tokenizer.pad_token_id),
        "opset": opset,
        "optimized_graph": fused if optimize else None,
        "onnx_parity_max_abs_diff": diff,
        "parity_texts": len(texts),
        "source_checkpoint": str(params_path.resolve()),
    }
    atomic_write_json(tmp / EXPORT_META, meta)
    swap_dir(tmp, output_path)
    return meta
