#!/bin/bash
# s16-branch-critic (RULES.md). Resumable; each step skips what exists.
# usage: experiments/s16-branch-critic/run.sh pairs          (16,384 branch pairs on Hopper control)
#        experiments/s16-branch-critic/run.sh critic B1|B0   (session 15's seed-0 critic continued to 70k, with/without pairs, then scored)
#        experiments/s16-branch-critic/run.sh qalign C1|C0 [S] (seed S's Q-ALIGN DT with that critic, then both seed sets; S: 4, or 3 (amendment))
set -e
T=hopper D=control
EXP=${QDT_EXP:-/work/exp}/s16-branch-critic
S15=${QDT_EXP:-/work/exp}/s15-control-seeds
. "$(dirname "$0")/../lib.sh"
arm=${2:-}
case $arm in B1|C1) W=1 ;; B0|C0) W=0 ;; "") ;; *) echo "arm must be B1, B0, C1 or C0" >&2; exit 2 ;; esac
# Each arm has its own runs root (critic in s0, seed 4's DT states beside it); the pairs are shared.
root() { echo $EXP/${1/C/B}; }
if [ "$1" = pairs ]; then
  export QDT_RUNS=$EXP/B1
  nice -n 5 python -m core.branches --task $T --dataset $D --pairs 16384 --chunk 512 > $L/pairs.log 2>&1
  exit 0
fi
export QDT_RUNS=$(root $arm) QDT_CHECKPOINTS=$(root $arm)/ckpt
[ $W = 0 ] || [ -e $QDT_RUNS/$T/$D/branches ] || { echo "run.sh pairs first" >&2; exit 2; }
mkdir -p $QDT_CHECKPOINTS; ln -sfn "$PWD/checkpoints/behavior" $QDT_CHECKPOINTS/behavior
R=$QDT_RUNS/$T/$D
PAIRS="--cfg.critic-pair-weight $W"
if [ "$1" = critic ]; then
  if [ ! -d $R/s0/critic ]; then
    mkdir -p $R/s0; cp -r $S15/runs/$T/$D/s0/critic $R/s0/critic; rm -f $R/s0/critic/critic.*
  fi
  [ -f $R/s0/critic/critic.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed 0 --config mid --stage critic --cfg.critic-steps 70000 $PAIRS > $L/critic-$arm.log 2>&1
  has_quality || nice -n 5 python -m core.critic_quality --task $T --dataset $D --actor $S15/ckpt/$T/$D/dt/model-s4 > $L/quality-$arm.log 2>&1
  exit 0
fi
if [ "$1" = qalign ]; then
  S=${3:-4}; TAG=$arm; [ $S = 4 ] || TAG=$arm-s$S
  mkdir -p $R/s$S; [ -e $R/s$S/critic ] || ln -s ../s0/critic $R/s$S/critic
  [ -d $R/s$S/pretrain ] || cp -r $S15/runs/$T/$D/s$S/pretrain $R/s$S/pretrain
  WEAK=$(python -c "import json; print('' if json.load(open('$R/s0/critic/critic.json'))['quality']['passed'] else '--allow-weak-critic')")
  [ -f $QDT_CHECKPOINTS/$T/$D/qalign/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage qalign $WEAK --cfg.eta-align 1 $PAIRS > $L/qalign-$TAG.log 2>&1
  for E in 300000 100000; do
    O=$EXP/$TAG-eval-$E
    [ -f $O/report.json ] || nice -n 5 python -m core.evaluate --task $T --dataset $D --seed $S --models qalign $E10 --eval-seed $E --out $O > $L/eval-$TAG-$E.log 2>&1
  done
  exit 0
fi
echo "unknown step $1" >&2; exit 2
