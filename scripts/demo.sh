#!/usr/bin/env bash
# The whole job on the shipped sample: set up, train a tiny model, export to ONNX,
# build the Triton repository, serve it with a real tritonserver and classify
# data.txt with the gRPC client. Everything it writes is git-ignored.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
scripts/setup.sh
PY=.venv/bin/python
DATA=${DATASET_DIR:-data/sample}
step() { printf '\n== %s\n' "$*" >&2; }

step "train (tiny ERNIE shape from scratch on $DATA)"
$PY training/train.py --dataset_dir "$DATA" --save_dir checkpoint --model_name hiercls-tiny --from_scratch \
  --max_seq_length 128 --batch_size 16 --learning_rate 3e-3 --warmup --warmup_steps 20 --epochs 30 --logging_steps 50

step "export: static graph + ONNX, checked against Paddle"
$PY builders/export_model.py --params_path checkpoint --output_path export

step "build the Triton model repository (cpu target) in model_repository/"
$PY builders/build_repository.py --export_dir export --output_dir model_repository --target cpu

step "serve with tritonserver and classify $DATA/data.txt over gRPC"
.venv/bin/hiercls-serve --model_repository model_repository --http_port 0 --grpc_port 0 --metrics_port 0 \
  --log_file build/tritonserver.log \
  --then $PY clients/seqcls_grpc_client.py --data_file "$DATA/data.txt" --output build/predictions.jsonl

printf '\ndemo finished in %ss; predictions in build/predictions.jsonl\n' $(( $(date +%s) - start )) >&2
