"""Per-label decision thresholds, stored next to label.txt as thresholds.json
(``artifacts.THRESHOLDS_FILE``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .artifacts import LABEL_FILE
from .hierarchy import LabelHierarchy
from .io import atomic_write_json

DEFAULT_THRESHOLD = 0.5


def default_thresholds(hierarchy: LabelHierarchy, value: float = DEFAULT_THRESHOLD) -> np.ndarray:
    return np.full(len(hierarchy), value, dtype=np.float32)


def save_thresholds(path: str | Path, hierarchy: LabelHierarchy, thresholds: np.ndarray, **meta) -> None:
    thresholds = np.round(np.asarray(thresholds, dtype=np.float64), 6)
    if thresholds.shape != (len(hierarchy),):
        raise ValueError(f"need {len(hierarchy)} thresholds, got shape {list(thresholds.shape)}")
    check_range(thresholds, str(path))
    atomic_write_json(
        path,
        {"thresholds": {label: round(float(t), 6) for label, t in zip(hierarchy.labels, thresholds)}, **meta},
    )


def load_thresholds(path: str | Path, hierarchy: LabelHierarchy) -> np.ndarray:
    """Thresholds in label order. A missing file means the default for every label;
    a file that names unknown labels or misses some is an error (it belongs to
    another label set)."""
    path = Path(path)
    if not path.is_file():
        return default_thresholds(hierarchy)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    table = data.get("thresholds") if isinstance(data, dict) else None
    if not isinstance(table, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in table.values()
    ):
        raise ValueError(f'{path}: expected {{"thresholds": {{label: number, ...}}}}')
    unknown = sorted(set(table) - set(hierarchy.labels))
    missing = [x for x in hierarchy.labels if x not in table]
    if unknown or missing:
        raise ValueError(
            f"{path}: thresholds do not match {LABEL_FILE} (unknown: {unknown[:5]}, missing: {missing[:5]})"
        )
    out = np.array([float(table[x]) for x in hierarchy.labels], dtype=np.float32)
    check_range(out, str(path))
    return out


def check_range(thresholds: np.ndarray, where: str) -> None:
    # 0 would predict every label and 1 none: both are mistakes, not settings.
    bad = ~((thresholds > 0) & (thresholds < 1))
    if bad.any():
        raise ValueError(f"{where}: every threshold must lie strictly between 0 and 1 (got {thresholds[bad][:5]})")


def load_decoder(path: str | Path, default: str = "closure") -> str:
    """The decoder chosen when the thresholds were tuned (``"decoder"`` in the file)."""
    path = Path(path)
    if not path.is_file():
        return default
    data = json.loads(path.read_text(encoding="utf-8-sig"))
    decoder = data.get("decoder", default) if isinstance(data, dict) else default
    if decoder not in ("closure", "topdown"):
        raise ValueError(f"{path}: unknown decoder {decoder!r}")
    return decoder
