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
OUT=${OUT:-/tmp/s23-out} W=${S23_WORK:-$PWD/.s23/work} T=hopper D=${S23_DATASET:-ladder-pure}
. "$(dirname "$0")/../gpu-lib.sh"
PACK=${S23_PACK:-.s23/hopper-ladder-pure-q.npz}
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
watch pack
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
nvidia-smi --query-gpu=name,memory.used --format=csv,noheader 2>/dev/null
if python3 experiments/s23-top-ship/datapack.py unpack $PACK > $L/unpack.log 2>&1; then
  t "data: $(tail -1 $L/unpack.log)"
  [ "${S23_CRITIC:-1}" = 0 ] || bg critic --task $T --seed 0 --stage critic
  for S in ${S23_SEEDS:-5 6 7}; do bg dt-s$S --task $T --seed $S --stage dt; done
  wait $(cat "$W/pids")
else
  t "the replayed data does not match: $(tail -1 $L/unpack.log)"
fi
finish pack
