#!/bin/bash
# s28-speed-default (RULES.md): the shipped HalfCheetah `pace` pair, speed held (gain 0.3, as the tab does by default),
# asked one constant speed for the whole episode: today's slider default (1.5 m/s) and the middle of the data's speed
# range (0.5 x its fastest speed, 4.65 m/s: 2.3). Validation seeds decide, test seeds are reported.
# usage: experiments/s28-speed-default/run.sh validation | test
set -e
EXP=${QDT_EXP:-/work/exp}/s28-speed-default
T=halfcheetah
. "$(dirname "$0")/../lib.sh"
case "$1" in validation) E=300000 ;; test) E=100000 ;; *) echo "unknown seed set $1" >&2; exit 2 ;; esac
for V in 1.5 2.3; do
  [ -f $EXP/v$V-$E/report.json ] || nice -n 5 python -m core.evaluate --task $T --dataset pace --models dt,qalign \
    --targets 3000 --episodes 5 --eval-seed $E --velocity $V --speed-hold 0.3 --no-png --out $EXP/v$V-$E \
    > $L/v$V-$E.log 2>&1
done
