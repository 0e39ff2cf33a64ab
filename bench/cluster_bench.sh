#!/usr/bin/env bash
# bench/cluster_bench.sh — the old system's experiment on a real Slurm cluster of quota nodes
# (issue 30): the same framing_ai job at N = 1, 2, 4 and 8 chunks on 4 always-on and 4 elastic
# nodes, each node a CPU cgroup of NODE_CPUS cores (0.2 by default: 8 nodes fit this 2-core
# VM, and each keeps its share whatever the others do; bench/quota_nodes.sh measures that).
# An elastic node boots in BOOT_S (20 s) and its task waits for slurmctld's periodic check.
# Every run starts with the elastic nodes powered down, so N = 8 pays their cold start.
#
# 1. The class is profiled on one of its nodes (`reelscale profile --cluster`), once.
# 2. Each N runs REPEATS times (3); the table takes the median wall time and bill. Each run
#    starts at a random point of slurmctld's 30 s check period, as jobs arrive: the
#    benchmark's own fixed cadence would lock every cold start to one phase of that check.
# 3. Predicted for the job as `run` saw it (`plan --like` its record: source, content
#    sample, key frames), from that node profile alone (uncalibrated), and calibrated on the
#    other N's records (leave one out). The planner's choices, uncalibrated, under `fastest`
#    and under cheapest-within-deadline (DEADLINE_S), against the measured best.
# 4. A chunk count the planner chose that is not among them is run REPEATS times too.
# The runs do not re-run stragglers (--no-speculate): with it, the executor rescues a cold
# start by running the waiting chunks again on the warm nodes, and N = 8 would measure that,
# not the old system's cold start.
# Billed node-seconds: each chunk's held time on an always-on node (its record), and an
# elastic node's whole period, resume to suspend (DIR/power.log), its idle tail included.
# Prints Markdown (docs/perf/cluster.md).  Usage: bench/cluster_bench.sh BUILD_DIR [WORK_DIR]
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
WORK=${2:-/tmp/reelscale-cluster-bench}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RS="$BUILD/reelscale"
BOOT_S=${BOOT_S:-20}
SUSPEND_S=${SUSPEND_S:-20}
SECONDS_OF_CLIP=${SECONDS_OF_CLIP:-6}
NODE_CPUS=${NODE_CPUS:-0.2}
NODE_PERIOD_MS=${NODE_PERIOD_MS:-20}
REPEATS=${REPEATS:-3}
DEADLINE_S=${DEADLINE_S:-60}
PROFILE=${PROFILE:-}  # a node profile made earlier (skips step 1)
rm -rf "$WORK" && mkdir -p "$WORK"
CL="$WORK/cluster"
"$ROOT/scripts/slurm-cluster.sh" start "$CL" --always 4 --elastic 4 --boot-s "$BOOT_S" --suspend-s "$SUSPEND_S" \
  --node-cpus "$NODE_CPUS" --node-period-ms "$NODE_PERIOD_MS" >&2
trap '"$ROOT/scripts/slurm-cluster.sh" stop "$CL" >&2' EXIT
export SLURM_CONF="$CL/slurm.conf"

# The chunks run on CPU (the GRES are dummy devices): the class is CPU, a whole node (its
# one CPU, its quota) a task, at a CPU node's price; the partition holds all eight nodes.
cat > "$WORK/cluster.json" <<JSON
{"classes": {"CPU": {"partition": "gpu", "gres": "", "cores": 1, "usd_per_hour": 0.34, "cpu_quota": $NODE_CPUS, "nodes": 8}},
 "poll_s": 0.5, "task_log": "$WORK/task-%A_%a.log", "suspend_time_s": $SUSPEND_S, "boot_s": $BOOT_S,
 "controller_check_s": 30}
JSON
echo '{"kind": "serverless", "warm_idle": {"CPU": 4}}' > "$WORK/platform.json"  # the 4 always-on nodes, idle
echo '{"objective": "fastest", "adaptive": true, "time_percentile": "mean"}' > "$WORK/fastest.json"
echo "{\"objective\": \"cheapest_within_deadline\", \"deadline_s\": $DEADLINE_S, \"adaptive\": true, \"time_percentile\": \"mean\"}" \
  > "$WORK/cheapest.json"
