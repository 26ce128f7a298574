#!/bin/bash
# s22-ladder (RULES.md, amendment 03:35): T3 / T4 = session 15's `mid` DT recipe on Hopper `ladder-pure` collected
# with half its transitions in the top return bin (--top-share 0.5, its own data root), read as P3 / P4.
# Resumable (rerun: finished steps are skipped; the DT stage resumes from its last saved state).
# usage: experiments/s22-ladder/top.sh collect | dt S
set -e
T=hopper D=ladder-pure
EXP=${QDT_EXP:-/work/exp}/s22-ladder
. "$(dirname "$0")/../lib.sh"
own_runs $EXP/runs-top $EXP/ckpt-top
export MINARI_DATASETS_PATH=$EXP/datasets-top
STATS=checkpoints/$T/control/dt/model.json
case "$1" in
collect)
  [ -f $L/collect-top.done ] || { nice -n 5 python -m core.data.collect --task $T --quality $D --top-share 0.5 > $L/collect-top.log 2>&1 && touch $L/collect-top.done; }
  ;;
dt)
  S=$2
  until [ -f $L/collect-top.done ]; do sleep 20; done
  [ -f $QDT_CHECKPOINTS/$T/$D/dt/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage dt > $L/dt-top-s$S.log 2>&1
  eval_seed_sets T$S $D dt --targets $(default_targets $STATS) --episodes 5 --no-png
  python experiments/s19-long-dt/rescore.py $(reports T$S) --stats $STATS
  python experiments/s20-quiet-data/lengths.py $(reports T$S)
  python experiments/s19-long-dt/speed_profile.py $QDT_CHECKPOINTS/$T/$D/dt/model-s$S $D
  ;;
*) echo "unknown step $1" >&2; exit 2 ;;
esac
