#!/bin/bash
# s29-walker-even (RULES.md): collect Walker2d `even`, then `mid` DTs (bf16) on `even` and on `control`, same seeds,
# each read at `control`'s 10 requests and scored on its range. Resumable (finished steps are skipped; the DT stage
# resumes from its last saved state).
# usage: experiments/s29-walker-even/run.sh collect | dt even|control S | critic | qalign S  (amendment 1: on `even`)
set -e
T=walker2d
EXP=${QDT_EXP:-/work/exp}/s29-walker-even
. "$(dirname "$0")/../lib.sh"
own_runs
export MINARI_DATASETS_PATH=$EXP/datasets  # `even` is collected here; `control` is session 24's rebuild
mkdir -p $MINARI_DATASETS_PATH
case "$1" in
collect)
  [ -f $L/collect.done ] || { nice -n 5 python -m core.data.collect --task $T --quality even > $L/collect.log 2>&1 && python -m core.data.summary --task $T --datasets even > $L/summary.log 2>&1 && touch $L/collect.done; }
  ;;
dt)
  D=$2 S=$3
  if [ $D = control ]; then
    export MINARI_DATASETS_PATH=${QDT_EXP:-/work/exp}/s24-walker-gate/datasets
    same_data $T $D 6dcdddaa89f71947 > /dev/null
  else
    until [ -f $L/collect.done ]; do sleep 20; done
  fi
  [ -f $QDT_CHECKPOINTS/$T/$D/dt/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage dt --cfg.bf16 > $L/dt-$D-s$S.log 2>&1
  read_at_control dt ${D:0:1}$S
  ;;
critic)  # amendment 1: the seed-0 `mid` SARSA critic on `even`, then the gate (alignment pairs with the seed-1 DT)
  D=even R=$QDT_RUNS/$T/even
  [ -f $R/s0/critic/critic.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed 0 --config mid --stage critic --cfg.bf16 > $L/critic.log 2>&1
  has_quality || nice -n 5 python -m core.critic_quality --task $T --dataset $D --actor $QDT_CHECKPOINTS/$T/$D/dt/model-s1 > $L/quality.log 2>&1
  ;;
qalign)  # amendment 1: Q-ALIGN DT on `even` from the DT's step-12,000 state, the seed-0 critic
  D=even S=$2 R=$QDT_RUNS/$T/even
  until has_quality && [ -f $R/s$S/pretrain/state.json ]; do sleep 30; done
  qalign_from "" $S s$S --cfg.bf16  # lib.sh: links the seed-0 critic, takes weak_flag's override, skips a done model
  read_at_control qalign q$S
  ;;
*) echo "unknown step $1" >&2; exit 2 ;;
esac
