# Set-up shared by the experiment scripts; source it after setting EXP (the run's output folder):
#   EXP=${QDT_EXP:-/work/exp}/<name>; . "$(dirname "$0")/../lib.sh"
# It moves to the repository root, activates .venv if no venv is active, runs one torch thread with EGL, and gives
# L (the logs folder), E10 (the ablation protocol's evaluation options) and:
#   own_runs      QDT_RUNS / QDT_CHECKPOINTS under $EXP (behaviour snapshots linked in from the repository)
#   has_quality   whether the seed-0 critic of $R has been scored by core.critic_quality
cd "$(git -C "$(dirname "${BASH_SOURCE[1]}")" rev-parse --show-toplevel)"
[ -n "$VIRTUAL_ENV" ] || . .venv/bin/activate
export OMP_NUM_THREADS=1 MUJOCO_GL=egl
L=$EXP/logs
mkdir -p "$L"
E10="--n-targets 10 --high-factor 1.2 --episodes 5 --no-png"
own_runs() {
  export QDT_RUNS=$EXP/runs QDT_CHECKPOINTS=$EXP/ckpt
  mkdir -p "$QDT_CHECKPOINTS"
  ln -sfn "$PWD/checkpoints/behavior" "$QDT_CHECKPOINTS/behavior"
}
has_quality() {
  python -c "import json, sys; sys.exit('quality' not in json.load(open('$R/s0/critic/critic.json')))" 2>/dev/null
}
