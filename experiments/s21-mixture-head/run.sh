#!/bin/bash
# s21-mixture-head (RULES.md): G3 = session 15's `mid` Hopper `control` DT recipe, training seed 3, with the
# mixture action head (--cfg.dt.action-head mixture, 5 modes), read on both seed sets, then the diagnostics.
# Resumable (rerun: finished steps are skipped; the DT stage resumes from its last saved state).
# usage: experiments/s21-mixture-head/run.sh dt S
set -e
T=hopper D=control
EXP=${QDT_EXP:-/work/exp}/s21-mixture-head
. "$(dirname "$0")/../lib.sh"
own_runs
S=$2
M=$QDT_CHECKPOINTS/$T/$D/dt/model-s$S
case "$1" in
dt)
  [ -f $M.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage dt --cfg.dt.action-head mixture > $L/dt-s$S.log 2>&1
  eval_seed_sets G$S $D dt $E10
  python experiments/table.py $(reports G$S)
  python experiments/s20-quiet-data/lengths.py $(reports G$S)
  python experiments/s19-long-dt/speed_profile.py $M
  python experiments/s21-mixture-head/modes.py $M
  ;;
*) echo "unknown step $1" >&2; exit 2 ;;
esac
