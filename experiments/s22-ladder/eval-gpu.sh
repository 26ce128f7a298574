#!/bin/bash
# s22-ladder (RULES.md, amendment 02:46): read the device arm's models (unpacked into $EXP/gpu) on this machine, on
# the protocol of run.sh (the task's shown `control` DT's 10 requests, 5 episodes, both seed sets, scored on its
# range), then the lengths (and for Hopper DTs the speed profile). Walker2d's `ladder` is rebuilt here first.
# usage: experiments/s22-ladder/eval-gpu.sh T KIND S   (T hopper|walker2d, KIND dt|qalign; tag L|Q|W + S)
set -e
T=$1 K=$2 S=$3 D=ladder
EXP=${QDT_EXP:-/work/exp}/s22-ladder
. "$(dirname "$0")/../lib.sh"
own_runs $EXP/gpu/runs $EXP/gpu/ckpt
case $T/$K in hopper/dt) TAG=L$S ;; hopper/qalign) TAG=Q$S ;; walker2d/dt) TAG=W$S ;; *) echo "no tag for $T/$K" >&2; exit 2 ;; esac
[ -d ${MINARI_DATASETS_PATH:-data/datasets}/qalign/$T/$D-v0 ] || nice -n 5 python -m core.data.collect --task $T --quality $D > $L/collect-$T.log 2>&1
read_at_control $K $TAG
[ $T/$K != hopper/dt ] || python experiments/s19-long-dt/speed_profile.py $QDT_CHECKPOINTS/$T/$D/$K/model-s$S $D
