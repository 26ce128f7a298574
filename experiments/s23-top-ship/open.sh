#!/bin/bash
# s23-top-ship (RULES.md, amendment of 06:23): a `mid` DT on `ladder-pure --top-share 0.25 --open-bins` (collected
# into $EXP/datasets-open), read as O<S> at `control`'s requests like every other model of this experiment.
# Resumable (rerun: a finished model is not retrained; the stage resumes from its last saved state).
# usage: experiments/s23-top-ship/open.sh S
set -e
T=hopper D=ladder-pure S=$1
EXP=${QDT_EXP:-/work/exp}/s23-top-ship
. "$(dirname "$0")/../lib.sh"
own_runs $EXP/runs-open $EXP/ckpt-open
export MINARI_DATASETS_PATH=$EXP/datasets-open
[ -f $QDT_CHECKPOINTS/$T/$D/dt/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage dt > $L/dt-open-s$S.log 2>&1
read_at_control dt O$S
