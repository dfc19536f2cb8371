"""What each threshold policy is worth on texts it was not fitted to.

    .venv/bin/python -m benchmarks.quality.threshold_policies --dataset_dir build/duee_split \
        --model e5-6l=build/duee_e5_6l/export --output benchmarks/quality/threshold_policies

For every policy of hiercls.training.tuning (0.5; one shared threshold; per-label
optima shrunk toward it, and unshrunk, strength 0, the old way) and each decoder:
micro / macro F1 on dev when fitted on all of dev (in-sample, what tuning used to
report), out of fold on dev (what the tuner now chooses by), and on the held-out
test split after fitting on all of dev (what users get). The chosen row is the one
in the model's thresholds.json.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from benchmarks.common import machine_line, md_table, name_value_pairs, read_json, write_report

logger = logging.getLogger("threshold_policies")


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset_dir", required=True, help="Split folder with dev.txt, test.txt and label.txt.")
    ap.add_argument("--model", action="append", required=True, help="NAME=EXPORT_DIR, repeatable.")
    ap.add_argument("--output", default="build/quality/threshold_policies", help="Report path without suffix.")
    args = ap.parse_args(argv)

    from hiercls.data.reading import read_examples
    from hiercls.evaluation.metrics import scores
    from hiercls.evaluation.predictor import OnnxPredictor
    from hiercls.runtime.decoding import DECODERS, decode
    from hiercls.training.tuning import FOLDS, POLICIES, Policy, fit_thresholds, fold_ids

    data = Path(args.dataset_dir)
    policies = (*POLICIES, Policy("per_label", 0.0))
    md = ["# Threshold policies: dev in-sample, dev out of fold, held-out test", "", f"Machine: {machine_line()}", ""]
    result = {}
    for name, folder in name_value_pairs(args.model, "--model", ap).items():
        predictor = OnnxPredictor(folder)
        h = predictor.hierarchy
        chosen = _chosen(Path(folder))
        sets = {}
        for split in ("dev", "test"):
            ex = read_examples(data / f"{split}.txt", h)
            sets[split] = (predictor.probs([e.text for e in ex]), h.multi_hot([e.labels for e in ex]).astype(bool))
        (pd, yd), (pt, yt) = sets["dev"], sets["test"]
        ids = fold_ids(len(pd), FOLDS)
        rows = []
        for policy in policies:
            full = fit_thresholds(pd, yd, policy)
            folds = [fit_thresholds(pd[ids != k], yd[ids != k], policy) for k in range(FOLDS)]
            for d in DECODERS:
                oof = np.zeros_like(yd)
                for k in range(FOLDS):
                    oof[ids == k] = decode(pd[ids == k], folds[k], h, d)
                r = {
                    "policy": policy.label if policy.strength or policy.name != "per_label" else "per_label(unshrunk)",
                    "decoder": d,
                    "dev_in_sample": scores(yd, decode(pd, full, h, d)).as_dict(),
                    "dev_out_of_fold": scores(yd, oof).as_dict(),
                    "test": scores(yt, decode(pt, full, h, d)).as_dict(),
                }
                r["chosen"] = (r["policy"], d) == chosen
                rows.append(r)
        result[name] = rows

        def f(s: dict) -> str:
            return f"{100 * s['micro_f1']:.2f} / {100 * s['macro_f1']:.2f}"

        md += [
            f"## {name} (`{folder}`): dev {len(pd)}, test {len(pt)} texts; micro / macro F1",
            "",
            md_table(
                ["policy", "decoder", "dev, fitted on dev", "dev, out of fold", "test (fitted on dev)", ""],
                [
                    [r["policy"], r["decoder"], f(r["dev_in_sample"]), f(r["dev_out_of_fold"]), f(r["test"]),
                     "**chosen**" if r["chosen"] else ""]
                    for r in rows
                ],
            ),
            "",
        ]  # fmt: skip
    write_report(Path(args.output), md, {"machine": machine_line(), "models": result})


def _chosen(folder: Path) -> tuple[str, str]:
    from hiercls.runtime.artifacts import THRESHOLDS_FILE

    meta = read_json(folder / THRESHOLDS_FILE)
    return meta.get("policy", "default"), meta.get("decoder", "closure")


if __name__ == "__main__":
    main()
