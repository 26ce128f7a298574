#!/bin/bash
# s25-walker-truth (RULES.md): the gate's pairs scored against truths averaged over 1-8 rollouts per branch.
# usage: experiments/s25-walker-truth/run.sh walker2d | hopper | align-walker2d | align-hopper | align-halfcheetah
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
align-halfcheetah)
  export MINARI_DATASETS_PATH=$EXP/datasets
  D=pace
  [ -d $EXP/datasets/qalign/halfcheetah/pace-v0 ] || nice -n 5 python -m core.data.collect --task halfcheetah --quality pace > $L/collect-pace.log 2>&1
  python -c "
import sys
from core.data.dataset import load_offline_data
from core.data.fingerprint import fingerprint
got = fingerprint(load_offline_data('halfcheetah', 'pace'))['sha256']
sys.exit(0 if got == '3ffb44fa52740a20' else f'pace rebuilt as {got}: not the shipped pair\'s data')"
  c="QA=$PWD/checkpoints/halfcheetah/pace/qalign/critic"
  A="--actor $PWD/checkpoints/halfcheetah/pace/dt/model" ;;
*) echo "unknown step $1" >&2; exit 2 ;;
esac
[ -f $EXP/$1.json ] || PYTHONPATH=$PWD nice -n 5 python experiments/s25-walker-truth/probe.py --task ${1#align-} --dataset $D --rollouts 8 --critics $c $A --out $EXP/$1.json > $L/probe-$1.log 2>&1
tail -4 $L/probe-$1.log
