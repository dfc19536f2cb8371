"""hiercls: hierarchical multi-label text classification, trained with PaddleNLP and
served by Triton Inference Server.

The package holds everything more than one stage needs (label hierarchy, data
reading, decoding, metrics, tensor names, Triton config generation), so that
``training/``, ``builders/``, the Triton backends and ``clients/`` agree by
construction. ``hiercls.runtime`` is the numpy-only subset that is copied into the
model repository; nothing in it imports paddle.
"""

import os

# Paddle runs its CPU kernels on one thread unless OMP_NUM_THREADS says otherwise, and
# reads it when paddle is first imported: set it here, before any module imports paddle.
# Processes of a distributed launch share the cores.
os.environ.setdefault(
    "OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // int(os.environ.get("PADDLE_TRAINERS_NUM", "1") or 1)))
)

__version__ = "0.1.0"
