"""Markdown tables and PNG plots of the analysis experiments (matplotlib, Agg)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hiercls.runtime.io import atomic_write_text


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.1f}" if abs(v) >= 10 else f"{v:.4f}"
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_markdown(path: str | Path, title: str, sections: Sequence[tuple[str, str]]) -> None:
    """A small Markdown report: a title, then (heading, body) sections."""
    parts = [f"# {title}\n"]
    for heading, body in sections:
        parts.append(f"\n## {heading}\n\n{body}" if heading else f"\n{body}")
    atomic_write_text(path, "".join(parts))


def _save(fig, path: str | Path) -> None:
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.tight_layout()
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)


def _cjk_font() -> bool:
    """Label names are Chinese: use a CJK font when the machine has one."""
    import matplotlib
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in ("Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "SimHei", "AR PL UMing CN"):
        if name in names:
            matplotlib.rcParams["font.sans-serif"] = [name, "DejaVu Sans"]
            return True
    return False


def bar_plot(
    path: str | Path,
    categories: Sequence[str],
    series: dict[str, Sequence[float]],
    title: str,
    ylabel: str,
    rotate: bool = False,
) -> None:
    """Grouped bars: one group per category, one bar per series. Without a CJK font,
    non-ASCII categories are drawn as #1, #2 ... (the row numbers of the caller's table)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    if not _cjk_font() and not all(c.isascii() for c in categories):
        categories = [f"#{i + 1}" for i in range(len(categories))]
    fig, ax = plt.subplots(figsize=(min(14.0, max(6.0, 0.3 * len(categories) * max(len(series), 1) + 2)), 4.2))
    x = np.arange(len(categories))
    width = 0.8 / max(len(series), 1)
    for k, (name, values) in enumerate(series.items()):
        ax.bar(x + (k - (len(series) - 1) / 2) * width, values, width, label=name)
    ax.set_xticks(x)
    ax.set_xticklabels(categories, rotation=60 if rotate else 0, ha="right" if rotate else "center", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    _save(fig, path)


def line_plot(
    path: str | Path,
    x: Sequence[float],
    series: dict[str, Sequence[float]],
    title: str,
    xlabel: str,
    ylabel: str,
    hline: tuple[float, str] | None = None,
) -> None:
    """One line per series over a shared x axis, optionally a horizontal reference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, values in series.items():
        ax.plot(x, values, marker="o", markersize=3, label=name)
    if hline is not None:
        ax.axhline(hline[0], color="gray", linestyle="--", label=hline[1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    _save(fig, path)
