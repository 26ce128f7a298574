#!/bin/bash
# s22-ladder (RULES.md): collect Hopper `ladder` (control's bins, one source each; shared by both seeds, so only one
# instance collects: the other waits for the summary), then L3 / L4 = session 15's `mid` DT recipe on it, read at
# the shown `control` data's 10 requests, scored on its range, then the lengths and the speed profile.
# Resumable (rerun: finished steps are skipped; the DT stage resumes from its last saved state).
# usage: experiments/s22-ladder/run.sh collect | dt S
set -e
T=hopper D=ladder
EXP=${QDT_EXP:-/work/exp}/s22-ladder
. "$(dirname "$0")/../lib.sh"
own_runs
case "$1" in
collect)
  [ -f $L/collect.done ] || { nice -n 5 python -m core.data.collect --task $T --quality $D > $L/collect.log 2>&1 && touch $L/collect.done; }
  ;;
dt)
  S=$2
  until [ -f $L/collect.done ]; do sleep 20; done
  [ -f $QDT_CHECKPOINTS/$T/$D/dt/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage dt > $L/dt-s$S.log 2>&1
  read_at_control dt L$S
  python experiments/s19-long-dt/speed_profile.py $QDT_CHECKPOINTS/$T/$D/dt/model-s$S $D
  ;;
*) echo "unknown step $1" >&2; exit 2 ;;
esac
