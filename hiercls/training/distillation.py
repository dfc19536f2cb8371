"""Knowledge distillation for training/train.py ``--teacher_path``.

A trained model (the teacher: a checkpoint or an export folder) scores every
training text once; the student then learns from a mix of the gold labels and the
teacher's probabilities, label by label (sigmoid outputs, so each label is its own
two-class distribution):

    loss = (1 - alpha) * BCE(student, gold) + alpha * BCE(student / T, sigmoid(teacher / T))

The teacher's logits are cached next to the checkpoint, keyed by a digest of the
texts and the teacher's weights, so a resumed or repeated run does not pay for the
teacher again (on a CPU the teacher pass can take minutes).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hiercls.evaluation.predictor import load_predictor
from hiercls.runtime.artifacts import EXPORT_META, LABEL_FILE, MODEL_CONFIG_FILE, ONNX_FILE, WEIGHTS_FILE
from hiercls.runtime.decoding import sigmoid
from hiercls.runtime.hierarchy import LabelHierarchy
from hiercls.runtime.io import atomic_write_bytes

logger = logging.getLogger(__name__)


class TeacherError(ValueError):
    """The teacher cannot teach this data set; the message says why."""


def teacher_backend(teacher_path: Path) -> str:
    """``onnx`` for an export folder (faster on CPU), ``paddle`` for a checkpoint."""
    if (teacher_path / ONNX_FILE).is_file() and (teacher_path / EXPORT_META).is_file():
        return "onnx"
    if (teacher_path / MODEL_CONFIG_FILE).is_file():
        return "paddle"
    raise TeacherError(
        f"--teacher_path {teacher_path} is neither an export folder ({ONNX_FILE} + {EXPORT_META}) "
        f"nor a training checkpoint ({MODEL_CONFIG_FILE})"
    )


def _digest(teacher_path: Path, texts: Sequence[str], max_seq_length: int) -> str:
    h = hashlib.sha256(f"{max_seq_length}\n".encode())
    for name in (ONNX_FILE, WEIGHTS_FILE, LABEL_FILE):
        f = teacher_path / name
        if f.is_file():
            st = f.stat()
            h.update(f"{name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:16]


def teacher_logits(
    teacher_path: str | Path,
    texts: Sequence[str],
    hierarchy: LabelHierarchy,
    max_seq_length: int,
    cache_dir: str | Path | None = None,
    batch_size: int = 64,
) -> np.ndarray:
    """The teacher's logits for texts, [len(texts), len(hierarchy)], float32.

    The teacher must have been trained on the same label.txt (same paths, same
    order): its logit i has to mean the student's label i."""
    teacher_path = Path(teacher_path)
    if not teacher_path.is_dir():
        raise TeacherError(f"--teacher_path {teacher_path} does not exist")
    backend = teacher_backend(teacher_path)
    theirs = LabelHierarchy.from_file(teacher_path / LABEL_FILE)
    diff = theirs.difference(hierarchy, "the teacher", "this data set")
    if diff:
        raise TeacherError(f"the teacher at {teacher_path} was trained on other labels: {diff}")
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"teacher_logits.{_digest(teacher_path, texts, max_seq_length)}.npy"
        if cache.is_file():
            logits = np.load(cache)
            if logits.shape == (len(texts), len(hierarchy)):
                logger.info("teacher logits from cache %s", cache)
                return logits
    logger.info("teacher %s (%s) scores %d training texts", teacher_path, backend, len(texts))
    predictor = load_predictor(backend, teacher_path, max_seq_length)
    logits = np.asarray(predictor.logits(list(texts), batch_size), dtype=np.float32)
    if not np.isfinite(logits).all():
        raise TeacherError(f"the teacher at {teacher_path} gave non-finite logits")
    if cache is not None:
        import io

        buf = io.BytesIO()
        np.save(buf, logits)
        atomic_write_bytes(cache, buf.getvalue())
    return logits


def soft_targets(logits: np.ndarray, temperature: float) -> np.ndarray:
    """Per-label teacher probabilities at temperature T."""
    return sigmoid(np.asarray(logits, dtype=np.float32) / temperature)


def distillation_loss(student_logits, gold, soft, alpha: float, temperature: float):
    """Mixed BCE on Paddle tensors (see the module docstring). The soft term is scaled
    by T**2 so its gradient keeps the gold term's size as T grows (Hinton et al.)."""
    import paddle.nn.functional as F

    hard = F.binary_cross_entropy_with_logits(student_logits, gold)
    if alpha <= 0:
        return hard
    distilled = F.binary_cross_entropy_with_logits(student_logits / temperature, soft) * temperature**2
    return (1.0 - alpha) * hard + alpha * distilled
