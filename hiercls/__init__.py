"""hiercls: hierarchical multi-label text classification, trained with PaddleNLP and
served by Triton Inference Server.

The package holds everything more than one stage needs (label hierarchy, data
reading, decoding, metrics, tensor names, Triton config generation), so that
``training/``, ``builders/``, the Triton backends and ``clients/`` agree by
construction. ``hiercls.runtime`` is the numpy-only subset that is copied into the
model repository; nothing in it imports paddle.
"""

__version__ = "0.1.0"
