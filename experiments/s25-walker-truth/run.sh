#!/bin/bash
# s25-walker-truth (RULES.md): the gate's pairs and the alignment pairs scored against truths averaged over rollouts.
# usage: experiments/s25-walker-truth/run.sh MODE TASK
#   MODE gate: the gate's pairs, R = 1-8 | align: the DT's alignment pairs, R = 1-8 | objects: those at R = 1-4 with
#        the pairs the hinge acts on scored (amendment 3) | lead20: those with the DT playing 20 steps (amendment 4)
#   TASK hopper (S0, K0, session 22's seed-3 DT) | walker2d (W0, WK0, the shipped DT) | halfcheetah (`pace` rebuilt
#        and checked; the shipped Q-ALIGN DT's critic and the shipped DT; alignment modes only) | walker2d-mr
#        (medium-replay rebuilt and checked; the shipped pair's Q-ALIGN critic and DT; alignment modes only)
set -e
EXP=${QDT_EXP:-/work/exp}/s25-walker-truth
X=${QDT_EXP:-/work/exp}
. "$(dirname "$0")/../lib.sh"
C=s0/critic/critic
case "$2" in
walker2d)
  export MINARI_DATASETS_PATH=$X/s24-walker-gate/datasets
  c="W0=$X/s24-walker-gate/W0/walker2d/control/$C WK0=$X/s24-walker-gate/runs/walker2d/control/$C"
  D=control A=$PWD/checkpoints/walker2d/control/dt/model ;;
hopper)
  export MINARI_DATASETS_PATH=$X/s22-ladder/datasets-q
  c="S0=$X/s22-ladder/runs-q/hopper/ladder-pure/$C K0=$X/s24-branch-ladder/runs/hopper/ladder-pure/$C"
  D=ladder-pure A=$X/s22-ladder/ckpt-q/hopper/ladder-pure/dt/model-s3 ;;
halfcheetah)
  export MINARI_DATASETS_PATH=$EXP/datasets
  [ -d $EXP/datasets/qalign/halfcheetah/pace-v0 ] || nice -n 5 python -m core.data.collect --task halfcheetah --quality pace > $L/collect-pace.log 2>&1
  same_data halfcheetah pace 3ffb44fa52740a20
  c="QA=$PWD/checkpoints/halfcheetah/pace/qalign/critic"
  D=pace A=$PWD/checkpoints/halfcheetah/pace/dt/model ;;
walker2d-mr)
  export MINARI_DATASETS_PATH=$EXP/datasets
  [ -d $EXP/datasets/qalign/walker2d/medium-replay-v0 ] || nice -n 5 python -m core.data.collect --task walker2d --quality medium-replay > $L/collect-walker2d-mr.log 2>&1
  same_data walker2d medium-replay 558c3b9885e2ae7f
  c="QA=$PWD/checkpoints/walker2d/medium-replay/qalign/critic"
  D=medium-replay A=$PWD/checkpoints/walker2d/medium-replay/dt/model ;;
*) echo "unknown task $2" >&2; exit 2 ;;
esac
task=${2%-mr}
case "$1" in
gate) out=$2 opts="--rollouts 8" ;;
align) out=align-$2 opts="--rollouts 8 --actor $A" ;;
objects) out=objects-$2 opts="--rollouts 4 --actor $A" ;;
lead20) out=lead20-$2 opts="--rollouts 4 --actor $A --lead-steps 20" ;;
*) echo "unknown mode $1" >&2; exit 2 ;;
esac
[ -f $EXP/$out.json ] || PYTHONPATH=$PWD nice -n 5 python experiments/s25-walker-truth/probe.py --task $task --dataset $D --critics $c $opts --out $EXP/$out.json > $L/probe-$out.log 2>&1
tail -1 $L/probe-$out.log
