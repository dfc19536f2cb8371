"""Plot dev micro/macro F1 per epoch for the runs recorded in this folder (PNG next to the table).

python -m benchmarks.quality.plot_quality
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
# label -> (file in this folder, run name inside a sweep file or None)
RUNS = {
    "e5-small 12 layers, H200 (PyTorch port), 20 epochs, head lr 2e-3": ("e5_gpu_history.json", None),
    "e5-small 12 layers, H200 (PyTorch port), 8 epochs, head lr 5e-3": ("e5_gpu_sweep.json", "t12_h5e3_5e5_seed2"),
    "e5-small first 6 layers, Paddle, 2-core CPU, 8 epochs (scripts/train_duee.sh)": ("e5_6l_cpu_history.json", None),
    "hiercls-tiny from scratch, Paddle, 2-core CPU, 20 epochs": ("tiny_cpu_history.json", None),
}
COLORS = ("tab:blue", "tab:purple", "tab:green", "tab:orange")


def history(file: str, run: str | None) -> list[dict]:
    data = json.loads((HERE / file).read_text())
    return (data["runs"][run] if run else data)["history"]


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for (name, (file, run)), color in zip(RUNS.items(), COLORS):
        if not (HERE / file).is_file():
            continue
        rows = history(file, run)
        epochs = [h["epoch"] for h in rows]
        axes[0].plot(epochs, [100 * h["micro_f1"] for h in rows], marker=".", color=color, label=name)
        axes[1].plot(epochs, [100 * h["macro_f1"] for h in rows], marker=".", color=color, label=name)
    for ax, metric, goal in ((axes[0], "micro F1", 95.7), (axes[1], "macro F1", 93.4)):
        ax.axhline(goal, ls="--", color="grey", lw=1)
        ax.text(1, goal + 0.5, f"goal {goal} (ERNIE 3.0 base, PaddleNLP)", fontsize=8, color="grey")
        ax.set_xlabel("epoch")
        ax.set_title(f"duee_hier dev {metric} (thresholds 0.5)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("%")
    axes[0].set_ylim(0, 100)
    axes[1].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(HERE / "quality.png", dpi=110)


if __name__ == "__main__":
    main()
