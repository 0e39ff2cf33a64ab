#!/usr/bin/env bash
# Local slots planned for time: with a profile measured here (thread scaling included),
# each endpoint's job on the bundled Tears of Steel clip run at N = 1..cores chunks (best
# of 2), against the chunk count `reelscale run` chooses by itself and its prediction.
# Prints Markdown (recorded in docs/perf/parallel.md).
# Usage: bench/local_slots_bench.sh BUILD_DIR WORK_DIR
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
WORK=${2:-/tmp/reelscale-local-slots}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RS="$BUILD/reelscale"
SRC="$ROOT/samples/tears_of_steel_10s_640x360.mp4"
CORES=$(nproc)
mkdir -p "$WORK/profile"
"$RS" profile --out "$WORK/profile" --lengths 2,5 --ai-frames 6 >/dev/null 2>&1

job() {  # ENDPOINT -> job file
  local crop='"output_width": 404, "output_height": 720, "crop_keyframes": [{"time": 0, "x": 100, "y": 0, "width": 202, "height": 360}, {"time": 4, "x": 300, "y": 0, "width": 202, "height": 360}]'
  case $1 in
    framing) extra="$crop" ;;
    framing_ai) extra="$crop, \"segments\": [{\"start\": 0, \"end\": 4}]" ;;
    overlay) extra='"highlight_keyframes": [{"time": 0, "x": 200, "y": 180, "rx": 60, "ry": 90}]' ;;
  esac
  echo "{\"endpoint\": \"$1\", \"input\": \"$SRC\", \"output\": \"$WORK/out-$1.mp4\", \"preset\": \"veryfast\", $extra}" > "$WORK/$1.json"
  echo "$WORK/$1.json"
}
wall() {  # RECORD -> "total chunks predicted"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%.2f %d %.2f" % (r["timings_s"]["total"], r["chunks"], r["plan"]["wall_mean_s"]))' "$1"
}

header="| endpoint | frames |"
sep="|---|---|"
for n in $(seq 1 "$CORES"); do header="$header N=$n s |"; sep="$sep---|"; done
echo "$header run's choice | its time s | predicted s | choice / best |"
echo "$sep---|---|---|---|"
for ep in framing overlay framing_ai; do
  J=$(job $ep)
  row="| $ep |"
  best=1e9; declare -A at=()
  for n in $(seq 1 "$CORES"); do
    t=1e9
    for rep in 1 2; do
      "$RS" run "$J" --profile "$WORK/profile/profile.json" --chunks $n --json 2>/dev/null > "$WORK/r.json"
      read -r s _ _ <<< "$(wall "$WORK/r.json")"
      t=$(python3 -c "print(min($t, $s))")
    done
    at[$n]=$t
    best=$(python3 -c "print(min($best, $t))")
    row="$row $t |"
  done
  frames=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["frames"])' "$WORK/r.json")
  "$RS" run "$J" --profile "$WORK/profile/profile.json" --json 2>/dev/null > "$WORK/auto.json"
  read -r s chosen predicted <<< "$(wall "$WORK/auto.json")"
  t=$(python3 -c "print(min($s, ${at[$chosen]:-1e9}))")
  echo "${row/| $ep |/| $ep | $frames |} N=$chosen | $t | $predicted | $(python3 -c "print(f'{$t/$best:.2f}')") |"
done
echo
echo "Thread scaling the profile measured (per-frame time relative to one chunk alone on all $CORES cores):"
echo
sed -n '/^| endpoint | alone/,/^$/p' "$WORK/profile/profile.md"
