#!/bin/bash
# s25-walker-truth (RULES.md): the gate's pairs scored against truths averaged over 1-8 rollouts per branch.
# usage: experiments/s25-walker-truth/run.sh walker2d | hopper | align-walker2d | align-hopper
set -e
EXP=${QDT_EXP:-/work/exp}/s25-walker-truth
X=${QDT_EXP:-/work/exp}
. "$(dirname "$0")/../lib.sh"
C=s0/critic/critic
case "$1" in
walker2d)
  export MINARI_DATASETS_PATH=$X/s24-walker-gate/datasets
  c="W0=$X/s24-walker-gate/W0/walker2d/control/$C WK0=$X/s24-walker-gate/runs/walker2d/control/$C"
  D=control ;;
hopper)
  export MINARI_DATASETS_PATH=$X/s22-ladder/datasets-q
  c="S0=$X/s22-ladder/runs-q/hopper/ladder-pure/$C K0=$X/s24-branch-ladder/runs/hopper/ladder-pure/$C"
  D=ladder-pure ;;
align-walker2d)
  export MINARI_DATASETS_PATH=$X/s24-walker-gate/datasets
  c="W0=$X/s24-walker-gate/W0/walker2d/control/$C WK0=$X/s24-walker-gate/runs/walker2d/control/$C"
  D=control A="--actor $PWD/checkpoints/walker2d/control/dt/model" ;;
align-hopper)
  export MINARI_DATASETS_PATH=$X/s22-ladder/datasets-q
  c="S0=$X/s22-ladder/runs-q/hopper/ladder-pure/$C K0=$X/s24-branch-ladder/runs/hopper/ladder-pure/$C"
  D=ladder-pure A="--actor $X/s22-ladder/ckpt-q/hopper/ladder-pure/dt/model-s3" ;;
*) echo "unknown step $1" >&2; exit 2 ;;
esac
[ -f $EXP/$1.json ] || PYTHONPATH=$PWD nice -n 5 python experiments/s25-walker-truth/probe.py --task ${1#align-} --dataset $D --rollouts 8 --critics $c $A --out $EXP/$1.json > $L/probe-$1.log 2>&1
tail -4 $L/probe-$1.log
