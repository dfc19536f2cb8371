"""Stage 2, training: typed configs (``config``), the epoch-loop skeleton that
fine-tuning and DynaBERT share (``loop``), fine-tuning itself (``train``), the dev
score that picks epochs (``selection``), epoch averaging (``averaging``), knowledge
distillation (``distillation``) and the tuning of thresholds and decoder (``tuning``)."""
