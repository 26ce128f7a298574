#!/bin/bash
# s17-pair-learnability (RULES.md, amendment): the logistic pair critic B2 and Q-ALIGN DT with it (C2). Resumable.
# usage: [ARM=B3 W=50] experiments/s17-pair-learnability/run.sh critic      (session 15's seed-0 critic continued to 70k with logistic pairs, then scored)
#        experiments/s17-pair-learnability/run.sh qalign S    (seed S's Q-ALIGN DT with B2, pairs kept, then both seed sets; S 4 or 3)
set -e
T=hopper D=control
EXP=${QDT_EXP:-/work/exp}/s17-pair-learnability
S15=${QDT_EXP:-/work/exp}/s15-control-seeds
S16=${QDT_EXP:-/work/exp}/s16-branch-critic
. "$(dirname "$0")/../lib.sh"
ARM=${ARM:-B2}
export QDT_RUNS=$EXP/$ARM QDT_CHECKPOINTS=$EXP/$ARM/ckpt
mkdir -p $QDT_CHECKPOINTS $QDT_RUNS/$T/$D; ln -sfn "$PWD/checkpoints/behavior" $QDT_CHECKPOINTS/behavior
R=$QDT_RUNS/$T/$D
[ -e $R/branches ] || ln -s $S16/B1/$T/$D/branches $R/branches  # session 16's 16,249 pairs
PAIRS="--cfg.critic-pair-weight ${W:-10} --cfg.critic-pair-loss logistic --cfg.critic-pair-batch 64"
if [ "$1" = critic ]; then
  if [ ! -d $R/s0/critic ]; then
    mkdir -p $R/s0; cp -r $S15/runs/$T/$D/s0/critic $R/s0/critic; rm -f $R/s0/critic/critic.*
  fi
  [ -f $R/s0/critic/critic.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed 0 --config mid --stage critic --cfg.critic-steps 70000 $PAIRS > $L/critic-$ARM.log 2>&1
  has_quality || nice -n 5 python -m core.critic_quality --task $T --dataset $D --actor $S15/ckpt/$T/$D/dt/model-s4 > $L/quality-$ARM.log 2>&1
  exit 0
fi
if [ "$1" = qalign ]; then
  S=$2
  mkdir -p $R/s$S; [ -e $R/s$S/critic ] || ln -s ../s0/critic $R/s$S/critic
  [ -d $R/s$S/pretrain ] || cp -r $S15/runs/$T/$D/s$S/pretrain $R/s$S/pretrain
  WEAK=$(python -c "import json; print('' if json.load(open('$R/s0/critic/critic.json'))['quality']['passed'] else '--allow-weak-critic')")
  [ -f $QDT_CHECKPOINTS/$T/$D/qalign/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage qalign $WEAK --cfg.eta-align 1 $PAIRS > $L/qalign-${ARM/B/C}-s$S.log 2>&1
  for E in 300000 100000; do
    O=$EXP/${ARM/B/C}-s$S-eval-$E
    [ -f $O/report.json ] || nice -n 5 python -m core.evaluate --task $T --dataset $D --seed $S --models qalign $E10 --eval-seed $E --out $O > $L/eval-${ARM/B/C}-s$S-$E.log 2>&1
  done
  exit 0
fi
echo "unknown step $1" >&2; exit 2
