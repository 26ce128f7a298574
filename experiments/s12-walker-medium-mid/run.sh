#!/bin/bash
# Walker2d-medium `mid` pair, seed 0, and the stale shipped pair on the same protocol. Resumable.
# usage: experiments/s12-walker-medium-mid/run.sh [TASK [OUT]]   (default walker2d walker-medium; needs TASK's rebuilt
# medium data; session 13 ran it as `halfcheetah hc-medium`)
set -e
T=${1:-walker2d}; D=medium
EXP=${QDT_EXP:-/work/exp}/${2:-walker-medium}
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
[ -n "$VIRTUAL_ENV" ] || . .venv/bin/activate
REPO=$PWD
export QDT_RUNS=$EXP/runs QDT_CHECKPOINTS=$EXP/ckpt OMP_NUM_THREADS=1 MUJOCO_GL=egl
mkdir -p $QDT_CHECKPOINTS $EXP/logs; ln -sfn "$REPO/checkpoints/behavior" $QDT_CHECKPOINTS/behavior
R=$QDT_RUNS/$T/$D/s0; L=$EXP/logs
train() { [ -f $QDT_CHECKPOINTS/$T/$D/$1/model.json ] || nice -n 5 python -m core.train --task $T --dataset $D --config mid "${@:2}" > $L/$1.log 2>&1; }
( [ -f $R/critic/critic.json ] || nice -n 5 python -m core.train --task $T --dataset $D --config mid --stage critic > $L/critic.log 2>&1
  python -c "import json, sys; sys.exit('quality' not in json.load(open('$R/critic/critic.json')))" || nice -n 5 python -m core.critic_quality --task $T --dataset $D > $L/quality.log 2>&1 ) &
train dt --stage dt
wait
train qalign --stage qalign --allow-weak-critic
for E in 300000 100000; do
  O=$EXP/eval-$E
  [ -f $O/report.json ] || nice -n 5 python -m core.evaluate --task $T --dataset $D --models dt,qalign --n-targets 10 --high-factor 1.2 --episodes 5 --eval-seed $E --no-png --out $O > $L/eval-$E.log 2>&1
  O=$EXP/stale-$E
  [ -f $O/report.json ] || QDT_CHECKPOINTS=$REPO/checkpoints nice -n 5 python -m core.evaluate --task $T --dataset $D --models dt,qalign --n-targets 10 --high-factor 1.2 --episodes 5 --eval-seed $E --no-png --out $O > $L/stale-$E.log 2>&1
done
echo done > $EXP/done
