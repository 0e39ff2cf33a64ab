#!/usr/bin/env bash
# bench/cluster_bench.sh — the old system's experiment, on a real Slurm cluster: the same
# framing_ai job at N = 1, 2, 4 and 8 chunks on 4 always-on and 4 elastic nodes (a cold
# start of BOOT_S, 20 s by default, plus the controller's own delay), each run starting with
# the elastic nodes powered down. Tabulates measured against predicted wall time and billed
# node-seconds, predicted by the built-in profile (uncalibrated) and by a profile calibrated
# on the other three runs' records (`reelscale calibrate`), and the choice of the planner
# (objective fastest) calibrated on all four against the measured best. Predictions see the
# cluster file (node count, price, SuspendTime) and the 4 always-on nodes as warm places.
# Prints Markdown (docs/perf/cluster.md).  Usage: bench/cluster_bench.sh BUILD_DIR [WORK_DIR]
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
WORK=${2:-/tmp/reelscale-cluster-bench}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RS="$BUILD/reelscale"
BOOT_S=${BOOT_S:-20}
SUSPEND_S=${SUSPEND_S:-20}
SECONDS_OF_CLIP=${SECONDS_OF_CLIP:-8}
rm -rf "$WORK" && mkdir -p "$WORK"
CL="$WORK/cluster"
"$ROOT/scripts/slurm-cluster.sh" start "$CL" --always 4 --elastic 4 --boot-s "$BOOT_S" --suspend-s "$SUSPEND_S" >&2
trap '"$ROOT/scripts/slurm-cluster.sh" stop "$CL" >&2' EXIT
export SLURM_CONF="$CL/slurm.conf"

# The chunks run on CPU (the GRES are dummy devices): the class is CPU, a whole node (its 2
# cores) a task, at a CPU node's price; the partition holds all eight nodes.
cat > "$WORK/cluster.json" <<EOF
{"classes": {"CPU": {"partition": "gpu", "gres": "", "cores": 2, "usd_per_hour": 0.34}},
 "poll_s": 0.5, "task_log": "$WORK/task-%A_%a.log", "suspend_time_s": $SUSPEND_S}
EOF
echo '{"kind": "serverless", "warm_idle": {"CPU": 4}}' > "$WORK/platform.json"
echo '{"objective": "fastest", "adaptive": true}' > "$WORK/policy.json"  # adaptive: the plan sees the warm nodes
cat > "$WORK/job.json" <<EOF
{"endpoint": "framing_ai", "input": "$ROOT/samples/tears_of_steel_10s_640x360.mp4", "output": "$WORK/out.mp4",
 "output_width": 270, "output_height": 480, "preset": "veryfast", "audio": "drop",
 "segments": [{"start": 0, "end": $SECONDS_OF_CLIP}],
 "crop_keyframes": [{"time": 0, "x": 200, "y": 0, "width": 202, "height": 360}]}
EOF

elastic_down() {
  for _ in $(seq 1 600); do
    states=$(sinfo --noheader --Node --partition=elastic --format=%t)
    if [ -n "$states" ] && ! grep -qv '~$' <<< "$states"; then return 0; fi
    sleep 0.5
  done
  echo "the elastic nodes did not power down" >&2
  return 1
}

for n in 1 2 4 8; do
  elastic_down
  rm -f "$WORK/out.mp4"
  "$RS" run "$WORK/job.json" --executor slurm --cluster "$WORK/cluster.json" --chunks "$n" --json > "$WORK/record-$n.json" 2> "$WORK/run-$n.log"
done

predict() {  # PROFILE N -> "wall_mean_s cost_usd" of the CPU x N candidate
  "$RS" plan --profile "$1" --cluster "$WORK/cluster.json" --platform "$WORK/platform.json" --endpoint framing_ai \
    --length "$SECONDS_OF_CLIP" --width 270 --height 480 --source-width 640 --source-height 360 --policy "$WORK/policy.json" \
    --json --all | /usr/bin/python3 -c '
import json, sys
plan = json.load(sys.stdin)
c = [c for c in plan["candidates"] if c["hardware"] == "CPU" and c["chunks"] == int(sys.argv[1])][0]
print(c["time_s"]["mean"], c["cost_usd"]["total"])' "$2"
}

for n in 1 2 4 8; do
  others=()
  for m in 1 2 4 8; do [ "$m" != "$n" ] && others+=("$WORK/record-$m.json"); done
  "$RS" calibrate "${others[@]}" --out "$WORK/calibrated-without-$n.json" > /dev/null
  echo "$n $(predict reelscale "$n") $(predict "$WORK/calibrated-without-$n.json" "$n")" >> "$WORK/predictions.txt"
done
"$RS" calibrate "$WORK"/record-{1,2,4,8}.json --out "$WORK/calibrated-all.json" > /dev/null
CHOICE=$("$RS" plan --profile "$WORK/calibrated-all.json" --cluster "$WORK/cluster.json" --platform "$WORK/platform.json" \
  --endpoint framing_ai --length "$SECONDS_OF_CLIP" --width 270 --height 480 --source-width 640 --source-height 360 \
  --policy "$WORK/policy.json" --json | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["chosen"]["chunks"])')

/usr/bin/python3 - "$WORK" "$CHOICE" "$BOOT_S" "$SUSPEND_S" "$SECONDS_OF_CLIP" <<'EOF'
import json, sys
work, choice, boot, suspend, clip = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
price = 0.34 / 3600
rows = {}
for line in open(f"{work}/predictions.txt"):
    n, wu, cu, wc, cc = line.split()
    rows[int(n)] = tuple(map(float, (wu, cu, wc, cc)))
def pct(p, m):
    return f"{100 * (p / m - 1):+.0f} %"
print(f"framing_ai, {clip} s of the 640x360 sample to 270x480, on 4 always-on and 4 elastic nodes "
      f"(boot {boot} s, SuspendTime {suspend} s); each run starts with the elastic nodes powered down.\n")
print("| N | cold chunks | measured wall s | predicted, uncalibrated | calibrated on the others | "
      "billed node-s | predicted, uncalibrated | calibrated on the others |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
measured = {}
for n in (1, 2, 4, 8):
    r = json.load(open(f"{work}/record-{n}.json"))
    wall = r["timings_s"]["total"]
    billed = r["billed_seconds"]
    cold = sum(1 for c in r["chunk_results"] if c.get("start") == "cold")
    measured[n] = wall
    wu, cu, wc, cc = rows[n]
    print(f"| {n} | {cold} | {wall:.1f} | {wu:.1f} ({pct(wu, wall)}) | {wc:.1f} ({pct(wc, wall)}) | {billed:.1f} | "
          f"{cu / price:.1f} ({pct(cu / price, billed)}) | {cc / price:.1f} ({pct(cc / price, billed)}) |")
best = min(measured, key=measured.get)
print(f"\nMeasured fastest: N = {best} ({measured[best]:.1f} s). The planner calibrated on all four runs (objective "
      f"fastest) chooses N = {choice}, measured {measured[choice]:.1f} s: {pct(measured[choice], measured[best])} "
      f"against the best.")
EOF
