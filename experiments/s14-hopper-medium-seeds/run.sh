#!/bin/bash
# Hopper-medium on session 6's recipe (`cpu` preset: GPT-2 init, DT 8,000 BC steps; SARSA critic 50k steps, seed 0,
# scored; Q-ALIGN 2,000 align steps from the DT's step-6,000 state with that critic), for training seeds 1 and 2,
# then both seed sets for each; and the stale seed-1/2 models on the same protocol. Resumable.
# usage: experiments/s14-hopper-medium-seeds/run.sh critic | pair S | stale S
set -e
T=hopper; D=medium
EXP=${QDT_EXP:-/work/exp}/hopper-medium-seeds
. "$(dirname "$0")/../lib.sh"
if [ "$1" = stale ]; then
  S=$2
  for E in 300000 100000; do
    O=$EXP/stale-s$S-eval-$E
    [ -f $O/report.json ] || nice -n 5 python -m core.evaluate --task $T --dataset $D --seed $S --models dt,qalign $E10 --eval-seed $E --out $O > $L/stale-s$S-eval-$E.log 2>&1
  done
  exit 0
fi
own_runs
R=$QDT_RUNS/$T/$D
if [ "$1" = critic ]; then
  [ -f $R/s0/critic/critic.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed 0 --stage critic --cfg.critic-steps 50000 > $L/critic.log 2>&1
  has_quality || nice -n 5 python -m core.critic_quality --task $T --dataset $D > $L/quality.log 2>&1
  exit 0
fi
S=$2
[ -f $QDT_CHECKPOINTS/$T/$D/dt/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --stage dt > $L/dt-s$S.log 2>&1
while ! has_quality; do sleep 60; done
mkdir -p $R/s$S; [ -e $R/s$S/critic ] || ln -s ../s0/critic $R/s$S/critic
[ -f $QDT_CHECKPOINTS/$T/$D/qalign/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --stage qalign --allow-weak-critic > $L/qalign-s$S.log 2>&1
for E in 300000 100000; do
  O=$EXP/s$S-eval-$E
  [ -f $O/report.json ] || nice -n 5 python -m core.evaluate --task $T --dataset $D --seed $S --models dt,qalign $E10 --eval-seed $E --out $O > $L/eval-s$S-$E.log 2>&1
done
echo done > $L/pair-s$S.done
