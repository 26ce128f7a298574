#!/bin/bash
# s23-top-ship question 20: ship the chosen seed's pair (DT and Q-ALIGN DT, the critic beside it) as Hopper's
# `ladder-pure` pair in the repository's checkpoints, then its dashboard sweep and calibration (the commands every
# shipped pair was given: core.evaluate --ship, core.calibrate --ship).
# usage: experiments/s23-top-ship/ship.sh S
set -e
T=hopper D=ladder-pure S=$1
EXP=${QDT_EXP:-/work/exp}/s23-top-ship
. "$(dirname "$0")/../lib.sh"
SRC=${QDT_EXP:-/work/exp}/s22-ladder/ckpt-q/$T/$D
DST=checkpoints/$T/$D
mkdir -p $DST/dt $DST/qalign
for f in json safetensors; do
  cp $SRC/dt/model-s$S.$f $DST/dt/model.$f
  cp $SRC/qalign/model-s$S.$f $DST/qalign/model.$f
  cp $SRC/qalign/critic-s$S.$f $DST/qalign/critic.$f
done
export QDT_CHECKPOINTS=$PWD/checkpoints MINARI_DATASETS_PATH=${QDT_EXP:-/work/exp}/s22-ladder/datasets-q
python -m core.evaluate --task $T --dataset $D --models dt,qalign --ship --out $EXP/ship-eval > $L/ship-eval.log 2>&1
python -m core.calibrate --task $T --dataset $D --ship > $L/ship-calibrate.log 2>&1
tail -n 5 $L/ship-eval.log $L/ship-calibrate.log
