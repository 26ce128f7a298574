#!/bin/bash
# s23-top-ship (RULES.md): the CPU arm on session 22's `ladder-pure --top-share 0.25` data and runs (H3 / H4 there).
# Resumable (rerun: finished steps are skipped; the training stages resume from their last saved state).
# usage: experiments/s23-top-ship/cpu.sh critic | qalign S | dt S | shown
#   critic: seed-0 `mid` SARSA critic, then the gate; qalign S: Q-ALIGN DT from HS's step-12,000 state (read as HQS);
#   dt S: a `mid` DT (read as HS); shown: the shipped Hopper `control` pair re-read at its own requests
set -e
T=hopper D=ladder-pure
EXP=${QDT_EXP:-/work/exp}/s23-top-ship
S22=${QDT_EXP:-/work/exp}/s22-ladder
. "$(dirname "$0")/../lib.sh"
own_runs $S22/runs-q $S22/ckpt-q
export MINARI_DATASETS_PATH=$S22/datasets-q
R=$QDT_RUNS/$T/$D
case "$1" in
critic)
  [ -f $R/s0/critic/critic.json ] || nice -n 10 python -m core.train --task $T --dataset $D --seed 0 --config mid --stage critic > $L/critic.log 2>&1
  has_quality || nice -n 10 python -m core.critic_quality --task $T --dataset $D --actor $QDT_CHECKPOINTS/$T/$D/dt/model-s3 > $L/quality.log 2>&1
  tail -30 $L/quality.log
  ;;
qalign)
  S=$2
  until has_quality; do sleep 30; done
  qalign_from "" $S s$S --cfg.eta-align 1
  read_at_control qalign HQ$S
  ;;
dt)
  S=$2
  [ -f $QDT_CHECKPOINTS/$T/$D/dt/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage dt > $L/dt-s$S.log 2>&1
  read_at_control dt H$S
  ;;
shown)
  export QDT_CHECKPOINTS=$PWD/checkpoints QDT_RUNS=$EXP/runs-shown  # the repository's shipped models, read only
  D=control S=0
  eval_seed_sets shown control dt,qalign $E10
  python experiments/table.py $(reports shown)
  ;;
*) echo "unknown step $1" >&2; exit 2 ;;
esac
