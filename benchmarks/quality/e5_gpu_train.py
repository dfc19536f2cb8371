"""Step 2 of the GPU recipe (runs on the GPU machine, PyTorch). Fine-tune the trimmed
e5-small that step 1 wrote (``e5_gpu_prepare.py``) on duee_hier in PyTorch.

Mirrors hiercls' recipe: mean pooling over non-pad tokens, linear head, sigmoid + BCE,
AdamW with linear warm-up and decay, best epoch by dev micro F1 at 0.5. Decoding and
F1 are the library's (``hiercls.runtime.decoding``, ``hiercls.evaluation.metrics``), so the GPU
numbers are the ones evaluate.py would print. Writes the best weights as fp16 npz
shards (<16 MiB each) and the dev logits for a parity check after porting back.

Also the student side of distillation (hiercls.training.distillation): --layers keeps some of
the 12 layers, --teacher_logits mixes the teacher's train-set probabilities into the loss.

    # from the repository root on the GPU machine (PyTorch, transformers, scikit-learn)
    python3 -m benchmarks.quality.e5_gpu_train --data_dir .gpu/e5 OUT_DIR --epochs 20
"""

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from transformers import BertConfig, BertModel

from hiercls.data.batching import group_by_length, pad_batch
from hiercls.evaluation.metrics import scores
from hiercls.runtime.decoding import decode, sigmoid
from hiercls.runtime.hierarchy import LabelHierarchy

BATCH_SIZE = 32


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="Folder for history.json, best_*.npz and dev_logits.npy.")
    ap.add_argument("--data_dir", required=True, help="Folder e5_gpu_prepare.py wrote (weights, data, label.txt).")
    ap.add_argument("--epochs", type=int, default=8, help="Training epochs.")
    ap.add_argument("--max_steps", type=int, default=0, help="Stop after this many steps (0: no limit).")
    ap.add_argument("--lr", type=float, default=5e-5, help="Encoder peak learning rate.")
    ap.add_argument("--head_lr", type=float, default=2e-3, help="Classifier head peak learning rate.")
    ap.add_argument("--layers", default="", help="Comma-separated source layers to keep, in order (default: all).")
    ap.add_argument("--teacher_logits", default="", help="Train-set teacher logits (.npy, train.txt order).")
    ap.add_argument("--alpha", type=float, default=0.5, help="Weight of the teacher term.")
    ap.add_argument("--temperature", type=float, default=2.0, help="Distillation temperature.")
    ap.add_argument("--group_by_length", action="store_true", help="As training/train.py --group_by_length.")
    ap.add_argument("--seed", type=int, default=3, help="Seed of the head, dropout and batch order.")
    ap.add_argument("--no_weights", action="store_true", help="History only (sweeps).")
    return ap


def load_encoder(data: Path, keep: list[int] | None, device: str) -> tuple[BertModel, dict]:
    """The trimmed e5 as a PyTorch BERT, keeping the source layers ``keep`` in order."""
    cfgd = json.loads((data / "config.json").read_text())
    cfgd.pop("num_labels", None)
    keep = keep or list(range(cfgd["num_hidden_layers"]))
    cfgd["num_hidden_layers"] = len(keep)
    enc = BertModel(BertConfig(**cfgd), add_pooling_layer=False)
    weights = {}
    for k, v in np.load(data / "weights.npz").items():
        if k.startswith("encoder.layer."):
            src = int(k.split(".")[2])
            if src not in keep:
                continue
            k = k.replace(f"encoder.layer.{src}.", f"encoder.layer.{keep.index(src)}.", 1)
        weights[k] = torch.from_numpy(v.astype(np.float32))
    missing, unexpected = enc.load_state_dict(weights, strict=False)
    missing = [k for k in missing if "position_ids" not in k]
    assert not missing and not unexpected, (missing, unexpected)
    return enc.to(device), cfgd


def ragged(ids: np.ndarray, lens: np.ndarray) -> list[np.ndarray]:
    offs = np.concatenate([[0], np.cumsum(lens)])
    return [ids[offs[i] : offs[i + 1]] for i in range(len(lens))]


def save_shards(out: Path, state: dict[str, np.ndarray], limit: int = 12_000_000) -> None:
    """fp16 npz files small enough to carry back from the GPU machine."""
    shard, size, n = {}, 0, 0
    for k in sorted(state):
        shard[k] = state[k].astype(np.float16)
        size += shard[k].nbytes
        if size > limit:
            np.savez(out / f"best_{n}.npz", **shard)
            shard, size, n = {}, 0, n + 1
    if shard:
        np.savez(out / f"best_{n}.npz", **shard)


