#!/bin/bash
# HalfCheetah medium-replay `mid` pair, training seed 2, rebuilt (session 11's runs were lost with the disk):
# the seed-0 SARSA critic (50k steps, scored), then DT seed 2 and Q-ALIGN DT seed 2 with that critic, then both seed
# sets; and the shown (stale) pair on the same protocol, for the ship rule. Resumable.
# usage: experiments/s14-halfcheetah-mr-ship/run.sh critic|pair|stale   (critic and pair may run side by side)
set -e
T=halfcheetah; D=medium-replay; S=2
EXP=${QDT_EXP:-/work/exp}/hc-mr-ship
. "$(dirname "$0")/../lib.sh"
if [ "$1" = stale ]; then
  for E in 300000 100000; do
    O=$EXP/stale-eval-$E
    [ -f $O/report.json ] || nice -n 5 python -m core.evaluate --task $T --dataset $D --models dt,qalign $E10 --eval-seed $E --out $O > $L/stale-eval-$E.log 2>&1
  done
  exit 0
fi
own_runs
R=$QDT_RUNS/$T/$D
if [ "$1" = critic ]; then
  [ -f $R/s0/critic/critic.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed 0 --config mid --stage critic > $L/critic.log 2>&1
  has_quality || nice -n 5 python -m core.critic_quality --task $T --dataset $D > $L/quality.log 2>&1
  exit 0
fi
[ -f $QDT_CHECKPOINTS/$T/$D/dt/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage dt > $L/dt.log 2>&1
while ! has_quality; do sleep 60; done
mkdir -p $R/s$S; [ -e $R/s$S/critic ] || ln -s ../s0/critic $R/s$S/critic
[ -f $QDT_CHECKPOINTS/$T/$D/qalign/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage qalign --allow-weak-critic > $L/qalign.log 2>&1
for E in 300000 100000; do
  O=$EXP/s$S-eval-$E
  [ -f $O/report.json ] || nice -n 5 python -m core.evaluate --task $T --dataset $D --seed $S --models dt,qalign $E10 --eval-seed $E --out $O > $L/eval-$E.log 2>&1
done
echo done > $L/pair.done
