"""GPU latency where onnxruntime-gpu cannot be installed (the lent GPU machines).

Those machines carry PyTorch (CUDA 13) but no onnxruntime-gpu (its wheel targets
CUDA 12 and is 255 MB, over what can be carried). So:

1. here, ``--port_from CHECKPOINT --out DIR`` writes our trained weights as a
   PyTorch BERT state dict (ERNIE 3.0's encoder is BERT's);
2. there, ``--ported DIR`` loads them, checks the logits against onnxruntime (CPU)
   running our model.onnx on the same inputs, and times fp32 and fp16 at batch 32;
   the ERNIE medium and nano shapes are also timed with random weights (latency does
   not depend on weight values; the medium ONNX is too big to carry).

    python -m benchmarks.gpu.torch_gpu_bench --port_from build/bench/ernie-3.0-nano-zh/checkpoint --out .gpu/ernie-3.0-nano-zh
    python3 -m benchmarks.gpu.torch_gpu_bench --ported .gpu/ernie-3.0-nano-zh --out $OUT   # on the GPU machine
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

SHAPES = {  # ERNIE 3.0 shapes (hidden, layers, heads, ffn)
    "ernie-3.0-medium-zh": (768, 6, 12, 3072),
    "ernie-3.0-nano-zh": (312, 4, 12, 1248),
}
V100_MS_PER_TEXT = {"ernie-3.0-medium-zh": 2.42, "ernie-3.0-nano-zh": 0.54, "medium pruned 3/4": 0.81}


def cuda_time(fn, warmup: int = 10, iters: int = 50) -> float:
    import torch

    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / iters  # ms per call


def random_ids(batch: int, length: int, vocab: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, vocab, size=(batch, length)).astype(np.int64)
    ids[:, 0] = 1
    lengths = rng.integers(length // 2, length + 1, size=batch)
    for r, n in enumerate(lengths):
        ids[r, n:] = 0  # padding, as real batches have
    return ids


def paddle_to_bert(params_path: Path, out: Path) -> None:
    """Run HERE (paddle installed): write our checkpoint as HF BERT weights (npz) and config.

    ERNIE 3.0's encoder is BERT's; its task-type embedding is a constant row (task 0)
    and is folded into the token-type rows. Paddle's Linear stores [in, out]: transposed."""
    import paddle

    from hiercls.runtime.artifacts import MODEL_CONFIG_FILE, WEIGHTS_FILE

    cfg = json.loads((params_path / MODEL_CONFIG_FILE).read_text())
    sd = {k: v.numpy() for k, v in paddle.load(str(params_path / WEIGHTS_FILE)).items()}
    from hiercls.modeling.bert_port import ernie_to_bert

    w = ernie_to_bert(sd, cfg["num_hidden_layers"], prefix="bert.")
    token_type = w["bert.embeddings.token_type_embeddings.weight"].copy()
    if cfg.get("use_task_id"):
        token_type += sd["ernie.embeddings.task_type_embeddings.weight"][cfg.get("task_id", 0)]
    w["bert.embeddings.token_type_embeddings.weight"] = token_type
    w.update(
        {
            "bert.pooler.dense.weight": sd["ernie.pooler.dense.weight"].T,
            "bert.pooler.dense.bias": sd["ernie.pooler.dense.bias"],
            "classifier.weight": sd["classifier.weight"].T,
            "classifier.bias": sd["classifier.bias"],
        }
    )
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "bert_weights.npz", **w)
    bert_cfg = dict(
        vocab_size=cfg["vocab_size"],
        hidden_size=cfg["hidden_size"],
        num_hidden_layers=cfg["num_hidden_layers"],
        num_attention_heads=cfg["num_attention_heads"],
        intermediate_size=cfg["intermediate_size"],
        max_position_embeddings=cfg["max_position_embeddings"],
        type_vocab_size=token_type.shape[0],
        num_labels=sd["classifier.bias"].shape[0],
        hidden_act="gelu",
        layer_norm_eps=1e-5,
        pad_token_id=0,
    )
    (out / "bert_config.json").write_text(json.dumps(bert_cfg, indent=2))


