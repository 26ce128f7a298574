#!/bin/bash
# Medium-replay `mid` pair for one training seed with the seed-0 critic (seed 0 trains and scores the critic).
# Resumable: rerun and it skips what exists. usage: experiments/s12-hopper-mr-mid/run3.sh TASK SEED
set -e
T=$1; S=$2; D=medium-replay
EXP=${QDT_EXP:-/work/exp}/mr-mid
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
[ -n "$VIRTUAL_ENV" ] || . .venv/bin/activate
export QDT_RUNS=$EXP/runs QDT_CHECKPOINTS=$EXP/ckpt OMP_NUM_THREADS=1 MUJOCO_GL=egl
mkdir -p $QDT_CHECKPOINTS $EXP/logs; ln -sfn "$PWD/checkpoints/behavior" $QDT_CHECKPOINTS/behavior
L=$EXP/logs/$T-s$S; R=$QDT_RUNS/$T/$D
if [ "$S" = 0 ]; then
  [ -f $R/s0/critic/critic.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed 0 --config mid --stage critic > $L-critic.log 2>&1
  python -c "import json, sys; sys.exit('quality' not in json.load(open('$R/s0/critic/critic.json')))" || nice -n 5 python -m core.critic_quality --task $T --dataset $D > $L-quality.log 2>&1
  exit 0
fi
[ -f $QDT_CHECKPOINTS/$T/$D/dt/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage dt > $L-dt.log 2>&1
while ! python -c "import json, sys; sys.exit('quality' not in json.load(open('$R/s0/critic/critic.json')))" 2>/dev/null; do sleep 60; done
mkdir -p $R/s$S; [ -e $R/s$S/critic ] || ln -s ../s0/critic $R/s$S/critic
[ -f $QDT_CHECKPOINTS/$T/$D/qalign/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage qalign --allow-weak-critic > $L-qalign.log 2>&1
for E in 300000 100000; do
  O=$EXP/$T-s$S/eval-$E
  [ -f $O/report.json ] || nice -n 5 python -m core.evaluate --task $T --dataset $D --seed $S --models dt,qalign --n-targets 10 --high-factor 1.2 --episodes 5 --eval-seed $E --no-png --out $O > $L-eval-$E.log 2>&1
done
echo done > $L.done
