"""Triton Python-backend models. Each file defines ``TritonPythonModel`` and is
copied by the repository builder into ``<model>/1/model.py``, next to a copy of
``hiercls.runtime`` named ``hiercls_runtime``."""
