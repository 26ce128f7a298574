#!/bin/bash
# s23-top-ship (RULES.md, amendment of 06:13): read the `even --top-share 0.25` DTs E3-E5 (trained on the lent H200 by
# `S23_PACK=.s23/hopper-even-q.npz S23_DATASET=even S23_SEEDS="3 4 5" S23_CRITIC=0 gpu.sh`, unpacked into
# $EXP/gpu3) at `control`'s requests, as every other model of this experiment.
# usage: experiments/s23-top-ship/even.sh S
set -e
T=hopper D=even S=$1
EXP=${QDT_EXP:-/work/exp}/s23-top-ship
. "$(dirname "$0")/../lib.sh"
own_runs $EXP/gpu3/runs $EXP/gpu3/ckpt
export MINARI_DATASETS_PATH=$EXP/datasets-even
read_at_control dt E$S
