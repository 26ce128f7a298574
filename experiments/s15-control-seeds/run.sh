#!/bin/bash
# The CPU half of s15-control-seeds. Resumable.
# usage: experiments/s15-control-seeds/run.sh critic T   (the seed-0 SARSA critic, `mid`, then its gate score)
#        experiments/s15-control-seeds/run.sh pair T S   (DT and Q-ALIGN DT of seed S on this CPU, then both seed sets)
#        experiments/s15-control-seeds/run.sh eval T S E (one pair on the ablation protocol, evaluation seeds E+)
#        experiments/s15-control-seeds/run.sh shown T E  (the shown pair on the same protocol)
set -e
D=control
EXP=${QDT_EXP:-/work/exp}/s15-control-seeds
. "$(dirname "$0")/recipe.sh"
. "$(dirname "$0")/../lib.sh"
T=$2
if [ "$1" = shown ]; then
  O=$EXP/shown-$T-eval-$3
  [ -f $O/report.json ] || nice -n 5 python -m core.evaluate --task $T --dataset $D --models dt,qalign $E10 --eval-seed $3 --out $O > $L/shown-$T-eval-$3.log 2>&1
  exit 0
fi
own_runs
R=$QDT_RUNS/$T/$D
if [ "$1" = critic ]; then
  [ -f $R/s0/critic/critic.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed 0 --config mid --stage critic > $L/critic-$T.log 2>&1
  has_quality || nice -n 5 python -m core.critic_quality --task $T --dataset $D > $L/quality-$T.log 2>&1
  exit 0
fi
S=$3; E=$4
if [ "$1" = pair ]; then
  [ -f $QDT_CHECKPOINTS/$T/$D/dt/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage dt > $L/dt-$T-s$S.log 2>&1
  mkdir -p $R/s$S; [ -e $R/s$S/critic ] || ln -s ../s0/critic $R/s$S/critic
  [ -f $QDT_CHECKPOINTS/$T/$D/qalign/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage qalign --allow-weak-critic --cfg.eta-align ${ETA[$T]} > $L/qalign-$T-s$S.log 2>&1
  for E in 300000 100000; do "$0" eval $T $S $E; done
  exit 0
fi
O=$EXP/$T-s$S-eval-$E
[ -f $O/report.json ] || nice -n 5 python -m core.evaluate --task $T --dataset $D --seed $S --models dt,qalign $E10 --eval-seed $E --out $O > $L/eval-$T-s$S-$E.log 2>&1