def main() -> None:
    a = build_parser().parse_args()
    data, out = Path(a.data_dir), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(a.seed)
    hierarchy = LabelHierarchy.from_file(data / "label.txt")
    enc, cfgd = load_encoder(data, [int(x) for x in a.layers.split(",")] if a.layers else None, dev)
    pad = cfgd["pad_token_id"]
    head = torch.nn.Linear(cfgd["hidden_size"], len(hierarchy))
    torch.nn.init.normal_(head.weight, std=0.02)
    torch.nn.init.zeros_(head.bias)
    head = head.to(dev)
    drop = torch.nn.Dropout(0.1)
    d = np.load(data / "data.npz")
    tr, dv = ragged(d["train_ids"], d["train_len"]), ragged(d["dev_ids"], d["dev_len"])
    ytr, ydv = d["y_train"].astype(np.float32), d["y_dev"].astype(bool)
    soft = None
    if a.teacher_logits:
        tl = np.load(a.teacher_logits).astype(np.float32)
        assert tl.shape == ytr.shape, (tl.shape, ytr.shape)
        soft = sigmoid(tl / a.temperature)

    def forward(rows: list[np.ndarray], train: bool) -> torch.Tensor:
        x = torch.from_numpy(pad_batch(rows, pad)).to(dev)
        mask = x != pad
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=dev == "cuda"):
            h = enc(input_ids=x, attention_mask=mask.long(), token_type_ids=torch.zeros_like(x)).last_hidden_state
        k = mask.unsqueeze(-1).float()
        pooled = (h.float() * k).sum(1) / k.sum(1).clamp(min=1)
        return head(drop(pooled) if train else pooled)

    def dev_logits() -> np.ndarray:
        enc.eval()
        head.eval()
        logits = np.zeros((len(dv), len(hierarchy)), np.float32)
        order = np.argsort([len(r) for r in dv])
        with torch.no_grad():
            for s in range(0, len(order), 128):
                idx = order[s : s + 128]
                logits[idx] = forward([dv[i] for i in idx], False).cpu().numpy()
        enc.train()
        head.train()
        return logits

    steps_per_epoch = math.ceil(len(tr) / BATCH_SIZE)
    total = steps_per_epoch * a.epochs
    warm = int(0.06 * total)
    opt = torch.optim.AdamW(
        [{"params": enc.parameters(), "lr": a.lr}, {"params": head.parameters(), "lr": a.head_lr}], weight_decay=0.01
    )
    base = [g["lr"] for g in opt.param_groups]
    lossf = torch.nn.BCEWithLogitsLoss()
    best, best_logits, state, hist, step, t0 = -1.0, None, {}, [], 0, time.time()
    rng = np.random.default_rng(a.seed)
    for ep in range(1, a.epochs + 1):
        order = rng.permutation(len(tr))
        if a.group_by_length:
            order = group_by_length(order, [len(r) for r in tr], BATCH_SIZE, rng)
        for s in range(steps_per_epoch):
            idx = order[s * BATCH_SIZE : (s + 1) * BATCH_SIZE]
            logits = forward([tr[i] for i in idx], True)
            loss = lossf(logits, torch.from_numpy(ytr[idx]).to(dev))
            if soft is not None:
                kd = lossf(logits / a.temperature, torch.from_numpy(soft[idx]).to(dev)) * a.temperature**2
                loss = (1 - a.alpha) * loss + a.alpha * kd
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(enc.parameters()) + list(head.parameters()), 1.0)
            opt.step()
            step += 1
            f = step / max(warm, 1) if step < warm else max(0.0, (total - step) / max(total - warm, 1))
            for g, b in zip(opt.param_groups, base):
                g["lr"] = b * f
            if a.max_steps and step >= a.max_steps:
                break
        logits = dev_logits()
        dev_scores = scores(ydv, decode(sigmoid(logits), 0.5, hierarchy, "closure"))
        hist.append(
            dict(
                epoch=ep,
                micro_f1=float(dev_scores.micro_f1),
                macro_f1=float(dev_scores.macro_f1),
                accuracy=float(dev_scores.accuracy),
                loss=float(loss),
                seconds=round(time.time() - t0, 1),
            )
        )
        print(hist[-1], flush=True)
        if dev_scores.micro_f1 > best:
            best, best_logits = dev_scores.micro_f1, logits
            if not a.no_weights:
                state = {f"enc.{k}": v.detach().float().cpu().numpy() for k, v in enc.state_dict().items()}
                state = {k: v for k, v in state.items() if "position_ids" not in k}
                state["head.weight"] = head.weight.detach().cpu().numpy()
                state["head.bias"] = head.bias.detach().cpu().numpy()
        if a.max_steps and step >= a.max_steps:
            break
    device_name = torch.cuda.get_device_name(0) if dev == "cuda" else "cpu"
    (out / "history.json").write_text(json.dumps({"device": device_name, "args": vars(a), "history": hist}, indent=1))
    save_shards(out, state)
    np.save(out / "dev_logits.npy", best_logits)
    print("done", best, time.time() - t0)


if __name__ == "__main__":
    main()
