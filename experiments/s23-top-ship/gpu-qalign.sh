#!/bin/bash
# A second device call of s23-top-ship (RULES.md, amendment of 05:30): Q-ALIGN DT HQ3 / HQ4 from H3 / H4's step-12,000
# states with the device's seed-0 critic, scored here by the gate first (its JSON carries the verdict, so the stage
# takes --allow-weak-critic only if it failed). Carried in .s23/carry/: critic/critic.{json,safetensors} and
# s3/pretrain, s4/pretrain (from /work/exp/s22-ladder/runs-q); the data as in gpu.sh. Packs models and logs.
# usage: bash experiments/s23-top-ship/gpu-qalign.sh [CONFIG DEVICE DEADLINE_S]   (defaults: mid cuda 300)
CFG=${1:-mid}; DEV=${2:-cuda}; DEADLINE=${3:-300}
OUT=${OUT:-/tmp/s23-out} W=${S23_WORK:-$PWD/.s23/work} T=hopper D=ladder-pure
. "$(dirname "$0")/../gpu-lib.sh"
R=$W/runs/hopper/ladder-pure C=.s23/carry
pack() {
  mkdir "$W/packed" 2>/dev/null || return 0
  t "packing"
  for f in $L/*.log; do echo "$(basename $f): $(tail -c 300 $f | tr '\r' '\n' | grep -av '^$' | tail -1)"; done
  (cd "$W" && tar czf "$OUT/qalign.tgz" ckpt/$T logs runs/$T/$D/s*/qalign/metrics.jsonl 2>/dev/null)
  ls -la "$OUT"
}
watch pack
mkdir -p $R/s0; cp -r $C/critic $R/s0/critic
weak=$(python3 -c "import json; q = json.load(open('$R/s0/critic/critic.json'))['quality']; print('' if q['passed'] else '--allow-weak-critic')") || exit 1
t "critic gate: ${weak:-passed}"
if python3 experiments/s23-top-ship/datapack.py unpack .s23/hopper-ladder-pure-q.npz > $L/unpack.log 2>&1; then
  t "data: $(tail -1 $L/unpack.log)"
  for S in 3 4; do
    cp -r $C/s$S $R/s$S; ln -sfn ../s0/critic $R/s$S/critic
    bg qalign-s$S --task $T --seed $S --stage qalign $weak --cfg.eta-align 1
  done
  wait $(cat "$W/pids")
else
  t "the replayed data does not match: $(tail -1 $L/unpack.log)"
fi
finish pack
