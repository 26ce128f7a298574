#!/bin/bash
# s22-ladder (RULES.md, amendment 04:06): Q-ALIGN DT from T3 / T4's step-12,000 DT state with the seed-0 `mid` SARSA
# critic on the same data (`top.sh 0.5 critic`; `--allow-weak-critic` only if the gate failed it), session 10's Hopper
# recipe (`--config mid --cfg.eta-align 1`), read as T3 / T4 (tags TQ3 / TQ4).
# Resumable (rerun: finished steps are skipped; the stage resumes from its last saved state).
# usage: experiments/s22-ladder/qalign.sh S
set -e
T=hopper D=ladder-pure
EXP=${QDT_EXP:-/work/exp}/s22-ladder
. "$(dirname "$0")/../lib.sh"
own_runs $EXP/runs-top $EXP/ckpt-top
export MINARI_DATASETS_PATH=$EXP/datasets-top
S=$1 R=$QDT_RUNS/$T/$D
until has_quality; do sleep 30; done
qalign_from "" $S top-s$S --cfg.eta-align 1
read_at_control qalign TQ$S
