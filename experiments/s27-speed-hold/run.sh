#!/bin/bash
# s27-speed-hold (RULES.md): the shipped HalfCheetah `pace` pair, speed held, schedules B and D, both seed sets.
set -e
EXP=${QDT_EXP:-/work/exp}/s27-speed-hold
T=halfcheetah
. "$(dirname "$0")/../lib.sh"
for E in 300000 100000; do
  for SCHED in "B 1.67 3.91 2.79" "D 2.33 4.65 3.49"; do
    set -- $SCHED
    N=$1; shift
    [ -f $EXP/$N-$E/report.json ] || nice -n 5 python -m core.evaluate --task $T --dataset pace --models dt,qalign \
      --targets 3000 --episodes 5 --eval-seed $E --velocity "$@" --speed-hold 0.3 --no-png --out $EXP/$N-$E \
      > $L/$N-$E.log 2>&1
  done
done
