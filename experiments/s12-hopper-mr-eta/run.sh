#!/bin/bash
# Q-ALIGN with eta_align 1 from training seed 1's step-12,000 state and the seed-0 critic of s12-hopper-mr-mid
# (waits for both), then the ablation protocol on the Q-ALIGN model. usage: experiments/s12-hopper-mr-eta/run.sh
set -e
EXP=${QDT_EXP:-/work/exp}
SRC=$EXP/mr-mid/runs/hopper/medium-replay
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
[ -n "$VIRTUAL_ENV" ] || . .venv/bin/activate
export QDT_RUNS=$EXP/eta/runs QDT_CHECKPOINTS=$EXP/eta/ckpt OMP_NUM_THREADS=1 MUJOCO_GL=egl
while [ ! -f $EXP/mr-mid/ckpt/hopper/medium-replay/dt/model-s1.json ]; do sleep 30; done
while ! python -c "import json, sys; sys.exit('quality' not in json.load(open('$SRC/s0/critic/critic.json')))" 2>/dev/null; do sleep 30; done
R=$QDT_RUNS/hopper/medium-replay/s1
mkdir -p $QDT_CHECKPOINTS $R; ln -sfn "$PWD/checkpoints/behavior" $QDT_CHECKPOINTS/behavior
[ -d $R/pretrain ] || cp -r $SRC/s1/pretrain $R/
[ -e $R/critic ] || ln -s $SRC/s0/critic $R/critic
[ -f $QDT_CHECKPOINTS/hopper/medium-replay/qalign/model-s1.json ] || nice -n 5 python -m core.train --task hopper --dataset medium-replay --seed 1 --config mid --stage qalign --allow-weak-critic --cfg.eta-align 1 > $EXP/eta/qalign.log 2>&1
for E in 300000 100000; do
  O=$EXP/eta/eval-$E
  [ -f $O/report.json ] || nice -n 5 python -m core.evaluate --task hopper --dataset medium-replay --seed 1 --models qalign --n-targets 10 --high-factor 1.2 --episodes 5 --eval-seed $E --no-png --out $O > $EXP/eta/eval-$E.log 2>&1
done
echo done > $EXP/eta/done
