#!/usr/bin/env bash
# A container's CPU side by the cores it holds: `reelscale process framing` (decode a
# 1920x1080 clip, crop 608x1080, scale to 810x1440, x264 veryfast CRF 20: the CPU work of
# every GPU container's frame) run inside a cgroup CPU quota of each core count, RUNS times
# each in turn, and the curve ms = serial + parallel / cores fitted to the medians
# (least squares in 1 / cores). The quota is cgroup v1 `cpu` or v2 `cpu.max` (needs root).
# The floor is the source decoded on one thread (the chunk runner's decoder has one).
# Prints a Markdown table and the fitted curve as JSON (a profile's cpu_side_by_cores).
# Usage: bench/cpu_side_cores.sh BUILD_DIR WORK_DIR [CORES (default "0.5 1 1.5 2")] [RUNS (default 3)]
set -euo pipefail
BUILD=$(realpath "${1:-build}")
WORK=${2:-/tmp/reelscale-bench}
CORES=${3:-"0.5 1 1.5 2"}
RUNS=${4:-3}
mkdir -p "$WORK"
SRC="$WORK/src-1920x1080.mp4"
[ -f "$SRC" ] || ffmpeg -y -v error -f lavfi -i testsrc2=size=1920x1080:rate=30 -t 10 \
  -c:v libx264 -preset veryfast -g 60 -pix_fmt yuv420p "$SRC"
JOB="$WORK/cpu-side.json"
cat > "$JOB" <<JSON
{"endpoint": "framing", "input": "$SRC", "output": "$WORK/cpu-side.mp4", "output_width": 810,
 "output_height": 1440, "fps": 30, "audio": "drop",
 "crop_keyframes": [{"time": 0, "x": 656, "y": 0, "width": 608, "height": 1080}]}
JSON
PERIOD_US=100000
GROUP=""
if [ -d /sys/fs/cgroup/cpu ] && [ -w /sys/fs/cgroup/cpu ]; then
  GROUP=/sys/fs/cgroup/cpu/reelscale-cpu-side-$$
  mkdir "$GROUP"
  set_quota() { echo "$PERIOD_US" > "$GROUP/cpu.cfs_period_us"; echo "$1" > "$GROUP/cpu.cfs_quota_us"; }
  join_group() { echo "$1" > "$GROUP/tasks"; }
elif [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
  echo "+cpu" > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
  GROUP=/sys/fs/cgroup/reelscale-cpu-side-$$
  mkdir "$GROUP"
  set_quota() { echo "$1 $PERIOD_US" > "$GROUP/cpu.max"; }
  join_group() { echo "$1" > "$GROUP/cgroup.procs"; }
else
  echo "no writable CPU cgroup controller here (run as root on cgroup v1 or v2)" >&2
  exit 2
fi
cleanup() { [ -n "$GROUP" ] && rmdir "$GROUP" 2>/dev/null || true; }
trap cleanup EXIT

# ms per output frame of the chunk's steady part (the record: chunk less open and pre-roll)
frame_ms() {
  /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin); c=r["chunk_results"][0]; t=c["timings_s"]
print(1000 * (t["chunk"] - t["open"] - t["preroll"]) / c["frames"])'
}
run_in_group() {
  # the shell joins the group first, so reelscale and its threads start inside it
  bash -c 'echo $$ > "$0"; exec "$@"' "$1" "$BUILD/reelscale" process framing --job "$JOB" --json 2>/dev/null
}
tasks_file() { if [ -f "$GROUP/tasks" ]; then echo "$GROUP/tasks"; else echo "$GROUP/cgroup.procs"; fi; }

declare -A samples
for run in $(seq "$RUNS"); do
  for c in $CORES; do
    set_quota "$(awk -v c="$c" -v p="$PERIOD_US" 'BEGIN {printf "%d", c * p}')"
    samples[$c]+="$(run_in_group "$(tasks_file)" | frame_ms) "
  done
done
echo "| cores (CPU quota) | threads reelscale used | ms per frame (median of $RUNS) | runs |"
echo "|---|---|---|---|"
points=""
for c in $CORES; do
  med=$(printf '%s\n' ${samples[$c]} | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
  set_quota "$(awk -v c="$c" -v p="$PERIOD_US" 'BEGIN {printf "%d", c * p}')"
  threads=$(bash -c 'echo $$ > "$0"; exec "$@"' "$(tasks_file)" "$BUILD/reelscale" cores)
  printf "| %s | %s | %.2f | %s |\n" "$c" "$threads" "$med" "${samples[$c]}"
  points+="[$c, $med],"
done
# The floor: decoding the source on one thread, which the chunk runner's decoder does.
/usr/bin/time -o "$WORK/decode-time" -f "%U %S" ffmpeg -v error -threads 1 -i "$SRC" -f null - 
frames=$(ffprobe -v error -count_packets -select_streams v:0 -show_entries stream=nb_read_packets -of csv=p=0 "$SRC")
floor=$(awk -v n="$frames" '{printf "%.3f", 1000 * ($1 + $2) / n}' "$WORK/decode-time")
echo
echo "decoding the 1920x1080 source on one thread: $floor ms per frame (the floor)"
/usr/bin/python3 - "[${points%,}]" "$floor" <<'PY'
import json, sys
pts = json.loads(sys.argv[1]); floor = float(sys.argv[2])
n = len(pts); xs = [1 / c for c, _ in pts]; ys = [m for _, m in pts]
sx, sy = sum(xs), sum(ys); sxx = sum(x * x for x in xs); sxy = sum(x * y for x, y in zip(xs, ys))
par = (n * sxy - sx * sy) / (n * sxx - sx * sx); ser = (sy - par * sx) / n
if ser < 0: ser, par = 0.0, sxy / sxx
worst = max(abs(ser + par / c - m) / m for c, m in pts)
print(f"\nfit: ms = {ser:.2f} + {par:.2f} / cores (largest residual {100 * worst:.1f} %)")
print(json.dumps({"serial_ms": round(ser, 3), "parallel_ms": round(par, 3), "floor_ms": floor}))
PY
