#!/bin/bash
# s21-mixture-head (RULES.md, amendment 00:46): Y3 = a `mid` DT (tanh head), training seed 3, on Hopper `expert`
# collected with only 44,000 transitions (as many as `control` holds at returns >= 3,000), its own data root;
# read on X3's protocol (its own 10 requests, 5 episodes, both seed sets), then the lengths and the profile.
# Resumable (rerun: finished steps are skipped; the DT stage resumes from its last saved state).
# usage: experiments/s21-mixture-head/small-expert.sh S
set -e
T=hopper D=expert
EXP=${QDT_EXP:-/work/exp}/s21-mixture-head
. "$(dirname "$0")/../lib.sh"
own_runs $EXP/runs-small $EXP/ckpt-small
export MINARI_DATASETS_PATH=$EXP/datasets
S=$1
[ -d $MINARI_DATASETS_PATH/qalign/$T/$D-v0 ] || nice -n 5 python -m core.data.collect --task $T --quality $D --size 44000 > $L/collect-small.log 2>&1
[ -f $QDT_CHECKPOINTS/$T/$D/dt/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage dt > $L/dt-small-s$S.log 2>&1
eval_seed_sets Y$S $D dt $E10
python experiments/table.py $(reports Y$S)
python experiments/s20-quiet-data/lengths.py $(reports Y$S)
python experiments/s19-long-dt/speed_profile.py $QDT_CHECKPOINTS/$T/$D/dt/model-s$S $D
