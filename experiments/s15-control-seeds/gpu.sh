#!/bin/bash
# The device half of s15-control-seeds (one call on a GPU machine, from the repository root, wheels in .whl/, the
# seed-0 critics trained on the CPU carried in .s15/runs/<task>/control/s0/critic/): rebuild both `control`
# datasets, train DT seeds 3-5 per task, then Q-ALIGN DT from each DT's step-12,000 state; pack models and logs
# into $OUT before the deadline.
# usage: bash experiments/s15-control-seeds/gpu.sh [CONFIG DEVICE DEADLINE_S]   (defaults: mid cuda 470)
CFG=${1:-mid}; DEV=${2:-cuda}; DEADLINE=${3:-470}
OUT=${OUT:-/tmp/s15-out} W=${S15_WORK:-$PWD/.s15} D=control
. "$(dirname "$0")/../gpu-lib.sh"  # since session 23: the wheels, folders and t (this script keeps its own watchdog)
. "$(dirname "$0")/recipe.sh"
declare -A ALT=([hopper]=5 [walker2d]=1)  # the other eta, for the bonus runs
SEEDS=${S15_SEEDS:-3 4 5}
pack() {  # everything that came back is what $OUT holds when the call ends: pack once, from the watchdog or the end
  mkdir "$W/packed" 2>/dev/null || return 0
  t "packing"
  for T in hopper walker2d; do
    for f in $L/*-$T-*.log; do echo "$(basename $f): $(tail -c 300 $f | tr '\r' '\n' | grep -av '^$' | tail -1)"; done
    (cd "$W" && tar czf "$OUT/models-$T.tgz" ckpt/$T alt/ckpt/$T 2>/dev/null)
    (cd "$W" && tar czf "$OUT/pretrain-$T.tgz" runs/$T/control/s[1-9]*/pretrain 2>/dev/null)
  done
  (cd "$W" && tar czf "$OUT/logs.tgz" logs runs/*/control/s[1-9]*/*/metrics.jsonl 2>/dev/null)
  ls -la "$OUT"
}
rm -rf "$W/stop" "$W/packed" "$W/pids"
# At the deadline: no new job starts, the running ones stop (their last saved state stays), and what exists is packed.
( sleep "$DEADLINE"; touch "$W/stop"; t "deadline: stopping the jobs"; xargs -r kill < "$W/pids" 2>/dev/null; sleep 3; pack ) &
WATCH=$!
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
nvidia-smi --query-gpu=name,memory.used --format=csv,noheader 2>/dev/null
task() {  # one task's chain: data, the DTs side by side, Q-ALIGN DT per seed once its DT's step-12,000 state exists
  local T=$1 C=$W/runs/$1/control/s0/critic/critic.json
  [ -d $MINARI_DATASETS_PATH/qalign/$T/control-v0 ] ||
    python3 -m core.data.collect --task $T --quality control > $L/collect-$T.log 2>&1 || { t "$T collect failed"; return; }
  t "$T data fingerprint $(python3 -c "from core.data.dataset import load_offline_data as l; from core.data.fingerprint import fingerprint as f; print(f(l('$T', 'control'))['sha256'])" 2>&1 | tail -1)"
  [ -f $C ] || { t "$T: no critic at $C"; return; }
  for S in $SEEDS; do
    python3 -m core.train --task $T --dataset control --seed $S --config $CFG --stage dt --device $DEV > $L/dt-$T-s$S.log 2>&1 &
    echo $! >> "$W/pids"
  done
  for S in $SEEDS; do
    mkdir -p $QDT_RUNS/$T/control/s$S; ln -sfn ../s0/critic $QDT_RUNS/$T/control/s$S/critic
    ( while [ ! -f $QDT_RUNS/$T/control/s$S/pretrain/state.json ]; do [ -f "$W/stop" ] && exit 0; sleep 3; done
      t "$T s$S pretrain state written"
      python3 -m core.train --task $T --dataset control --seed $S --config $CFG --stage qalign --device $DEV \
        --allow-weak-critic --cfg.eta-align ${ETA[$T]} > $L/qalign-$T-s$S.log 2>&1 &
      echo $! >> "$W/pids"; wait $!
      t "$T s$S qalign done (rc $?)"
      # bonus, killed by the deadline if late: the other eta from the same state and critic, in its own folders
      [ -f "$W/stop" ] && exit 0
      A=$W/alt/runs/$T/control/s$S; mkdir -p $A $W/alt/ckpt; ln -sfn "$PWD/checkpoints/behavior" $W/alt/ckpt/behavior
      ln -sfn $W/runs/$T/control/s0/critic $A/critic; ln -sfn $W/runs/$T/control/s$S/pretrain $A/pretrain
      QDT_RUNS=$W/alt/runs QDT_CHECKPOINTS=$W/alt/ckpt python3 -m core.train --task $T --dataset control --seed $S \
        --config $CFG --stage qalign --device $DEV --allow-weak-critic --cfg.eta-align ${ALT[$T]} > $L/alt-$T-s$S.log 2>&1 &
      echo $! >> "$W/pids"; wait $!
      t "$T s$S qalign eta ${ALT[$T]} done (rc $?)" ) &
  done
  wait
  t "$T done"
}
task hopper & P1=$!
task walker2d & P2=$!
wait $P1 $P2
kill $WATCH 2>/dev/null
pack
t "end"
