"""Table and chart of the GPU recipe sweep (e5_gpu_sweep.sh): best dev micro/macro F1
at threshold 0.5 per run, grouped by what the run varied.

    python -m benchmarks.quality.summarize_sweep [--sweep e5_gpu_sweep.json]
    # prints the Markdown table; writes sweep.png next to the JSON
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).parent


def rows(runs: dict) -> list[dict]:
    out = []
    for name, run in runs.items():
        a, history = run["args"], run["history"]
        best = max(history, key=lambda r: r["micro_f1"])
        layers = a.get("layers") or "0-11"
        out.append(
            dict(
                name=name,
                layers=layers,
                n_layers=len(layers.split(",")) if a.get("layers") else 12,
                lr=a["lr"],
                head_lr=a["head_lr"],
                kd=f"a={a['alpha']:g} T={a['temperature']:g}" if a.get("teacher_logits") else "-",
                epochs=a["epochs"],
                seed=a.get("seed", 3),
                best_epoch=best["epoch"],
                micro=100 * best["micro_f1"],
                macro=100 * best["macro_f1"],
                seconds=history[-1]["seconds"],
            )
        )
    return sorted(out, key=lambda r: (r["n_layers"], -r["micro"]))


def markdown(table: list[dict]) -> str:
    lines = [
        "| run | layers | lr | head lr | distillation | epochs | seed | best epoch | micro F1 | macro F1 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table:
        lines.append(
            f"| {r['name']} | {r['layers']} | {r['lr']:g} | {r['head_lr']:g} | {r['kd']} | {r['epochs']} | "
            f"{r['seed']} | {r['best_epoch']} | {r['micro']:.2f} | {r['macro']:.2f} |"
        )
    return "\n".join(lines)


def plot(table: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {4: "tab:blue", 6: "tab:green", 12: "tab:purple"}
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for r in table:
        marker = "x" if r["kd"] != "-" else "o"
        ax.scatter(r["micro"], r["macro"], color=colors.get(r["n_layers"], "grey"), marker=marker, s=30)
    for n, c in colors.items():
        ax.scatter([], [], color=c, marker="o", label=f"{n} layers")
    ax.scatter([], [], color="black", marker="x", label="with distillation")
    off = [r["name"] for r in table if not (91 <= r["micro"] <= 96.5 and 65 <= r["macro"] <= 95)]
    if off:
        ax.text(91.1, 66, f"off the chart: {', '.join(off)}", fontsize=7, color="grey")
    ax.axvline(95.7, ls="--", color="grey", lw=1)
    ax.axhline(93.4, ls="--", color="grey", lw=1)
    ax.text(95.72, 70, "goal", color="grey", fontsize=8)
    ax.set_xlim(91, 96.5)
    ax.set_ylim(65, 95)
    ax.set_xlabel("dev micro F1 (%), best epoch, threshold 0.5")
    ax.set_ylabel("dev macro F1 (%)")
    ax.set_title("e5-small recipe sweep on duee_hier (8-12 epochs, PyTorch port, H200)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sweep", default=str(HERE / "e5_gpu_sweep.json"), help="sweep.json of e5_gpu_sweep.sh")
    args = ap.parse_args()
    sweep = Path(args.sweep)
    table = rows(json.loads(sweep.read_text(encoding="utf-8"))["runs"])
    print(markdown(table))
    plot(table, sweep.with_name("sweep.png"))


if __name__ == "__main__":
    main()
