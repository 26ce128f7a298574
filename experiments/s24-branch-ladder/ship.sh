#!/bin/bash
# s24-branch-ladder question 29: KQ5 (Q-ALIGN DT with the gate-passing critic K0, its critic beside it) replaces the
# shipped Hopper `ladder-pure` Q-ALIGN DT; the DT (H5) stays. Then the pair's dashboard sweep and calibration (the
# commands every shipped pair was given: core.evaluate --ship, core.calibrate --ship).
# usage: experiments/s24-branch-ladder/ship.sh
set -e
T=hopper D=ladder-pure S=5
EXP=${QDT_EXP:-/work/exp}/s24-branch-ladder
. "$(dirname "$0")/../lib.sh"
SRC=$EXP/ckpt/$T/$D/qalign
DST=checkpoints/$T/$D/qalign
for f in json safetensors; do
  cp $SRC/model-s$S.$f $DST/model.$f
  cp $SRC/critic-s$S.$f $DST/critic.$f
done
export QDT_CHECKPOINTS=$PWD/checkpoints MINARI_DATASETS_PATH=${QDT_EXP:-/work/exp}/s22-ladder/datasets-q
nice -n 5 python -m core.evaluate --task $T --dataset $D --models dt,qalign --ship --out $EXP/ship-eval > $L/ship-eval.log 2>&1
nice -n 5 python -m core.calibrate --task $T --dataset $D --ship > $L/ship-calibrate.log 2>&1
tail -n 5 $L/ship-eval.log $L/ship-calibrate.log
