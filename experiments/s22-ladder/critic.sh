#!/bin/bash
# s22-ladder (RULES.md, amendment 02:46 and read of 03:02): the device arm's seed-0 `mid` SARSA critic on Hopper
# `ladder` was lost with its archive, so the same recipe (seed 0, 50k steps) is trained here and scored by the gate
# (`core.critic_quality`, with L5's DT for the alignment pairs); question 11 reports its score.
# usage: experiments/s22-ladder/critic.sh   (resumable)
set -e
T=hopper D=ladder
EXP=${QDT_EXP:-/work/exp}/s22-ladder
. "$(dirname "$0")/../lib.sh"
own_runs
R=$QDT_RUNS/$T/$D
[ -f $R/s0/critic/critic.json ] || nice -n 10 python -m core.train --task $T --dataset $D --seed 0 --config mid --stage critic > $L/critic.log 2>&1
has_quality || nice -n 10 python -m core.critic_quality --task $T --dataset $D --actor $EXP/gpu/ckpt/$T/$D/dt/model-s5 > $L/quality.log 2>&1
tail -30 $L/quality.log
