#!/usr/bin/env bash
# Every benchmark behind benchmarks/README.md, in order, for one model shape:
# build the random-weight model, time Triton against bare onnxruntime, sweep Locust
# users, then the 60 s saturation run with bad requests.
# Writes benchmarks/results/ (committed) and build/bench/ (raw, git-ignored).
#
#   benchmarks/run_all.sh                                  # nano on the DuEE dev texts
#   SHAPE=ernie-3.0-medium-zh USERS="1 2 4" BATCHES=12 ONLY=overhead,sweep benchmarks/run_all.sh
set -euo pipefail
# shellcheck disable=SC2086  # $USERS, $QUIET: lists on purpose
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
SHAPE=${SHAPE:-ernie-3.0-nano-zh}
DATASET_DIR=${DATASET_DIR:-/work/shared/data/duee_hier}
DATA=${DATA:-$DATASET_DIR/dev.txt}
USERS=${USERS:-1 2 4 8}
STEP=${STEP:-30}            # seconds per user count (two alternating slices)
QUIET=${QUIET:-"--quiet_wait 30 --quiet_max_busy 25 --max_other_pct 30 --retries 2"}  # shared host: see README
NAME=${SHAPE#ernie-3.0-}; NAME=${NAME%-zh}
ONLY=${ONLY:-overhead,sweep,single,saturation}  # which parts to run
step() { printf '\n== %s\n' "$*" >&2; }
want() { [[ ",$ONLY," == *",$1,"* ]]; }

if [ ! -f "build/bench/$SHAPE/model_repository/repository.json" ] || [ -n "${REBUILD:-}" ]; then
  step "random-weight $SHAPE from $DATASET_DIR"
  $PY -m benchmarks.make_bench_model --shape "$SHAPE" --dataset_dir "$DATASET_DIR"
fi

want overhead && step "where the time goes: Triton vs bare onnxruntime, batch 32" && \
$PY -m benchmarks.overhead --shape "$SHAPE" --data "$DATA" --batches "${BATCHES:-40}" $QUIET

want sweep && step "Locust sweep: batch 32, users $USERS" && \
$PY -m benchmarks.run_locust --shape "$SHAPE" --data "$DATA" --users $USERS --run_time "$STEP" --rounds 2 \
  --name "${NAME}_b32" --title "Locust over gRPC: $SHAPE, batches of 32 texts" $QUIET

want single && step "Locust sweep: single texts, users ${SINGLE_USERS:-1 4 16}" && \
$PY -m benchmarks.run_locust --shape "$SHAPE" --data "$DATA" --users ${SINGLE_USERS:-1 4 16} --run_time "$STEP" --rounds 2 \
  --batch_weight 0 --single_weight 1 \
  --name "${NAME}_single" --title "Locust over gRPC: $SHAPE, single texts" $QUIET

want saturation && step "saturation: 60 s, batch + single-text users, plus a stream of bad requests" && \
$PY -m benchmarks.run_locust --shape "$SHAPE" --data "$DATA" --users "${SAT_USERS:-8}" --run_time 60 \
  --batch_weight 3 --single_weight 1 --bad_users 1 --bad_rate 4 --no_plots \
  --name "${NAME}_saturation" --title "Saturation: $SHAPE, 60 s with bad requests mixed in" $QUIET
printf '\nresults in benchmarks/results/\n' >&2
