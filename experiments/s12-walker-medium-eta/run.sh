#!/bin/bash
# Q-ALIGN eta_align 10 from s12-walker-medium-mid's step-12,000 state and critic, then both seed sets side by side.
set -e
EXP=${QDT_EXP:-/work/exp}
SRC=$EXP/walker-medium/runs/walker2d/medium/s0
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
[ -n "$VIRTUAL_ENV" ] || . .venv/bin/activate
export QDT_RUNS=$EXP/walker-eta/runs QDT_CHECKPOINTS=$EXP/walker-eta/ckpt OMP_NUM_THREADS=1 MUJOCO_GL=egl
R=$QDT_RUNS/walker2d/medium/s0
mkdir -p $QDT_CHECKPOINTS $R $EXP/walker-eta/logs; ln -sfn "$PWD/checkpoints/behavior" $QDT_CHECKPOINTS/behavior
[ -d $R/pretrain ] || cp -r $SRC/pretrain $R/
[ -e $R/critic ] || ln -s $SRC/critic $R/critic
[ -f $QDT_CHECKPOINTS/walker2d/medium/qalign/model.json ] || python -m core.train --task walker2d --dataset medium --config mid --stage qalign --allow-weak-critic --cfg.eta-align 10 > $EXP/walker-eta/logs/qalign.log 2>&1
for E in 300000 100000; do
  O=$EXP/walker-eta/eval-$E
  [ -f $O/report.json ] || python -m core.evaluate --task walker2d --dataset medium --models qalign --n-targets 10 --high-factor 1.2 --episodes 5 --eval-seed $E --no-png --out $O > $EXP/walker-eta/logs/eval-$E.log 2>&1 &
done
wait
