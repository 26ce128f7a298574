#!/bin/bash
# s21-mixture-head (RULES.md, amendment 01:16): B3 = a `mid` DT (tanh head), training seed 3, on Hopper `control`
# collected five times larger (--size 1000000, the same plan; its own data root), read at the shown `control`
# data's 10 requests and scored on its range (as Q3 of s20), then the lengths and the profile.
# Resumable (rerun: finished steps are skipped; the DT stage resumes from its last saved state).
# usage: experiments/s21-mixture-head/big-control.sh S
set -e
T=hopper D=control
EXP=${QDT_EXP:-/work/exp}/s21-mixture-head
. "$(dirname "$0")/../lib.sh"
own_runs $EXP/runs-big $EXP/ckpt-big
export MINARI_DATASETS_PATH=$EXP/datasets-big
S=$1
[ -d $MINARI_DATASETS_PATH/qalign/$T/$D-v0 ] || nice -n 5 python -m core.data.collect --task $T --quality $D --size 1000000 > $L/collect-big.log 2>&1
[ -f $QDT_CHECKPOINTS/$T/$D/dt/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage dt > $L/dt-big-s$S.log 2>&1
read_at_control dt B$S
python experiments/s19-long-dt/speed_profile.py $QDT_CHECKPOINTS/$T/$D/dt/model-s$S
