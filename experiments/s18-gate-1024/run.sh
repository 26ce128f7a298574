#!/bin/bash
# s18-gate-1024 (RULES.md): B4 = session 17's B3 recipe with training seed 1, scored by the gate at 1,024 states;
# C4 = Q-ALIGN DT with B4, only if B4 passes. Resumable (rerun: finished steps are skipped).
# usage: [ARM=B5 CS=2] experiments/s18-gate-1024/run.sh critic   (SARSA 50k, seed CS (default 1), then logistic
#                                                                  pairs to 70k, then the gate)
#        experiments/s18-gate-1024/run.sh rescore     (B0-B3 of sessions 16-17 scored by the new gate: reported only)
#        experiments/s18-gate-1024/run.sh qalign S    (seed S's Q-ALIGN DT with B4, then both seed sets; S 4 or 3)
set -e
T=hopper D=control
EXP=${QDT_EXP:-/work/exp}/s18-gate-1024
S16=${QDT_EXP:-/work/exp}/s16-branch-critic
S17=${QDT_EXP:-/work/exp}/s17-pair-learnability
. "$(dirname "$0")/../lib.sh"
ARM=${ARM:-B4} CS=${CS:-1}
SUF=$([ $ARM = B4 ] || echo "-$ARM")  # B4's logs keep their first names
own_runs $EXP/$ARM $EXP/$ARM/ckpt
R=$QDT_RUNS/$T/$D
mkdir -p $R
[ -e $R/branches ] || ln -s $S16/B1/$T/$D/branches $R/branches  # session 16's 16,249 pairs
PAIRS="--cfg.critic-pair-weight 50 --cfg.critic-pair-loss logistic --cfg.critic-pair-batch 64"
ACTOR=$S15/ckpt/$T/$D/dt/model-s4
case "$1" in
critic)
  if [ ! -f $L/critic-sarsa$SUF.done ]; then  # the SARSA critic, seed CS, 50k steps (resumes if stopped)
    nice -n 5 python -m core.train --task $T --dataset $D --seed $CS --config mid --stage critic > $L/critic-sarsa$SUF.log 2>&1
    mkdir -p $EXP/$ARM-sarsa; cp $R/s$CS/critic/critic.* $EXP/$ARM-sarsa/  # kept; the finished critic's files mark a done stage
    rm -f $R/s$CS/critic/critic.*; touch $L/critic-sarsa$SUF.done
  fi
  [ -f $R/s$CS/critic/critic.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $CS --config mid --stage critic --cfg.critic-steps 70000 $PAIRS > $L/critic-pairs$SUF.log 2>&1
  has_quality $CS || nice -n 5 python -m core.critic_quality --task $T --dataset $D --seed $CS --actor $ACTOR > $L/quality-$ARM.log 2>&1
  ;;
rescore)  # copies of session 17's critics, so their own JSONs keep the scores they were given then
  for arm in B2 B3; do
    c=$EXP/rescore/$arm/$T/$D/s0/critic
    if [ ! -d $c ]; then  # the copy without its old scores
      mkdir -p $c; cp $S17/$arm/$T/$D/s0/critic/critic.safetensors $c/
      python -c "import json; d = json.load(open('$S17/$arm/$T/$D/s0/critic/critic.json')); d.pop('quality'); json.dump(d, open('$c/critic.json', 'w'), indent=1)"
    fi
    R=$EXP/rescore/$arm/$T/$D has_quality || QDT_RUNS=$EXP/rescore/$arm nice -n 5 python -m core.critic_quality --task $T --dataset $D --seed 0 --actor $ACTOR > $L/quality-rescore-$arm.log 2>&1
  done
  ;;
qalign)
  CRITIC_SEED=$CS qalign_from_s15 $2 ${ARM/B/C}-s$2 $PAIRS
  ;;
*) echo "unknown step $1" >&2; exit 2 ;;
esac
