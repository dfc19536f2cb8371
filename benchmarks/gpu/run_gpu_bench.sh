#!/usr/bin/env bash
# The GPU check in one command: onnxruntime at batch 32 on the CUDA and TensorRT
# execution providers, fp32 and fp16, for each export folder given; writes
# gpu_bench.{md,json,png} to $OUT (or build/gpu_bench, or --output_dir DIR).
#
#   benchmarks/gpu/run_gpu_bench.sh EXPORT_DIR [EXPORT_DIR ...] [gpu_bench.py flags]
#
# Without onnxruntime-gpu it measures the CPU provider and says so in its output.
# Python: $PYTHON, else the repository's .venv, else python3 (needs numpy, onnx, onnxruntime).
# Paths are relative to the repository root, where it runs (as a module: python -m).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
if [ $# -eq 0 ] || [ "${1#-}" != "$1" ]; then
  echo "usage: $0 EXPORT_DIR [EXPORT_DIR ...] [--output_dir DIR] [--seq_length 128 ...]" >&2
  exit 2
fi
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  if [ -x "$here/../../.venv/bin/python" ]; then PY="$here/../../.venv/bin/python"; else PY=python3; fi
fi
exec "$PY" -m benchmarks.gpu.gpu_bench --export_dir "$@"
