"""Model compression: DynaBERT width pruning (PaddleSlim OFA) and fp16/int8 ONNX variants
behind a dev-set quality gate."""
