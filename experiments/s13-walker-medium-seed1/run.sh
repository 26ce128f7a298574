#!/bin/bash
# Walker2d-medium `mid` DT, training seed 1, then Q-ALIGN (eta_align 10) with the seed-0 critic, then both seed sets.
# Resumable. usage: experiments/s13-walker-medium-seed1/run.sh   (needs s12-walker-medium-mid's run folder)
set -e
T=walker2d; D=medium; S=1
EXP=${QDT_EXP:-/work/exp}/walker-medium
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
[ -n "$VIRTUAL_ENV" ] || . .venv/bin/activate
export QDT_RUNS=$EXP/runs QDT_CHECKPOINTS=$EXP/ckpt OMP_NUM_THREADS=1 MUJOCO_GL=egl
R=$QDT_RUNS/$T/$D; L=$EXP/logs/s$S
python -c "import json, sys; sys.exit('quality' not in json.load(open('$R/s0/critic/critic.json')))"
[ -f $QDT_CHECKPOINTS/$T/$D/dt/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage dt > $L-dt.log 2>&1
mkdir -p $R/s$S; [ -e $R/s$S/critic ] || ln -s ../s0/critic $R/s$S/critic
[ -f $QDT_CHECKPOINTS/$T/$D/qalign/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage qalign --allow-weak-critic --cfg.eta-align 10 > $L-qalign.log 2>&1
for E in 300000 100000; do
  O=$EXP/s$S-eval-$E
  [ -f $O/report.json ] || nice -n 5 python -m core.evaluate --task $T --dataset $D --seed $S --models dt,qalign --n-targets 10 --high-factor 1.2 --episodes 5 --eval-seed $E --no-png --out $O > $L-eval-$E.log 2>&1
done
echo done > $L.done
