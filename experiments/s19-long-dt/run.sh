#!/bin/bash
# s19-long-dt (RULES.md): L3 = a `long`-budget Hopper `control` DT, training seed 3, then both seed sets.
# Resumable (rerun: finished steps are skipped; the DT stage resumes from its last saved state).
# usage: experiments/s19-long-dt/run.sh dt S    (train, then evaluate; S = 3 for L3)
#        experiments/s19-long-dt/run.sh even S  (E: a `mid` DT on Hopper `even`, evaluated at `control`'s requests)
set -e
T=hopper D=control
EXP=${QDT_EXP:-/work/exp}/s19-long-dt
. "$(dirname "$0")/../lib.sh"
own_runs
S=$2
case "$1" in
dt)
  [ -f $QDT_CHECKPOINTS/$T/$D/dt/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config long --stage dt > $L/dt-s$S.log 2>&1
  eval_seed_sets L$S $D dt $E10
  ;;
even)
  [ -f $QDT_CHECKPOINTS/$T/even/dt/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset even --seed $S --config mid --stage dt > $L/dt-even-s$S.log 2>&1
  # control's protocol: its 10 default requests (p5 .. 1.2x best of control's data), scored by rescore.py on its range
  STATS=checkpoints/$T/$D/dt/model.json
  eval_seed_sets E$S even dt --targets $(default_targets $STATS) --episodes 5 --no-png
  python experiments/s19-long-dt/rescore.py $(reports E$S) --stats $STATS
  ;;
*) echo "unknown step $1" >&2; exit 2 ;;
esac
