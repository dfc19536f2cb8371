"""Stage 6, serving: the supervised tritonserver (``server``, ``procs``) and the
Python-backend models (``backends``), which import only ``hiercls.runtime``."""
