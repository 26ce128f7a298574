#!/bin/bash
# s27-bf16 (RULES.md): the `cpu` DT on Walker2d medium-replay, fp32 and bf16 autocast, training seeds 0 and 1, each
# read on both seed sets. Resumable.  usage: experiments/s27-bf16/run.sh fp32|bf16 S
set -e
EXP=${QDT_EXP:-/work/exp}/s27-bf16
T=walker2d D=medium-replay
. "$(dirname "$0")/../lib.sh"
export MINARI_DATASETS_PATH=${QDT_EXP:-/work/exp}/s25-walker-truth/datasets  # rebuilt in session 25
same_data $T $D 558c3b9885e2ae7f > /dev/null
P=$1 S=$2
case $P in fp32) OPTS="" ;; bf16) OPTS="--cfg.bf16" ;; *) echo "unknown precision $P" >&2; exit 2 ;; esac
own_runs $EXP/runs-$P $EXP/ckpt-$P
[ -f $QDT_CHECKPOINTS/$T/$D/dt/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config cpu --stage dt $OPTS > $L/dt-$P-s$S.log 2>&1
eval_seed_sets $P$S $D dt $E10
