#!/bin/bash
# s25-walker-truth amendment 3 (RULES.md): the alignment probes again at R = 4 (8 rollouts, the first 8 of the
# earlier 16: the same numbers) with the pairs the loss acts on scored and per-pair gaps saved (.npz).
# usage: experiments/s25-walker-truth/objects.sh hopper | walker2d
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
*) echo "unknown task $1" >&2; exit 2 ;;
esac
[ -f $EXP/objects-$1.json ] || PYTHONPATH=$PWD nice -n 5 python experiments/s25-walker-truth/probe.py --task $1 --dataset $D --rollouts 4 --critics $c --actor $A --out $EXP/objects-$1.json > $L/objects-$1.log 2>&1
tail -1 $L/objects-$1.log
