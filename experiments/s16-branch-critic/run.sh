#!/bin/bash
# s16-branch-critic (RULES.md). Resumable; each step skips what exists.
# usage: experiments/s16-branch-critic/run.sh pairs          (16,384 branch pairs on Hopper control)
#        experiments/s16-branch-critic/run.sh critic B1|B0   (session 15's seed-0 critic continued to 70k, with/without pairs, then scored)
#        experiments/s16-branch-critic/run.sh qalign C1|C0 [S] (seed S's Q-ALIGN DT with that critic, then both seed sets; S: 4, or 3 (amendment))
set -e
T=hopper D=control
EXP=${QDT_EXP:-/work/exp}/s16-branch-critic
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
own_runs $(root $arm) $(root $arm)/ckpt
[ $W = 0 ] || [ -e $QDT_RUNS/$T/$D/branches ] || { echo "run.sh pairs first" >&2; exit 2; }
R=$QDT_RUNS/$T/$D
PAIRS="--cfg.critic-pair-weight $W"
if [ "$1" = critic ]; then
  continue_s15_critic $arm $PAIRS
  exit 0
fi
if [ "$1" = qalign ]; then
  S=${3:-4}; TAG=$arm; [ $S = 4 ] || TAG=$arm-s$S
  qalign_from_s15 $S $TAG $PAIRS
  exit 0
fi
echo "unknown step $1" >&2; exit 2
