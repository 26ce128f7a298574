#!/bin/bash
# s25-softplus (RULES.md): KS<S> = Q-ALIGN DT with K0 from session 22/23's DT state of seed S, exactly session 24's KQ<S>
# but for the alignment penalty's shape (--cfg.align-form softplus), then both seed sets. Resumable.
# usage: experiments/s25-softplus/run.sh S [zero]
#   zero (amendment): KZ<S>, the same stage with the alignment weight 0 (--cfg.eta-align 0): behaviour cloning only,
#   with the stage's own random stream: how far QA-vs-DT differences move without any alignment
set -e
T=hopper D=ladder-pure S=$1
EXP=${QDT_EXP:-/work/exp}/s25-softplus
S22=${QDT_EXP:-/work/exp}/s22-ladder
S24=${QDT_EXP:-/work/exp}/s24-branch-ladder
. "$(dirname "$0")/../lib.sh"
if [ "$2" = zero ]; then own_runs $EXP/runs-zero $EXP/ckpt-zero; A=KZ OPTS="--cfg.eta-align 0"
else own_runs; A=KS OPTS="--cfg.eta-align 1 --cfg.align-form softplus"; fi
export MINARI_DATASETS_PATH=$S22/datasets-q
R=$QDT_RUNS/$T/$D
PAIRS="--cfg.critic-pair-weight 50 --cfg.critic-pair-loss logistic --cfg.critic-pair-batch 64"
mkdir -p $R
[ -e $R/branches ] || ln -s $S24/runs/$T/$D/branches $R/branches
[ -e $R/s0 ] || ln -s $S24/runs/$T/$D/s0 $R/s0  # K0, scored (passed)
qalign_from $S22/runs-q $S $A$S $OPTS $PAIRS
read_at_control qalign $A$S
