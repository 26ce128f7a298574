#!/bin/bash
# s22-ladder (RULES.md, amendments 03:35 and 04:00): session 15's `mid` DT recipe on Hopper `ladder-pure` collected
# with a larger share of its transitions in the top return bin (--top-share; each share its own data root), read as
# P3 / P4: T3 / T4 at 0.5, H3 / H4 at 0.25; `critic`: a seed-0 `mid` SARSA critic on the 0.5 data, then the gate.
# Resumable (rerun: finished steps are skipped; the training stages resume from their last saved state).
# usage: experiments/s22-ladder/top.sh SHARE collect | dt S | critic     (SHARE 0.5 or 0.25)
set -e
T=hopper D=ladder-pure
EXP=${QDT_EXP:-/work/exp}/s22-ladder
. "$(dirname "$0")/../lib.sh"
SHARE=$1
case $SHARE in 0.5) K=top TAG=T ;; 0.25) K=q TAG=H ;; *) echo "share $SHARE: 0.5 or 0.25" >&2; exit 2 ;; esac
own_runs $EXP/runs-$K $EXP/ckpt-$K
export MINARI_DATASETS_PATH=$EXP/datasets-$K
case "$2" in
collect)
  [ -f $L/collect-$K.done ] || { nice -n 5 python -m core.data.collect --task $T --quality $D --top-share $SHARE > $L/collect-$K.log 2>&1 && touch $L/collect-$K.done; }
  ;;
dt)
  S=$3
  until [ -f $L/collect-$K.done ]; do sleep 20; done
  [ -f $QDT_CHECKPOINTS/$T/$D/dt/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage dt > $L/dt-$K-s$S.log 2>&1
  read_at_control dt $TAG$S
  python experiments/s19-long-dt/speed_profile.py $QDT_CHECKPOINTS/$T/$D/dt/model-s$S $D
  ;;
critic)
  R=$QDT_RUNS/$T/$D
  [ -f $R/s0/critic/critic.json ] || nice -n 10 python -m core.train --task $T --dataset $D --seed 0 --config mid --stage critic > $L/critic-$K.log 2>&1
  has_quality || nice -n 10 python -m core.critic_quality --task $T --dataset $D --actor $QDT_CHECKPOINTS/$T/$D/dt/model-s3 > $L/quality-$K.log 2>&1
  tail -30 $L/quality-$K.log
  ;;
*) echo "unknown step $2" >&2; exit 2 ;;
esac
