#!/bin/bash
# The device arm of s22-ladder (RULES.md, amendment of 02:46; one call on a GPU machine, from the repository root,
# wheels in .whl/): rebuild Hopper and Walker2d `ladder`, train a seed-0 `mid` SARSA critic and DT seeds 5-7 on
# Hopper, DT seeds 3-5 on Walker2d, then Hopper Q-ALIGN DT per seed from its DT's step-12,000 state once the critic
# is done; pack models, critic, pretrain states and logs into $OUT before the deadline (s15's gpu.sh pattern; the
# states in three archives since session 22 lost its one 24 MB archive to the 16 MiB a returned file may hold).
# usage: bash experiments/s22-ladder/gpu.sh [CONFIG DEVICE DEADLINE_S]   (defaults: mid cuda 480; S22_SIZE: data size)
CFG=${1:-mid}; DEV=${2:-cuda}; DEADLINE=${3:-480}
OUT=${OUT:-/tmp/s22-out} W=${S22_WORK:-$PWD/.s22} D=ladder
. "$(dirname "$0")/../gpu-lib.sh"
SIZE=${S22_SIZE:+--size $S22_SIZE}
pack() {  # what $OUT holds when the call ends is what comes back: pack once, from the watchdog or the end
  mkdir "$W/packed" 2>/dev/null || return 0
  t "packing"
  for f in $L/*.log; do echo "$(basename $f): $(tail -c 300 $f | tr '\r' '\n' | grep -av '^$' | tail -1)"; done
  (cd "$W" && tar czf "$OUT/models.tgz" ckpt/hopper ckpt/walker2d 2>/dev/null)
  (cd "$W" && tar czf "$OUT/critic.tgz" runs/*/$D/s0/critic 2>/dev/null)  # a returned file holds at most 16 MiB:
  for T in hopper walker2d; do (cd "$W" && tar czf "$OUT/pretrain-$T.tgz" runs/$T/$D/s[1-9]*/pretrain 2>/dev/null); done
  (cd "$W" && tar czf "$OUT/logs.tgz" logs runs/*/$D/s*/*/metrics.jsonl 2>/dev/null)
  ls -la "$OUT"
}
watch pack
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
nvidia-smi --query-gpu=name,memory.used --format=csv,noheader 2>/dev/null
data() {  # T: rebuild the task's ladder and print its fingerprint
  if [ ! -d $MINARI_DATASETS_PATH/qalign/$1/$D-v0 ]; then
    python3 -m core.data.collect --task $1 --quality $D $SIZE > $L/collect-$1.log 2>&1 &
    echo $! >> "$W/pids"
    wait $! && [ ! -f "$W/stop" ] || { t "$1 collect failed or stopped"; return 1; }
  fi
  t "$1 data fingerprint $(python3 -c "from core.data.dataset import load_offline_data as l; from core.data.fingerprint import fingerprint as f; print(f(l('$1', '$D'))['sha256'])" 2>&1 | tail -1)"
}
hopper() {
  local T=hopper C=$W/runs/hopper/$D/s0/critic/critic.json
  data $T || return
  bg critic-$T --task $T --seed 0 --stage critic
  for S in 5 6 7; do bg dt-$T-s$S --task $T --seed $S --stage dt; done
  for S in 5 6 7; do
    mkdir -p $QDT_RUNS/$T/$D/s$S; ln -sfn ../s0/critic $QDT_RUNS/$T/$D/s$S/critic
    ( while [ ! -f $QDT_RUNS/$T/$D/s$S/pretrain/state.json ] || [ ! -f $C ]; do [ -f "$W/stop" ] && exit 0; sleep 3; done
      t "$T s$S pretrain state and critic ready"
      bg qalign-$T-s$S --task $T --seed $S --stage qalign --allow-weak-critic --cfg.eta-align 1 || exit 0
      wait $!
      t "$T s$S qalign done (rc $?)" ) &
  done
  wait
  t "$T done"
}
walker() {
  local T=walker2d
  data $T || return
  for S in 3 4 5; do bg dt-$T-s$S --task $T --seed $S --stage dt; done
  wait
  t "$T done"
}
hopper & P1=$!
walker & P2=$!
wait $P1 $P2
finish pack