cat > "$WORK/job.json" <<JSON
{"endpoint": "framing_ai", "input": "$ROOT/samples/tears_of_steel_10s_640x360.mp4", "output": "$WORK/out.mp4",
 "output_width": 270, "output_height": 480, "preset": "veryfast", "audio": "drop",
 "segments": [{"start": 0, "end": $SECONDS_OF_CLIP}],
 "crop_keyframes": [{"time": 0, "x": 200, "y": 0, "width": 202, "height": 360}]}
JSON

elastic_down() {
  for _ in $(seq 1 600); do
    states=$(sinfo --noheader --Node --partition=elastic --format=%t)
    if [ -n "$states" ] && ! grep -qv '~$' <<< "$states"; then return 0; fi
    sleep 0.5
  done
  echo "the elastic nodes did not power down" >&2
  return 1
}

if [ -z "$PROFILE" ]; then
  "$RS" profile --cluster "$WORK/cluster.json" --hardware CPU --quick --out "$WORK/node-profile" > "$WORK/profile.log"
  PROFILE="$WORK/node-profile/profile.json"
fi

run_once() {  # N REPEAT
  elastic_down
  rm -f "$WORK/out.mp4"
  sleep "$(/usr/bin/python3 -c 'import random; print(round(random.uniform(0, 30), 2))')"
  date +%s.%N > "$WORK/started-$1-$2"
  "$RS" run "$WORK/job.json" --executor slurm --cluster "$WORK/cluster.json" --profile "$PROFILE" --chunks "$1" \
    --no-speculate --json > "$WORK/record-$1-$2.json" 2> "$WORK/run-$1-$2.log"
  elastic_down  # an elastic node's period ends at its suspend
  cp "$CL/power.log" "$WORK/power-$1-$2.log"
}
for r in $(seq "$REPEATS"); do
  for n in 1 2 4 8; do run_once "$n" "$r"; done
done

plan_json() {  # PROFILE POLICY RECORD [--all]: the job of RECORD, planned
  "$RS" plan --profile "$1" --cluster "$WORK/cluster.json" --platform "$WORK/platform.json" --policy "$2" \
    --like "$3" --json "${@:4}" 2>/dev/null
}
for n in 1 2 4 8; do
  plan_json "$PROFILE" "$WORK/fastest.json" "$WORK/record-$n-1.json" --all > "$WORK/plan-uncalibrated-$n.json"
  others=()
  for m in 1 2 4 8; do [ "$m" != "$n" ] && others+=("$WORK"/record-"$m"-*.json); done
  "$RS" calibrate --profile "$PROFILE" "${others[@]}" --out "$WORK/calibrated-without-$n.json" > /dev/null
  plan_json "$WORK/calibrated-without-$n.json" "$WORK/fastest.json" "$WORK/record-$n-1.json" --all > "$WORK/plan-without-$n.json"
done
plan_json "$PROFILE" "$WORK/fastest.json" "$WORK/record-1-1.json" > "$WORK/choice-fastest.json"
plan_json "$PROFILE" "$WORK/cheapest.json" "$WORK/record-1-1.json" > "$WORK/choice-cheapest.json"
for choice in "$WORK"/choice-*.json; do
  n=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["chosen"]["chunks"])' "$choice")
  [ -f "$WORK/record-$n-1.json" ] && continue
  for r in $(seq "$REPEATS"); do run_once "$n" "$r"; done
  plan_json "$PROFILE" "$WORK/fastest.json" "$WORK/record-$n-1.json" --all > "$WORK/plan-uncalibrated-$n.json"
done

/usr/bin/python3 "$ROOT/bench/cluster_table.py" "$WORK" "$REPEATS" "$BOOT_S" "$SUSPEND_S" "$SECONDS_OF_CLIP" "$NODE_CPUS" \
  "$NODE_PERIOD_MS" "$DEADLINE_S"
