#!/bin/bash
# s20-quiet-data (RULES.md): Q3 = a `mid` Hopper DT, training seed 3, on `control` rebuilt with a third of the
# behaviour snapshots' action noise (--noise-scale 0.3, its own data root), read at `control`'s requests.
# Resumable (rerun: finished steps are skipped; the DT stage resumes from its last saved state).
# usage: experiments/s20-quiet-data/run.sh dt S      (the DT, then both seed sets and the speed profile)
#        experiments/s20-quiet-data/run.sh critic S  (its SARSA critic, `mid`)
#        experiments/s20-quiet-data/run.sh qalign S  (the gate's score, then Q-ALIGN DT from the DT's 12k state)
#        experiments/s20-quiet-data/run.sh expert S  (X3: a DT on Hopper `expert` data, its own protocol)
#        experiments/s20-quiet-data/run.sh medium-expert S  (M3: the same on `medium-expert`)
set -e
T=hopper D=control
EXP=${QDT_EXP:-/work/exp}/s20-quiet-data
. "$(dirname "$0")/../lib.sh"
own_runs
export MINARI_DATASETS_PATH=$EXP/datasets
S=$2
R=$QDT_RUNS/$T/$D
case "$1" in
dt)
  [ -d $MINARI_DATASETS_PATH/qalign/$T/$D-v0 ] || nice -n 5 python -m core.data.collect --task $T --quality $D --noise-scale 0.3 > $L/collect.log 2>&1
  [ -f $QDT_CHECKPOINTS/$T/$D/dt/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage dt > $L/dt-s$S.log 2>&1
  read_at_control dt Q$S
  python experiments/s19-long-dt/speed_profile.py $QDT_CHECKPOINTS/$T/$D/dt/model-s$S
  ;;
qalign)  # from the DT's step-12,000 state with this seed's critic, scored by the gate first
  has_quality $S || nice -n 5 python -m core.critic_quality --task $T --dataset $D --seed $S --actor $QDT_CHECKPOINTS/$T/$D/dt/model-s$S > $L/quality-s$S.log 2>&1
  WEAK=$(python -c "import json; print('' if json.load(open('$R/s$S/critic/critic.json'))['quality']['passed'] else '--allow-weak-critic')")
  [ -f $QDT_CHECKPOINTS/$T/$D/qalign/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage qalign $WEAK --cfg.eta-align 1 > $L/qalign-s$S.log 2>&1
  read_at_control qalign A$S
  ;;
expert | medium-expert)  # X3 / M3 (amendments 22:17, 23:10): a DT on one / two policies' data (default data
  # root), its own protocol
  Q=$1 TAG=$([ $1 = expert ] && echo X || echo M)
  export MINARI_DATASETS_PATH=$PWD/data/datasets
  [ -d $MINARI_DATASETS_PATH/qalign/$T/$Q-v0 ] || nice -n 5 python -m core.data.collect --task $T --quality $Q > $L/collect-$Q.log 2>&1
  [ -f $QDT_CHECKPOINTS/$T/$Q/dt/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $Q --seed $S --config mid --stage dt > $L/dt-$Q-s$S.log 2>&1
  eval_seed_sets $TAG$S $Q dt $E10
  python experiments/table.py $(reports $TAG$S)
  python experiments/s20-quiet-data/lengths.py $(reports $TAG$S)
  python experiments/s19-long-dt/speed_profile.py $QDT_CHECKPOINTS/$T/$Q/dt/model-s$S $Q
  ;;
critic)
  [ -f $R/s$S/critic/critic.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage critic > $L/critic-s$S.log 2>&1
  ;;
*) echo "unknown step $1" >&2; exit 2 ;;
esac
