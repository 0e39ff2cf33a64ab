#!/usr/bin/env bash
# Per-chunk overhead of parallel runs on this machine and the planner's predictions
# against measured wall times. Starts a Swift S3 server and three workers on loopback.
# Prints Markdown (recorded in docs/perf/parallel.md).
# Usage: bench/parallel_bench.sh BUILD_DIR WORK_DIR
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
WORK=${2:-/tmp/reelscale-parallel}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$WORK"
RS="$BUILD/reelscale"
PORT=$((30000 + RANDOM % 5000))
"$ROOT/scripts/s3-server.sh" start "$WORK/swift" $PORT >/dev/null
export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT AWS_ACCESS_KEY_ID=test:tester AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; "$ROOT/scripts/s3-server.sh" stop "$WORK/swift"; }
trap cleanup EXIT

SRC="$WORK/src-30s.mp4"
[ -f "$SRC" ] || ffmpeg -y -v error -f lavfi -i testsrc2=size=1280x720:rate=30 -t 30 -c:v libx264 -preset veryfast -g 60 "$SRC"
"$RS" store mb bench
"$RS" store put "$SRC" s3://bench/in/src-30s.mp4

start_ms() { date +%s%3N; }
echo "### Worker process start-up (spawn to /healthz answering)"
echo
echo "| worker | start-up ms |"
echo "|---|---|"
W=()
for i in 1 2 3; do
  port=$((PORT + 200 + i))
  t0=$(start_ms)
  "$RS" worker --listen 127.0.0.1:$port --scratch "$WORK" >"$WORK/worker$i.log" 2>&1 &
  pids+=($!)
  until curl -sf http://127.0.0.1:$port/healthz >/dev/null; do sleep 0.02; done
  echo "| $i | $(( $(start_ms) - t0 )) |"
  W+=("http://127.0.0.1:$port")
done
WORKERS=$(IFS=,; echo "${W[*]}")

cat > "$WORK/job.json" <<JSON
{"endpoint": "framing", "input": "s3://bench/in/src-30s.mp4", "output": "s3://bench/out/reel.mp4", "output_width": 540,
 "output_height": 960, "fps": 30, "preset": "ultrafast", "audio": "drop",
 "crop_keyframes": [{"time": 0, "x": 100, "y": 0, "width": 405, "height": 720}, {"time": 25, "x": 800, "y": 0, "width": 405, "height": 720}]}
JSON
echo
echo "### Per-chunk overhead, 3 remote workers, framing 900 frames (30 s) from S3 to S3"
echo
echo "| N | wall s | dispatch s | mean round trip − task s (HTTP + queueing) | mean task open s | mean pre-roll s | input read per chunk (of $(stat -c %s "$SRC") B) | collect + join s | cleanup s |"
echo "|---|---|---|---|---|---|---|---|---|"
for n in 1 2 3 4 6 8; do
  "$RS" run "$WORK/job.json" --chunks $n --workers "$WORKERS" --json 2>/dev/null > "$WORK/run$n.json"
  python3 - "$WORK/run$n.json" $n <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); n = int(sys.argv[2]); t = r["timings_s"]; c = r["chunk_results"]
rt = sum(x["timings_s"]["round_trip"] - x["timings_s"]["task"] for x in c) / len(c)
op = sum(x["timings_s"]["open"] for x in c) / len(c)
pr = sum(x["timings_s"]["preroll"] for x in c) / len(c)
rd = sum(x["input_bytes_read"] for x in c) / len(c)
print(f"| {n} | {t['total']:.2f} | {t['dispatch']:.2f} | {rt:.3f} | {op:.3f} | {pr:.3f} | {rd/1e6:.2f} MB | {t['collect_chunks'] + t['join']:.2f} | {t['cleanup']:.2f} |")
PY
done

echo
echo "### Predicted against measured (local slots, measured profile)"
echo
mkdir -p "$WORK/profile"
"$RS" profile --out "$WORK/profile" --lengths 2,5 --ai-frames 3 >/dev/null 2>&1
echo "| clip s | N (planner) | predicted mean s | measured s | measured / predicted |"
echo "|---|---|---|---|---|"
predict_and_run() {  # PROFILE LABEL
for len in 5 15 30; do
  ffmpeg -y -v error -f lavfi -i testsrc2=size=1920x1080:rate=30 -t $len -c:v libx264 -preset ultrafast -g 60 "$WORK/local$len.mp4"
  cat > "$WORK/local.json" <<JSON
{"endpoint": "framing", "input": "$WORK/local$len.mp4", "output": "$WORK/local-out.mp4", "fps": 30, "audio": "drop",
 "crop_keyframes": [{"time": 0, "x": 656, "y": 0, "width": 608, "height": 1080}]}
JSON
  "$RS" run "$WORK/local.json" --profile "$1" --json 2>/dev/null > "$WORK/local$len-$2.json"
  python3 - "$WORK/local$len-$2.json" $len "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); p = r["plan"]; t = r["timings_s"]["total"] + r["timings_s"]["orchestrator_start"]
print(f"| {sys.argv[2]} ({sys.argv[3]}) | {p['chunks']} | {p['wall_mean_s']:.2f} | {t:.2f} | {t / p['wall_mean_s']:.2f} |")
PY
done
}
predict_and_run "$WORK/profile/profile.json" profiled
# Calibrate the profile from these three job records, then predict and run again.
"$RS" calibrate "$WORK"/local*-profiled.json --profile "$WORK/profile/profile.json" --out "$WORK/calibrated.json" >/dev/null
predict_and_run "$WORK/calibrated.json" calibrated
