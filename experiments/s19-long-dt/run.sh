#!/bin/bash
# s19-long-dt (RULES.md): L3 = a `long`-budget Hopper `control` DT, training seed 3, then both seed sets.
# Resumable (rerun: finished steps are skipped; the DT stage resumes from its last saved state).
# usage: experiments/s19-long-dt/run.sh dt S    (train, then evaluate; S = 3 for L3)
set -e
T=hopper D=control
EXP=${QDT_EXP:-/work/exp}/s19-long-dt
. "$(dirname "$0")/../lib.sh"
own_runs
S=$2
case "$1" in
dt)
  [ -f $QDT_CHECKPOINTS/$T/$D/dt/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config long --stage dt > $L/dt-s$S.log 2>&1
  for E in 300000 100000; do
    O=$EXP/L$S-eval-$E
    [ -f $O/report.json ] || nice -n 5 python -m core.evaluate --task $T --dataset $D --seed $S --models dt $E10 --eval-seed $E --out $O > $L/eval-L$S-$E.log 2>&1
  done
  ;;
*) echo "unknown step $1" >&2; exit 2 ;;
esac
