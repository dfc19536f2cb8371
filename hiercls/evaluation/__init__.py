"""Scoring a model offline: metrics (``metrics``), the evaluation report and bad
cases (``report``) and the Paddle/ONNX predictor without Triton (``predictor``)."""
