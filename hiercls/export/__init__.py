"""Stage 4, export: checkpoint -> static graph -> ONNX, with a parity check (``onnx``)."""