def bench_ported(folder: Path, batch: int, length: int) -> list[dict]:
    """On the GPU machine: our weights in PyTorch BERT, checked against onnxruntime (CPU)
    running our model.onnx on the same inputs, then timed in fp32 and fp16."""
    import onnxruntime as ort
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    from hiercls.runtime.artifacts import ONNX_FILE

    cfg = BertConfig(**json.loads((folder / "bert_config.json").read_text()))
    net = BertForSequenceClassification(cfg)
    weights = {k: torch.from_numpy(v) for k, v in np.load(folder / "bert_weights.npz").items()}
    missing, unexpected = net.load_state_dict(weights, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise RuntimeError(f"weight port incomplete: missing {missing[:5]}, unexpected {unexpected[:5]}")
    net = net.cuda().eval()
    ids = random_ids(batch, length, cfg.vocab_size)
    sess = ort.InferenceSession(str(folder / ONNX_FILE), providers=["CPUExecutionProvider"])
    ref = sess.run(["logits"], {"input_ids": ids, "token_type_ids": np.zeros_like(ids)})[0]
    x = torch.from_numpy(ids).cuda()
    mask = (x != 0).long()
    rows = []
    for precision in ("fp32", "fp16"):
        m = net.half() if precision == "fp16" else net
        with torch.no_grad():
            got = m(input_ids=x, attention_mask=mask).logits.float().cpu().numpy()
            ms = cuda_time(lambda m=m: m(input_ids=x, attention_mask=mask).logits)
        rows.append(
            dict(
                model=f"our {folder.name} weights (ported to PyTorch BERT)",
                precision=precision,
                batch=batch,
                seq=length,
                ms_per_batch=round(ms, 3),
                ms_per_text=round(ms / batch, 4),
                v100_ms_per_text_paddlenlp=V100_MS_PER_TEXT.get(folder.name),
                max_abs_diff_vs_onnxruntime_cpu=float(np.abs(got - ref).max()),
                finite=bool(np.isfinite(got).all()),
            )
        )
    return rows


def bench_shape(name: str, batch: int, length: int, vocab: int, labels: int) -> list[dict]:
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    hidden, layers, heads, ffn = SHAPES[name]
    cfg = BertConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=ffn,
        num_labels=labels,
        max_position_embeddings=512,
    )
    net = BertForSequenceClassification(cfg).cuda().eval()
    ids = torch.from_numpy(random_ids(batch, length, vocab)).cuda()
    mask = (ids != 0).long()
    rows = []
    for precision in ("fp32", "fp16"):
        m = net.half() if precision == "fp16" else net
        with torch.no_grad():
            ms = cuda_time(lambda m=m: m(input_ids=ids, attention_mask=mask).logits)
        rows.append(
            dict(
                model=f"{name} shape (PyTorch BERT, random weights)",
                precision=precision,
                batch=batch,
                seq=length,
                ms_per_batch=round(ms, 3),
                ms_per_text=round(ms / batch, 4),
                v100_ms_per_text_paddlenlp=V100_MS_PER_TEXT.get(name),
            )
        )
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--ported", nargs="*", default=[], help="Folders with bert_weights.npz, bert_config.json, model.onnx."
    )
    p.add_argument("--port_from", default=None, help="HERE: a checkpoint folder to port into --out (needs paddle).")
    p.add_argument("--out", required=True, help="Folder for results.md and results.json.")
    p.add_argument("--batch", type=int, default=32, help="Texts per batch.")
    p.add_argument("--seq", type=int, nargs="+", default=[64, 128], help="Padded sequence lengths.")
    p.add_argument("--vocab", type=int, default=3885, help="Vocabulary size for the PyTorch shapes.")
    p.add_argument("--labels", type=int, default=74, help="Label count for the PyTorch shapes.")
    args = p.parse_args()
    if args.port_from:
        paddle_to_bert(Path(args.port_from), Path(args.out))
        return
    import torch

    t0 = time.time()
    rows = []
    for seq in args.seq:
        for folder in args.ported:
            rows += bench_ported(Path(folder), args.batch, seq)
        for name in SHAPES:
            rows += bench_shape(name, args.batch, seq, args.vocab, args.labels)
    device = torch.cuda.get_device_name(0)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(
        json.dumps({"device": device, "torch": torch.__version__, "rows": rows}, indent=2)
    )
    lines = [
        f"GPU: {device}, torch {torch.__version__}; batch {args.batch}; CUDA-event timing, 50 runs after 10 warm-ups",
        "",
        "| model | precision | seq | ms / batch | ms / text | V100 ms/text (PaddleNLP) | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        note = (
            f"max |diff| vs onnxruntime CPU {r['max_abs_diff_vs_onnxruntime_cpu']:.2e}"
            if "max_abs_diff_vs_onnxruntime_cpu" in r
            else ""
        )
        lines.append(
            f"| {r['model']} | {r['precision']} | {r['seq']} | {r['ms_per_batch']} | {r['ms_per_text']} | "
            f"{r.get('v100_ms_per_text_paddlenlp') or ''} | {note} |"
        )
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"done in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
