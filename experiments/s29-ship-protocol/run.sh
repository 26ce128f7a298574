#!/bin/bash
# s29-ship-protocol (RULES.md): re-sweep and recalibrate every shipped pair on the alignment protocol, in place in
# the checkout's checkpoints/ (or $QDT_CHECKPOINTS). Resumable: each step is skipped once its output is in $EXP
# (delete $EXP/T-D-* to redo a pair, e.g. after a new pair ships).
# usage: experiments/s29-ship-protocol/run.sh [T/D ...]   (default: every shipped pair)
set -e
X=${QDT_EXP:-/work/exp}
EXP=$X/s29-ship-protocol L=$X/s29-ship-protocol/logs
mkdir -p $L
CK=${QDT_CHECKPOINTS:-$PWD/checkpoints}
pairs=${*:-$(cd $CK && ls -d */*/sweep.json | xargs -n1 dirname)}
for p in $pairs; do
  T=${p%/*} D=${p#*/} tag=${p/\//-}
  for f in $CK/$p/sweep*.json; do
    n=$(basename $f .json); S=${n#sweep}; S=${S#-s}; S=${S:-0}
    [ -f $EXP/$tag-s$S/report.json ] || nice -n 5 python -m core.evaluate --task $T --dataset $D --seed $S --models dt,qalign --ship --no-png --out $EXP/$tag-s$S > $L/eval-$tag-s$S.log 2>&1
  done
  [ -f $EXP/$tag-cal/calibration.json ] || nice -n 5 python -m core.calibrate --task $T --dataset $D --ship --out $EXP/$tag-cal > $L/cal-$tag.log 2>&1
  echo "$(date -u +%H:%M) $p done"
done
