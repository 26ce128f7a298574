# Shared by the device scripts (s22-ladder/gpu.sh, s23-top-ship/gpu*.sh; README "Training on a lent GPU"). Source it
# from the repository root after setting CFG, DEV, DEADLINE, OUT and W (the work folder). It installs the carried
# wheels if the packages are missing, points runs, checkpoints and datasets into $W, and gives:
#   L              the logs folder ($W/logs)
#   t MESSAGE      MESSAGE after the seconds since the script started
#   bg LOG ARGS... a `core.train --dataset $D --config $CFG --device $DEV ARGS` job in the background, its pid
#                  recorded for the watchdog (refused once the deadline has passed)
#   watch PACK     the deadline watchdog: at $DEADLINE s no new job starts, the running ones are killed (their last
#                  saved state stays) and PACK (a function) packs what exists; it exits once $W/done exists
#   finish PACK    the end of a call: the watchdog told to stand down, then PACK (packs once, whoever calls it first)
T0=$(date +%s)
mkdir -p "$OUT" "$W/logs"
if [ -d .whl ] && ! python3 -c "import mujoco, tyro, minari" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export OMP_NUM_THREADS=1 QDT_RUNS=$W/runs QDT_CHECKPOINTS=$W/ckpt MINARI_DATASETS_PATH=$W/data PYTHONUNBUFFERED=1
mkdir -p "$QDT_CHECKPOINTS"; ln -sfn "$PWD/checkpoints/behavior" "$QDT_CHECKPOINTS/behavior"
L=$W/logs
rm -rf "$W/stop" "$W/packed" "$W/pids" "$W/done"
t() { echo "[$(( $(date +%s) - T0 )) s] $*"; }
bg() {
  local log=$1; shift
  [ -f "$W/stop" ] && return 1
  python3 -m core.train --dataset $D --config $CFG --device $DEV "$@" > $L/$log.log 2>&1 &
  echo $! >> "$W/pids"
}
watch() {
  ( for _ in $(seq "$DEADLINE"); do [ -f "$W/done" ] && exit 0; sleep 1; done; touch "$W/stop"; t "deadline: stopping the jobs"; xargs -r kill < "$W/pids" 2>/dev/null; sleep 3; $1 ) &
  WATCH=$!
}
finish() {
  touch "$W/done"; wait $WATCH
  $1
  t "end"
}
