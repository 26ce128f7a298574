#!/bin/bash
# s26-critic-sign (RULES.md): a shipped `mid` pair's recipe rebuilt (seed-0 50k SARSA critic, the DT's 16,000 steps,
# Q-ALIGN DT eta 5 for 4,000 steps from the DT's step-12,000 state), and two controls from the same DT state and
# critic, then both seed sets (the ablation protocol) for each. Resumable.
# usage: experiments/s26-critic-sign/arms.sh PAIR critic | dt [S] | arm R|Z|F|B [S]
#   PAIR walker2d-mr (Walker2d medium-replay, outputs at the folder's top: the first pair read) | halfcheetah-pace
#        (amendment 2; outputs under halfcheetah-pace/); each on session 25's rebuild of its data, checked
#   R: the recipe | Z: alignment weight 0 (the stage's own random stream, behaviour cloning only)
#   F: the critic's direction reversed (--cfg.align-direction reversed: asking for more pushed toward actions the
#      critic values less)
#   B: R under bf16 autocast (`--cfg.bf16`; s27-bf16 amendment 1)
set -e
X=${QDT_EXP:-/work/exp}
case "$1" in
walker2d-mr) T=walker2d D=medium-replay SHA=558c3b9885e2ae7f EXP=$X/s26-critic-sign ;;
halfcheetah-pace) T=halfcheetah D=pace SHA=3ffb44fa52740a20 EXP=$X/s26-critic-sign/halfcheetah-pace ;;
*) echo "unknown pair $1" >&2; exit 2 ;;
esac
shift
. "$(dirname "$0")/../lib.sh"
export MINARI_DATASETS_PATH=$X/s25-walker-truth/datasets  # rebuilt in session 25
same_data $T $D $SHA > /dev/null
case "$1" in
critic)
  own_runs; R=$QDT_RUNS/$T/$D
  [ -f $R/s0/critic/critic.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed 0 --config mid --stage critic > $L/critic.log 2>&1
  has_quality || nice -n 5 python -m core.critic_quality --task $T --dataset $D > $L/quality.log 2>&1
  ;;
dt)
  S=${2:-0}; own_runs; R=$QDT_RUNS/$T/$D
  [ -f $QDT_CHECKPOINTS/$T/$D/dt/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage dt > $L/dt-s$S.log 2>&1
  eval_seed_sets DT$S $D dt $E10
  ;;
arm)
  A=$2 S=${3:-0}
  case $A in
  R) OPTS="" ;;
  Z) OPTS="--cfg.eta-align 0" ;;
  F) OPTS="--cfg.align-direction reversed" ;;
  B) OPTS="--cfg.bf16" ;;  # s27-bf16 amendment 1: R with the actor's forward under bf16 autocast
  *) echo "unknown arm $A" >&2; exit 2 ;;
  esac
  own_runs $EXP/runs-$A $EXP/ckpt-$A; R=$QDT_RUNS/$T/$D
  mkdir -p $R/s0; [ -e $R/s0/critic ] || ln -s $EXP/runs/$T/$D/s0/critic $R/s0/critic  # one critic for every arm
  until has_quality && [ -f $EXP/runs/$T/$D/s$S/pretrain/state.json ]; do sleep 30; done
  qalign_from $EXP/runs $S $A$S $OPTS
  eval_seed_sets $A$S $D qalign $E10
  ;;
*) echo "unknown step $1" >&2; exit 2 ;;
esac
