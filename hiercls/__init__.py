"""hiercls: hierarchical multi-label text classification, trained with PaddleNLP and
served by Triton Inference Server.

The subpackages follow the pipeline: ``data`` -> ``modeling`` / ``training`` ->
``evaluation`` / ``compression`` -> ``export`` -> ``repository`` -> ``serving`` ->
``client``; ``cli`` holds one module per command. ``hiercls.runtime`` is the
numpy-only subset copied into the model repository (nothing in it, nor in
``serving``, ``client`` or ``repository``, imports paddle).
"""

import os

# Paddle runs its CPU kernels on one thread unless OMP_NUM_THREADS says otherwise, and
# reads it when paddle is first imported: set it here, before any module imports paddle.
# Processes of a distributed launch share the cores.
os.environ.setdefault(
    "OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // int(os.environ.get("PADDLE_TRAINERS_NUM", "1") or 1)))
)

__version__ = "0.1.0"
