#!/bin/bash
# s23-top-ship (RULES.md, amendment of 07:03): a `mid` DT on `ladder-pure --top-share 0.33` (collected into
# $EXP/datasets-third), read as R<S> at `control`'s requests like every other model of this experiment.
# Resumable (rerun: the data and a finished model are kept; the stage resumes from its last saved state).
# usage: experiments/s23-top-ship/third.sh collect | S
set -e
T=hopper D=ladder-pure
EXP=${QDT_EXP:-/work/exp}/s23-top-ship
. "$(dirname "$0")/../lib.sh"
own_runs $EXP/runs-third $EXP/ckpt-third
export MINARI_DATASETS_PATH=$EXP/datasets-third
if [ "$1" = collect ]; then
  [ -f $L/collect-third.done ] || { nice -n 5 python -m core.data.collect --task $T --quality $D --top-share 0.33 > $L/collect-third.log 2>&1 && touch $L/collect-third.done; }
  exit
fi
S=$1
until [ -f $L/collect-third.done ]; do sleep 10; done
[ -f $QDT_CHECKPOINTS/$T/$D/dt/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage dt > $L/dt-third-s$S.log 2>&1
read_at_control dt R$S
