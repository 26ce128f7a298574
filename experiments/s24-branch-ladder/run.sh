#!/bin/bash
# s24-branch-ladder (RULES.md): branch pairs on the shipped Hopper data, K0 = session 23's SARSA critic continued with
# them (then the gate), KQ<S> = Q-ALIGN DT with K0 from session 22/23's DT state of seed S. Resumable (rerun: finished
# steps are skipped; training stages resume from their last saved state).
# usage: experiments/s24-branch-ladder/run.sh critic     (pairs, K0, the gate)
#        experiments/s24-branch-ladder/run.sh qalign S   (waits for the gate, then KQ<S> and both seed sets)
set -e
T=hopper D=ladder-pure
EXP=${QDT_EXP:-/work/exp}/s24-branch-ladder
S22=${QDT_EXP:-/work/exp}/s22-ladder
. "$(dirname "$0")/../lib.sh"
own_runs
export MINARI_DATASETS_PATH=$S22/datasets-q
R=$QDT_RUNS/$T/$D
PAIRS="--cfg.critic-pair-weight 50 --cfg.critic-pair-loss logistic --cfg.critic-pair-batch 64"
case "$1" in
critic)
  [ -f $R/branches/chunk-00031.safetensors ] || nice -n 5 python -m core.branches --task $T --dataset $D --pairs 16384 > $L/branches.log 2>&1
  if [ ! -d $R/s0/critic ]; then  # session 23's SARSA critic with its resumable state, without its finished files
    mkdir -p $R/s0; cp -r $S22/runs-q/$T/$D/s0/critic $R/s0/critic; rm -f $R/s0/critic/critic.*
  fi
  [ -f $R/s0/critic/critic.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed 0 --config mid --stage critic --cfg.critic-steps 70000 $PAIRS > $L/critic-K0.log 2>&1
  has_quality || nice -n 5 python -m core.critic_quality --task $T --dataset $D --actor $S22/ckpt-q/$T/$D/dt/model-s3 > $L/quality-K0.log 2>&1
  tail -30 $L/quality-K0.log
  ;;
qalign)
  S=$2
  until has_quality; do sleep 30; done
  qalign_from $S22/runs-q $S KQ$S --cfg.eta-align 1 $PAIRS
  read_at_control qalign KQ$S
  ;;
*) echo "unknown step $1" >&2; exit 2 ;;
esac
