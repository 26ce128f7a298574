#!/bin/bash
# Q-ALIGN eta_align 10 from s12-walker-medium-mid's step-12,000 state and critic, then both seed sets side by side.
# usage: experiments/s12-walker-medium-eta/run.sh [TASK FROM OUT]   (default walker2d walker-medium walker-eta: the
# medium pair's run folder under $QDT_EXP to start from, and this run's; session 13 ran halfcheetah hc-medium hc-eta)
set -e
T=${1:-walker2d}; FROM=${2:-walker-medium}; OUT=${3:-walker-eta}
EXP=${QDT_EXP:-/work/exp}
SRC=$EXP/$FROM/runs/$T/medium/s0
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
[ -n "$VIRTUAL_ENV" ] || . .venv/bin/activate
export QDT_RUNS=$EXP/$OUT/runs QDT_CHECKPOINTS=$EXP/$OUT/ckpt OMP_NUM_THREADS=1 MUJOCO_GL=egl
R=$QDT_RUNS/$T/medium/s0
mkdir -p $QDT_CHECKPOINTS $R $EXP/$OUT/logs; ln -sfn "$PWD/checkpoints/behavior" $QDT_CHECKPOINTS/behavior
[ -d $R/pretrain ] || cp -r $SRC/pretrain $R/
[ -e $R/critic ] || ln -s $SRC/critic $R/critic
[ -f $QDT_CHECKPOINTS/$T/medium/qalign/model.json ] || python -m core.train --task $T --dataset medium --config mid --stage qalign --allow-weak-critic --cfg.eta-align 10 > $EXP/$OUT/logs/qalign.log 2>&1
for E in 300000 100000; do
  O=$EXP/$OUT/eval-$E
  [ -f $O/report.json ] || python -m core.evaluate --task $T --dataset medium --models qalign --n-targets 10 --high-factor 1.2 --episodes 5 --eval-seed $E --no-png --out $O > $EXP/$OUT/logs/eval-$E.log 2>&1 &
done
wait
