#!/bin/bash
# Q-ALIGN eta_align 10 from s13-halfcheetah-medium-mid's step-12,000 state and critic, then both seed sets. Resumable.
set -e
EXP=${QDT_EXP:-/work/exp}
SRC=$EXP/hc-medium/runs/halfcheetah/medium/s0
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
[ -n "$VIRTUAL_ENV" ] || . .venv/bin/activate
export QDT_RUNS=$EXP/hc-eta/runs QDT_CHECKPOINTS=$EXP/hc-eta/ckpt OMP_NUM_THREADS=1 MUJOCO_GL=egl
R=$QDT_RUNS/halfcheetah/medium/s0
mkdir -p $QDT_CHECKPOINTS $R $EXP/hc-eta/logs; ln -sfn "$PWD/checkpoints/behavior" $QDT_CHECKPOINTS/behavior
[ -d $R/pretrain ] || cp -r $SRC/pretrain $R/
[ -e $R/critic ] || ln -s $SRC/critic $R/critic
[ -f $QDT_CHECKPOINTS/halfcheetah/medium/qalign/model.json ] || nice -n 5 python -m core.train --task halfcheetah --dataset medium --config mid --stage qalign --allow-weak-critic --cfg.eta-align 10 > $EXP/hc-eta/logs/qalign.log 2>&1
for E in 300000 100000; do
  O=$EXP/hc-eta/eval-$E
  [ -f $O/report.json ] || nice -n 5 python -m core.evaluate --task halfcheetah --dataset medium --models qalign --n-targets 10 --high-factor 1.2 --episodes 5 --eval-seed $E --no-png --out $O > $EXP/hc-eta/logs/eval-$E.log 2>&1
done
echo done > $EXP/hc-eta/done
