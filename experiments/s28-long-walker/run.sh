#!/bin/bash
# s28-long-walker (RULES.md): a `long`-budget pair on Walker2d `control` (session 24's rebuild, checked), two training
# seeds, every stage under bf16 autocast where RULES.md says so; then both seed sets for each model, and the shown
# `cpu` pair read the same way. Resumable across sessions (each stage saves every 1,000 steps; rerun a step to go on).
# usage: experiments/s28-long-walker/run.sh critic | dt S | qalign S | shown
set -e
X=${QDT_EXP:-/work/exp}
EXP=$X/s28-long-walker
T=walker2d D=control
. "$(dirname "$0")/../lib.sh"
export MINARI_DATASETS_PATH=$X/s24-walker-gate/datasets  # rebuilt in session 24
same_data $T $D 6dcdddaa89f71947 > /dev/null
own_runs; R=$QDT_RUNS/$T/$D
model() { [ "$2" = 0 ] && echo $QDT_CHECKPOINTS/$T/$D/$1/model.json || echo $QDT_CHECKPOINTS/$T/$D/$1/model-s$2.json; }
case "$1" in
critic)  # the seed-0 `long` SARSA critic (100,000 steps), then the gate (alignment pairs with the shown DT)
  CRITIC_BF16=${CRITIC_BF16:?set CRITIC_BF16 to --cfg.bf16 or --cfg.no-bf16 as RULES.md decides}
  [ -f $R/s0/critic/critic.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed 0 --config long --stage critic $CRITIC_BF16 > $L/critic.log 2>&1
  has_quality || nice -n 5 python -m core.critic_quality --task $T --dataset $D --actor $PWD/checkpoints/$T/$D/dt/model > $L/quality.log 2>&1
  ;;
dt)  # 80,000 BC steps (the step-60,000 state kept for Q-ALIGN), then both seed sets
  S=$2
  [ -f $(model dt $S) ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config long --stage dt --cfg.bf16 > $L/dt-s$S.log 2>&1
  eval_seed_sets DT$S $D dt $E10
  ;;
qalign)  # 20,000 alignment steps from the DT's step-60,000 state, the seed-0 critic (eta 5, the preset's)
  S=$2
  until has_quality && [ -f $R/s$S/pretrain/state.json ]; do sleep 60; done
  mkdir -p $R/s$S; [ -e $R/s$S/critic ] || [ $S = 0 ] || ln -s ../s0/critic $R/s$S/critic
  [ -f $(model qalign $S) ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config long --stage qalign --cfg.bf16 $(weak_flag 0) > $L/qalign-s$S.log 2>&1
  eval_seed_sets QA$S $D qalign $E10
  ;;
shown)  # the shown `cpu` pair (seed 0) on the same protocol, for the ship rule
  S=0; QDT_CHECKPOINTS=$PWD/checkpoints eval_seed_sets SHOWN $D dt,qalign $E10
  ;;
*) echo "unknown step $1" >&2; exit 2 ;;
esac
