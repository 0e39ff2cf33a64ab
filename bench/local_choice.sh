#!/usr/bin/env bash
# bench/local_choice.sh — on owned local slots, does the planner choose between one chunk on
# all the cores and one chunk per core as the measured times would (issue 30)? With a quick
# profile of this machine, two held-out jobs: framing_ai, 4 s of a 1280x720 clip cropped
# 202x360 to 404x720; framing, a 600-frame clip with a key frame every 300, cropped 405x720
# to 810x1440. Each runs REPEATS times (3) at N = 1 and N = 2 (median wall time) and once
# planned (no --chunks); the planner's choice is judged against the faster N. Prints Markdown.
#   bench/local_choice.sh BUILD_DIR [WORK_DIR]
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
WORK=${2:-/tmp/reelscale-local-choice}
RS="$BUILD/reelscale"
REPEATS=${REPEATS:-3}
rm -rf "$WORK" && mkdir -p "$WORK"

"$RS" profile --quick --out "$WORK/profile" > "$WORK/profile.log" 2>&1
ffmpeg -v error -y -f lavfi -i testsrc2=s=1280x720:r=30:d=5 -c:v libx264 -preset veryfast -pix_fmt yuv420p "$WORK/ai.mp4"
ffmpeg -v error -y -f lavfi -i testsrc2=s=1280x720:r=30:d=20 -c:v libx264 -preset veryfast -g 300 -keyint_min 300 \
  -sc_threshold 0 -pix_fmt yuv420p "$WORK/gop300.mp4"
cat > "$WORK/ai.json" <<JSON
{"endpoint": "framing_ai", "input": "$WORK/ai.mp4", "output": "$WORK/out.mp4", "output_width": 404, "output_height": 720,
 "preset": "veryfast", "audio": "drop", "segments": [{"start": 0, "end": 4}],
 "crop_keyframes": [{"time": 0, "x": 100, "y": 0, "width": 202, "height": 360}, {"time": 4, "x": 900, "y": 300, "width": 202, "height": 360}]}
JSON
cat > "$WORK/framing.json" <<JSON
{"endpoint": "framing", "input": "$WORK/gop300.mp4", "output": "$WORK/out.mp4", "output_width": 810, "output_height": 1440,
 "preset": "veryfast", "audio": "drop",
 "crop_keyframes": [{"time": 0, "x": 0, "y": 0, "width": 405, "height": 720}, {"time": 20, "x": 875, "y": 0, "width": 405, "height": 720}]}
JSON

run() {  # JOB [--chunks N] -> the record
  rm -f "$WORK/out.mp4"
  "$RS" run "$1" --profile "$WORK/profile/profile.json" --json "${@:2}" 2>/dev/null
}
for job in ai framing; do
  for n in 1 2; do
    for r in $(seq "$REPEATS"); do run "$WORK/$job.json" --chunks "$n" > "$WORK/$job-$n-$r.json"; done
  done
  run "$WORK/$job.json" > "$WORK/$job-planned.json"
done

/usr/bin/python3 - "$WORK" "$REPEATS" <<'PY'
import json, statistics, sys
work, repeats = sys.argv[1], int(sys.argv[2])
print("| job | N = 1 s (median) | N = 2 s (median) | planned N | predicted N = 1 / N = 2 s | chosen against the best | speed the plan assumed |")
print("|---|---:|---:|---:|---:|---:|---|")
for job, what in (("ai", "framing_ai 4 s, 1280x720 crop 202x360 to 404x720"), ("framing", "framing 600 frames, GOP 300, to 810x1440")):
    wall = {n: statistics.median(json.load(open(f"{work}/{job}-{n}-{r}.json"))["timings_s"]["total"] for r in range(1, repeats + 1)) for n in (1, 2)}
    planned = json.load(open(f"{work}/{job}-planned.json"))["plan"]
    chosen = planned["chunks"]
    best = min(wall.values())
    by = planned.get("wall_by_chunks_s", {})
    print(f"| {what} | {wall[1]:.2f} | {wall[2]:.2f} | {chosen} | {by.get('1', 0):.2f} / {by.get('2', 0):.2f} | "
          f"{100 * (wall[chosen] / best - 1):+.0f} % | {planned.get('chunk_speed_from', '')} |")
PY
