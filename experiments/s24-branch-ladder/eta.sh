#!/bin/bash
# s24-branch-ladder amendment (RULES.md, questions 30-31): KE<S> = Q-ALIGN DT with K0 at eta-align 5 from session
# 22/23's DT state of seed S (otherwise run.sh's KQ<S>), then both seed sets. Resumable.
# usage: experiments/s24-branch-ladder/eta.sh S
set -e
T=hopper D=ladder-pure S=$1
EXP=${QDT_EXP:-/work/exp}/s24-branch-ladder
S22=${QDT_EXP:-/work/exp}/s22-ladder
. "$(dirname "$0")/../lib.sh"
own_runs $EXP/runs-eta5 $EXP/ckpt-eta5
export MINARI_DATASETS_PATH=$S22/datasets-q
R=$QDT_RUNS/$T/$D
PAIRS="--cfg.critic-pair-weight 50 --cfg.critic-pair-loss logistic --cfg.critic-pair-batch 64"
mkdir -p $R
[ -e $R/branches ] || ln -s $EXP/runs/$T/$D/branches $R/branches
[ -e $R/s0 ] || ln -s $EXP/runs/$T/$D/s0 $R/s0  # K0, scored
qalign_from $S22/runs-q $S KE$S --cfg.eta-align 5 $PAIRS
read_at_control qalign KE$S
