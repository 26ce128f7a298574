#!/bin/bash
# s24-walker-gate (RULES.md): Walker2d `control` rebuilt and checked, the seed-0 `mid` SARSA critic (W0) and the gate,
# branch pairs, W0 continued with them (WK0) and the gate. Resumable (rerun: finished steps are skipped).
# usage: experiments/s24-walker-gate/run.sh data | critic | pairs | continue
set -e
T=walker2d D=control
EXP=${QDT_EXP:-/work/exp}/s24-walker-gate
. "$(dirname "$0")/../lib.sh"
own_runs
export MINARI_DATASETS_PATH=$EXP/datasets
R=$QDT_RUNS/$T/$D
ACTOR=$PWD/checkpoints/$T/$D/dt/model
PAIRS="--cfg.critic-pair-weight 50 --cfg.critic-pair-loss logistic --cfg.critic-pair-batch 64"
case "$1" in
data)
  [ -d $EXP/datasets/qalign/$T/$D-v0 ] || nice -n 5 python -m core.data.collect --task $T --quality $D > $L/collect.log 2>&1
  same_data $T $D 6dcdddaa89f71947
  ;;
critic)  # W0, then its gate score kept in a copy (the continuation rewrites the critic's files)
  [ -f $R/s0/critic/critic.json ] || [ -f $EXP/W0/$T/$D/s0/critic/critic.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed 0 --config mid --stage critic > $L/critic-W0.log 2>&1
  c=$EXP/W0/$T/$D/s0/critic
  [ -f $c/critic.json ] || { mkdir -p $c; cp $R/s0/critic/critic.json $R/s0/critic/critic.safetensors $c/; }
  R=$EXP/W0/$T/$D has_quality || QDT_RUNS=$EXP/W0 nice -n 5 python -m core.critic_quality --task $T --dataset $D --actor $ACTOR > $L/quality-W0.log 2>&1
  tail -5 $L/quality-W0.log
  ;;
pairs)
  [ -f $R/branches/chunk-00031.safetensors ] || nice -n 5 python -m core.branches --task $T --dataset $D --pairs 16384 > $L/branches.log 2>&1
  ;;
continue)  # WK0: W0's state continued with the pairs, then the gate
  [ -f $EXP/W0/$T/$D/s0/critic/critic.json ] || { echo "run critic first" >&2; exit 1; }
  [ -f $R/branches/chunk-00031.safetensors ] || { echo "run pairs first" >&2; exit 1; }
  if [ ! -f $L/continue.started ]; then rm -f $R/s0/critic/critic.json $R/s0/critic/critic.safetensors; touch $L/continue.started; fi
  [ -f $R/s0/critic/critic.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed 0 --config mid --stage critic --cfg.critic-steps 70000 $PAIRS > $L/critic-WK0.log 2>&1
  has_quality || nice -n 5 python -m core.critic_quality --task $T --dataset $D --actor $ACTOR > $L/quality-WK0.log 2>&1
  tail -5 $L/quality-WK0.log
  ;;
*) echo "unknown step $1" >&2; exit 2 ;;
esac
