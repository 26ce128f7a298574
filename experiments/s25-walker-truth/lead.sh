#!/bin/bash
# s25-walker-truth amendment 4 (RULES.md): the alignment pairs with the DT playing each branch's request for 20 steps
# before the behaviour policy takes over (probe.py --lead-steps 20), R = 4 (8 rollouts).
# usage: experiments/s25-walker-truth/lead.sh hopper | walker2d | halfcheetah
set -e
EXP=${QDT_EXP:-/work/exp}/s25-walker-truth
X=${QDT_EXP:-/work/exp}
. "$(dirname "$0")/../lib.sh"
C=s0/critic/critic
case "$1" in
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
  c="QA=$PWD/checkpoints/halfcheetah/pace/qalign/critic"
  D=pace A=$PWD/checkpoints/halfcheetah/pace/dt/model ;;
*) echo "unknown task $1" >&2; exit 2 ;;
esac
[ -f $EXP/lead20-$1.json ] || PYTHONPATH=$PWD nice -n 5 python experiments/s25-walker-truth/probe.py --task $1 --dataset $D --rollouts 4 --critics $c --actor $A --lead-steps 20 --out $EXP/lead20-$1.json > $L/lead20-$1.log 2>&1
tail -1 $L/lead20-$1.log
