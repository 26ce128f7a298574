#!/bin/bash
# s17-pair-learnability (RULES.md, amendment): the logistic pair critic B2 and Q-ALIGN DT with it (C2). Resumable.
# usage: [ARM=B3 W=50] experiments/s17-pair-learnability/run.sh critic      (session 15's seed-0 critic continued to 70k with logistic pairs, then scored)
#        experiments/s17-pair-learnability/run.sh qalign S    (seed S's Q-ALIGN DT with B2, pairs kept, then both seed sets; S 4 or 3)
set -e
T=hopper D=control
EXP=${QDT_EXP:-/work/exp}/s17-pair-learnability
S16=${QDT_EXP:-/work/exp}/s16-branch-critic
. "$(dirname "$0")/../lib.sh"
ARM=${ARM:-B2}
own_runs $EXP/$ARM $EXP/$ARM/ckpt
mkdir -p $QDT_RUNS/$T/$D
R=$QDT_RUNS/$T/$D
[ -e $R/branches ] || ln -s $S16/B1/$T/$D/branches $R/branches  # session 16's 16,249 pairs
PAIRS="--cfg.critic-pair-weight ${W:-10} --cfg.critic-pair-loss logistic --cfg.critic-pair-batch 64"
if [ "$1" = critic ]; then
  continue_s15_critic $ARM $PAIRS
  exit 0
fi
if [ "$1" = qalign ]; then
  qalign_from_s15 $2 ${ARM/B/C}-s$2 $PAIRS
  exit 0
fi
echo "unknown step $1" >&2; exit 2
