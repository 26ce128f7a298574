#!/bin/bash
# s28-bf16-critic (RULES.md): HalfCheetah `pace` (session 25's rebuild, checked): the seed-0 `mid` SARSA critic trained
# under bf16 autocast (C), scored by the gate; then arm C: session 26's recipe R under `--cfg.bf16` (now the critic's
# forwards too) from each of session 26's DT states (step 12,000), with the critic C, read on both seed sets.
# Resumable (rerun: finished steps are skipped).   usage: experiments/s28-bf16-critic/run.sh critic | arm S
set -e
X=${QDT_EXP:-/work/exp}
EXP=$X/s28-bf16-critic
T=halfcheetah D=pace
. "$(dirname "$0")/../lib.sh"
export MINARI_DATASETS_PATH=$X/s25-walker-truth/datasets  # rebuilt in session 25
same_data $T $D 3ffb44fa52740a20 > /dev/null
own_runs; R=$QDT_RUNS/$T/$D
case "$1" in
critic)
  [ -f $R/s0/critic/critic.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed 0 --config mid --stage critic --cfg.bf16 > $L/critic.log 2>&1
  has_quality || nice -n 5 python -m core.critic_quality --task $T --dataset $D > $L/quality.log 2>&1
  ;;
arm)
  S=$2
  until has_quality; do sleep 30; done
  qalign_from $X/s26-critic-sign/halfcheetah-pace/runs $S C$S --cfg.bf16
  eval_seed_sets C$S $D qalign $E10
  ;;
*) echo "unknown step $1" >&2; exit 2 ;;
esac
