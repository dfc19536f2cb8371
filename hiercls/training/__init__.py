"""Stage 2, training: the loop (``loop``), knowledge distillation (``distillation``)
and the tuning of thresholds and decoder on dev (``tuning``)."""
