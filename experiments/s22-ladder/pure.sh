#!/bin/bash
# s22-ladder (RULES.md, amendment 03:02): P3 / P4 = session 15's `mid` DT recipe on Hopper `ladder-pure` (collected
# first if missing; the session's own collection ran by hand into logs/collect-pure.log), read as L3 / L4 of run.sh.
# Resumable (rerun: finished steps are skipped; the DT stage resumes from its last saved state).
# usage: experiments/s22-ladder/pure.sh S
set -e
T=hopper D=ladder-pure
EXP=${QDT_EXP:-/work/exp}/s22-ladder
. "$(dirname "$0")/../lib.sh"
own_runs
S=$1
until grep -q '"id"' $L/collect-pure.log 2>/dev/null || [ -d ${MINARI_DATASETS_PATH:-data/datasets}/qalign/$T/$D-v0 ]; do
  pgrep -f "quality $D" > /dev/null || nice -n 5 python -m core.data.collect --task $T --quality $D > $L/collect-pure.log 2>&1
  sleep 20
done
[ -f $QDT_CHECKPOINTS/$T/$D/dt/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage dt > $L/dt-pure-s$S.log 2>&1
read_at_control dt P$S
python experiments/s19-long-dt/speed_profile.py $QDT_CHECKPOINTS/$T/$D/dt/model-s$S $D
