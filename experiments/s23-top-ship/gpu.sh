#!/bin/bash
# The device arm of s23-top-ship (RULES.md, amendment of 05:22; one call on a GPU machine, from the repository root,
# wheels in .whl/, the dataset packed by datapack.py in .s23/): replay session 22's Hopper `ladder-pure --top-share
# 0.25` data and stop unless its fingerprint matches; train the seed-0 `mid` SARSA critic and DT seeds 5-7; pack the
# critic, the DT models, their step-12,000 (pretrain) states and the logs into $OUT before the deadline (the
# pattern of ../s22-ladder/gpu.sh, one archive per kind to stay under 16 MiB a returned file).
# usage: bash experiments/s23-top-ship/gpu.sh [CONFIG DEVICE DEADLINE_S]   (defaults: mid cuda 420)
#   S23_PACK (default .s23/hopper-ladder-pure-q.npz), S23_DATASET (ladder-pure), S23_SEEDS ("5 6 7") and S23_CRITIC
#   (1; 0: no critic) choose another packed dataset and its runs (the amendment of 06:13: `even`, DTs 3-5, no critic)
CFG=${1:-mid}; DEV=${2:-cuda}; DEADLINE=${3:-420}
T0=$(date +%s)
OUT=${OUT:-/tmp/s23-out}; mkdir -p "$OUT"
W=${S23_WORK:-$PWD/.s23/work}; mkdir -p "$W/logs"
if [ -d .whl ] && ! python3 -c "import mujoco, tyro, minari" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export OMP_NUM_THREADS=1 QDT_RUNS=$W/runs QDT_CHECKPOINTS=$W/ckpt MINARI_DATASETS_PATH=$W/data PYTHONUNBUFFERED=1
mkdir -p "$QDT_CHECKPOINTS"; ln -sfn "$PWD/checkpoints/behavior" "$QDT_CHECKPOINTS/behavior"
L=$W/logs T=hopper D=${S23_DATASET:-ladder-pure} PACK=${S23_PACK:-.s23/hopper-ladder-pure-q.npz}
t() { echo "[$(( $(date +%s) - T0 )) s] $*"; }
pack() {  # what $OUT holds when the call ends is what comes back: pack once, from the watchdog or the end
  mkdir "$W/packed" 2>/dev/null || return 0
  t "packing"
  for f in $L/*.log; do echo "$(basename $f): $(tail -c 300 $f | tr '\r' '\n' | grep -av '^$' | tail -1)"; done
  (cd "$W" && tar czf "$OUT/models.tgz" ckpt/$T 2>/dev/null)
  (cd "$W" && tar czf "$OUT/critic.tgz" runs/$T/$D/s0/critic 2>/dev/null)
  (cd "$W" && tar czf "$OUT/pretrain.tgz" runs/$T/$D/s[1-9]*/pretrain 2>/dev/null)
  (cd "$W" && tar czf "$OUT/logs.tgz" logs runs/$T/$D/s*/*/metrics.jsonl 2>/dev/null)
  ls -la "$OUT"
}
rm -rf "$W/stop" "$W/packed" "$W/pids" "$W/done"
# At the deadline: no new job starts, the running ones stop (their last saved state stays), and what exists is packed.
( for _ in $(seq "$DEADLINE"); do [ -f "$W/done" ] && exit 0; sleep 1; done; touch "$W/stop"; t "deadline: stopping the jobs"; xargs -r kill < "$W/pids" 2>/dev/null; sleep 3; pack ) &
WATCH=$!
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
nvidia-smi --query-gpu=name,memory.used --format=csv,noheader 2>/dev/null
bg() {  # LOG ARGS...: one core.train job in the background, its pid recorded for the watchdog
  local log=$1; shift
  [ -f "$W/stop" ] && return 1
  python3 -m core.train --task $T --dataset $D --config $CFG --device $DEV "$@" > $L/$log.log 2>&1 &
  echo $! >> "$W/pids"
}
if python3 experiments/s23-top-ship/datapack.py unpack $PACK > $L/unpack.log 2>&1; then
  t "data: $(tail -1 $L/unpack.log)"
  [ "${S23_CRITIC:-1}" = 0 ] || bg critic --seed 0 --stage critic
  for S in ${S23_SEEDS:-5 6 7}; do bg dt-s$S --seed $S --stage dt; done
  wait $(cat "$W/pids")
else
  t "the replayed data does not match: $(tail -1 $L/unpack.log)"
fi
touch "$W/done"; wait $WATCH
pack
t "end"
