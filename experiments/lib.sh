# Set-up shared by the experiment scripts; source it after setting EXP (the run's output folder):
#   EXP=${QDT_EXP:-/work/exp}/<name>; . "$(dirname "$0")/../lib.sh"
# It moves to the repository root, activates .venv if no venv is active, runs one torch thread with EGL, and gives
# L (the logs folder), E10 (the ablation protocol's evaluation options) and:
#   own_runs [RUNS [CKPT]]  QDT_RUNS / QDT_CHECKPOINTS (default $EXP/runs and $EXP/ckpt; behaviour snapshots linked
#                           in from the repository)
#   has_quality   whether the seed-0 critic of $R has been scored by core.critic_quality
#   weak_flag [SEED]  `--allow-weak-critic` if the critic of $R/s$SEED (default 0) failed the gate, else nothing
#                 (the override only where the gate asks for it)
#   qalign_from SRC S LOG OPTS...  Q-ALIGN DT of $T / $D, seed S (`--config mid` + OPTS), from the DT state
#                 SRC/$T/$D/s$S/pretrain (copied into $R; SRC empty: $R's own), with the critic of
#                 $R/s${CRITIC_SEED:-0} (linked) and weak_flag's override; log $L/qalign-LOG.log; skipped where
#                 the model exists
#   same_data TASK DATASET SHA  stops the script unless the dataset (under $MINARI_DATASETS_PATH) has fingerprint SHA
#                 (a shipped model's `data_fingerprint.sha256`); prints it
#   eval_seed_sets TAG DATASET MODELS [OPTS...]  core.evaluate of $T, seed $S, on the validation (300000+) and test
#                           (100000+) seed sets into $EXP/TAG-eval-E (skipped where the report exists)
#   reports TAG   the two reports eval_seed_sets wrote (validation first)
#   default_targets STATS   the 10 default requests (p5 .. 1.2x best) of the model JSON STATS's data, to read another
#                           model at that data's requests (scored on its range by s19-long-dt/rescore.py)
#   read_at_control MODELS TAG   both seed sets of $D at the shown `control` DT's data's 10 requests (of $T), scored
#                           on that data's range (s19-long-dt/rescore.py), then the episodes' lengths (s20's lengths.py)
cd "$(git -C "$(dirname "${BASH_SOURCE[1]}")" rev-parse --show-toplevel)"
[ -n "$VIRTUAL_ENV" ] || . .venv/bin/activate
export OMP_NUM_THREADS=1 MUJOCO_GL=egl
L=$EXP/logs
mkdir -p "$L"
E10="--n-targets 10 --high-factor 1.2 --episodes 5 --no-png"
own_runs() {
  export QDT_RUNS=${1:-$EXP/runs} QDT_CHECKPOINTS=${2:-$EXP/ckpt}
  mkdir -p "$QDT_CHECKPOINTS"
  ln -sfn "$PWD/checkpoints/behavior" "$QDT_CHECKPOINTS/behavior"
}
has_quality() {  # [SEED]: the critic of $R/s$SEED (default 0)
  python -c "import json, sys; sys.exit('quality' not in json.load(open('$R/s${1:-0}/critic/critic.json')))" 2>/dev/null
}
weak_flag() {
  python -c "import json; print('' if json.load(open('$R/s${1:-0}/critic/critic.json'))['quality']['passed'] else '--allow-weak-critic')"
}
qalign_from() {
  local src=$1 S=$2 log=$3 cs=${CRITIC_SEED:-0}
  shift 3
  mkdir -p $R/s$S; [ -e $R/s$S/critic ] || ln -s ../s$cs/critic $R/s$S/critic
  [ -z "$src" ] || [ -d $R/s$S/pretrain ] || cp -r $src/$T/$D/s$S/pretrain $R/s$S/pretrain
  [ -f $QDT_CHECKPOINTS/$T/$D/qalign/model-s$S.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed $S --config mid --stage qalign $(weak_flag $cs) "$@" > $L/qalign-$log.log 2>&1
}
same_data() {
  python -c "
import sys
from core.data.dataset import load_offline_data
from core.data.fingerprint import fingerprint
got = fingerprint(load_offline_data('$1', '$2'))['sha256']
print('fingerprint', got)
sys.exit(0 if got == '$3' else f'$1 / $2 rebuilt as {got}, not $3: not the data it must be')"
}
eval_seed_sets() {
  local tag=$1 data=$2 models=$3
  shift 3
  for E in 300000 100000; do
    [ -f $EXP/$tag-eval-$E/report.json ] || nice -n 5 python -m core.evaluate --task $T --dataset $data --seed $S --models $models "$@" --eval-seed $E --out $EXP/$tag-eval-$E > $L/eval-$tag-$E.log 2>&1
  done
}
reports() {
  echo $EXP/$1-eval-300000/report.json $EXP/$1-eval-100000/report.json
}
default_targets() {
  python -c "import json, numpy as np; s = json.load(open('$1'))['return_stats']; print(*np.linspace(s['p5'], 1.2 * s['max'], 10).round(3))"
}
read_at_control() {
  local stats=checkpoints/$T/control/dt/model.json
  eval_seed_sets $2 $D $1 --targets $(default_targets $stats) --episodes 5 --no-png
  python experiments/s19-long-dt/rescore.py $(reports $2) --stats $stats
  python experiments/s20-quiet-data/lengths.py $(reports $2)
}
# Session 15's Hopper `control` critic and DT states reused by s16 and s17 (T, D, R and QDT_CHECKPOINTS set first):
#   continue_s15_critic ARM OPTS...  its seed-0 SARSA critic (`mid`, 50k steps, resumable state) copied into $R/s0
#                                    and continued to 70k with OPTS, then scored by the gate (alignment pairs with
#                                    session 15's seed-4 DT)
#   qalign_from_s15 S TAG OPTS...    Q-ALIGN DT from session 15's seed-S DT state (step 12,000) with the critic of
#                                    $R/s$CRITIC_SEED (default 0; `--config mid --cfg.eta-align 1` + OPTS), then both
#                                    seed sets into $EXP/TAG-eval-E
S15=${QDT_EXP:-/work/exp}/s15-control-seeds
continue_s15_critic() {
  local arm=$1
  shift
  if [ ! -d $R/s0/critic ]; then
    mkdir -p $R/s0; cp -r $S15/runs/$T/$D/s0/critic $R/s0/critic; rm -f $R/s0/critic/critic.*
  fi
  [ -f $R/s0/critic/critic.json ] || nice -n 5 python -m core.train --task $T --dataset $D --seed 0 --config mid --stage critic --cfg.critic-steps 70000 "$@" > $L/critic-$arm.log 2>&1
  has_quality || nice -n 5 python -m core.critic_quality --task $T --dataset $D --actor $S15/ckpt/$T/$D/dt/model-s4 > $L/quality-$arm.log 2>&1
}
qalign_from_s15() {
  local S=$1 tag=$2
  shift 2
  qalign_from $S15/runs $S $tag --cfg.eta-align 1 "$@"
  eval_seed_sets $tag $D qalign $E10  # $S: this function's local
}
