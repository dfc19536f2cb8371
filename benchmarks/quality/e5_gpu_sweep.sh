#!/bin/bash
# The recipe sweep behind benchmarks/quality/README.md ("What the sweep measured"): 32
# runs of e5_gpu_train.py in 4 waves of 8 concurrent runs on one GPU (each run alone
# leaves an H200 mostly idle; a wave takes ~2.5 min). Run on the GPU machine from the
# repository root, DATA being the folder e5_gpu_prepare.py wrote (with --teacher_path,
# for the distillation runs):
#
#   benchmarks/quality/e5_gpu_sweep.sh .gpu/e5 $OUT     # -> $OUT/sweep.json; summarise with summarize_sweep.py
set -uo pipefail
DATA=$(realpath "${1:?usage: e5_gpu_sweep.sh DATA_DIR OUT_DIR}")
OUT=$(realpath -m "${2:?usage: e5_gpu_sweep.sh DATA_DIR OUT_DIR}")
R=$(realpath -m "${RUNS_DIR:-/tmp/e5_sweep}")
cd "$(dirname "$0")/../.."
mkdir -p "$R" "$OUT"
run() {
  name=$1; shift
  python3 -m benchmarks.quality.e5_gpu_train "$R/$name" --data_dir "$DATA" --epochs 8 --group_by_length \
    --no_weights "$@" > "$R/$name.log" 2>&1
  echo "$name rc=$?"
}
T="--teacher_logits $DATA/teacher_train_logits.npy"
F="--layers 0,1,2,3"; S="--layers 0,1,2,3,4,5"

# wave 1: which layers, distillation or not (head at 2e-3, the first recipe's)
run s4_first_kd            $F $T --alpha 0.5 --lr 1e-4 &
run s4_spread_kd           --layers 2,5,8,11 $T --alpha 0.5 --lr 1e-4 &
run s4_first_nokd          $F --lr 1e-4 &
run s4_first_kd_2e4        $F $T --alpha 0.5 --lr 2e-4 &
run s4_first_kd_a9         $F $T --alpha 0.9 --lr 1e-4 &
run s6_alt_kd              --layers 0,2,4,6,8,10 $T --alpha 0.5 --lr 1e-4 &
run t12_nokd_1e4           --lr 1e-4 &
run s4_spread_kd_2e4       --layers 2,5,8,11 $T --alpha 0.5 --lr 2e-4 &
wait
# wave 2: learning rates, a milder teacher term, longer schedules
run s4_first_nokd_2e4      $F --lr 2e-4 &
run s4_first_nokd_3e4      $F --lr 3e-4 &
run s4_first_nokd_2e4_h5e3 $F --lr 2e-4 --head_lr 5e-3 &
run s6_first_nokd_2e4      $S --lr 2e-4 &
run s4_first_kd_t1_a3_2e4  $F $T --alpha 0.3 --temperature 1 --lr 2e-4 &
run s4_first_nokd_2e4_e12  $F --lr 2e-4 --epochs 12 &
run t12_nokd_2e4           --lr 2e-4 &
run s6_first_nokd_2e4_e12  $S --lr 2e-4 --epochs 12 &
wait
# wave 3: the head's learning rate
run s4_h1e2                $F --lr 2e-4 --head_lr 1e-2 &
run s4_h2e2                $F --lr 2e-4 --head_lr 2e-2 &
run s4_h5e3_1e4            $F --lr 1e-4 --head_lr 5e-3 &
run s4_h5e3_kd_t1_a3       $F --lr 2e-4 --head_lr 5e-3 $T --alpha 0.3 --temperature 1 &
run s6_h5e3                $S --lr 2e-4 --head_lr 5e-3 &
run s4_h5e3_e10            $F --lr 2e-4 --head_lr 5e-3 --epochs 10 &
run t12_h5e3_5e5           --lr 5e-5 --head_lr 5e-3 &
run s4_h1e2_1e4            $F --lr 1e-4 --head_lr 1e-2 &
wait
# wave 4: seeds of the chosen recipes (head at 100x the encoder, as the Paddle model)
for seed in 1 2 3; do
  run "s6_h2e2_seed$seed" $S --lr 2e-4 --head_lr 2e-2 --seed "$seed" &
  run "s4_h2e2_seed$seed" $F --lr 2e-4 --head_lr 2e-2 --seed "$seed" &
done
for seed in 1 2; do run "t12_h5e3_5e5_seed$seed" --lr 5e-5 --head_lr 5e-3 --seed "$seed" & done
wait
python3 - "$R" "$OUT/sweep.json" <<'PY'
import json, pathlib, sys
runs = {}
for d in sorted(pathlib.Path(sys.argv[1]).iterdir()):
    if d.is_dir() and (d / "history.json").is_file():
        runs[d.name] = json.loads((d / "history.json").read_text())
pathlib.Path(sys.argv[2]).write_text(json.dumps({"runs": runs}, indent=1))
print(len(runs), "runs ->", sys.argv[2])
PY
