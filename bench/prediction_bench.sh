#!/usr/bin/env bash
# Predictions on jobs the profile never saw. Profiles this machine once (`reelscale
# profile`), then runs held-out jobs — sources of 360p, 480p, 720p and 1080p; framing,
# overlay and framing_ai; 3 to 30 s; N = 1, 2 and 4 — on local slots with that profile,
# and tabulates measured against predicted time. Then calibrates a copy of the profile on
# half the jobs' records (`reelscale calibrate`) and reruns the other half with it.
# Prints Markdown (docs/perf/prediction.md).  Usage: bench/prediction_bench.sh BUILD_DIR WORK_DIR
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
WORK=${2:-/tmp/reelscale-prediction}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RS="$BUILD/reelscale"
mkdir -p "$WORK/profile"
[ -f "$WORK/profile/profile.json" ] || "$RS" profile --out "$WORK/profile" --lengths 2,5 --ai-frames 6 >/dev/null 2>&1
[ -f "$WORK/src720.mp4" ] || ffmpeg -v error -y -f lavfi -i testsrc2=size=1280x720:rate=30 -t 20 -c:v libx264 -preset veryfast -g 60 "$WORK/src720.mp4"
[ -f "$WORK/src1080.mp4" ] || ffmpeg -v error -y -f lavfi -i testsrc2=size=1920x1080:rate=30 -t 30 -c:v libx264 -preset veryfast -g 60 "$WORK/src1080.mp4"
T="$ROOT/samples/tears_of_steel_10s_640x360.mp4"; A="$ROOT/samples/asl_walk.mkv"
# name | endpoint | source | seconds | output WxH (framing*) | chunks
JOBS="f360|framing|$T|10|404x720|1
o480|overlay|$A|2.9|-|1
ai360|framing_ai|$T|3|404x720|2
f1080|framing|$WORK/src1080.mp4|30|810x1440|4
o720|overlay|$WORK/src720.mp4|15|-|2
ai480|framing_ai|$A|2.9|270x480|1
f720|framing|$WORK/src720.mp4|20|540x960|2
o1080|overlay|$WORK/src1080.mp4|8|-|4
ai720|framing_ai|$WORK/src720.mp4|3|404x720|4
f480|framing|$A|2.9|360x640|2"
job_file() {  # NAME ENDPOINT SOURCE SECONDS SIZE
  local w=${5%x*} h=${5#*x} extra
  read -r SW SH <<< "$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0:s=x "$3" < /dev/null | tr x ' ')"
  case $2 in
    framing|framing_ai)
      local cw=$(( SH * w / h / 2 * 2 )); [ $cw -gt $SW ] && cw=$SW
      extra="\"output_width\": $w, \"output_height\": $h, \"crop_keyframes\": [{\"time\": 0, \"x\": 0, \"y\": 0, \"width\": $cw, \"height\": $SH}, {\"time\": $4, \"x\": $(( SW - cw )), \"y\": 0, \"width\": $cw, \"height\": $SH}]" ;;
    overlay)
      extra="\"highlight_keyframes\": [{\"time\": 0, \"x\": $(( SW / 3 )), \"y\": $(( SH / 2 )), \"rx\": $(( SW / 8 )), \"ry\": $(( SH / 5 ))}]" ;;
  esac
  echo "{\"endpoint\": \"$2\", \"input\": \"$3\", \"output\": \"$WORK/$1.mp4\", \"preset\": \"veryfast\", \"audio\": \"drop\",
 \"segments\": [{\"start\": 0, \"end\": $4}], $extra}" > "$WORK/$1.json"
}
run_all() {  # PROFILE TAG WHICH(all|odd|even)
  local i=0
  while IFS='|' read -r name ep src secs size n; do
    i=$((i + 1))
    if [ "$3" = odd ] && [ $((i % 2)) -eq 0 ]; then continue; fi
    if [ "$3" = even ] && [ $((i % 2)) -eq 1 ]; then continue; fi
    job_file "$name" "$ep" "$src" "$secs" "$size"
    "$RS" run "$WORK/$name.json" --profile "$1" --chunks "$n" --json 2>/dev/null > "$WORK/$name-$2.json" < /dev/null
    python3 - "$WORK/$name-$2.json" "$name" "$ep" "$n" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); p = r["plan"]; t = r["timings_s"]["total"]
src = r["source"]
print(f"| {sys.argv[2]} | {sys.argv[3]} | {src['width']}x{src['height']} | {r['frames']} | {r['output_width']}x{r['output_height']} | {sys.argv[4]} | {p['wall_mean_s']:.2f} | {t:.2f} | {t / p['wall_mean_s']:.2f} |")
PY
  done <<< "$JOBS"
}
summary() { python3 -c '
import sys
r=[float(l.split("|")[9]) for l in sys.stdin if l.startswith("| ")]
e=sorted(abs(x-1) for x in r)
print(f"\n{len(r)} jobs: median |error| {100*e[len(e)//2] if len(e)%2 else 50*(e[len(e)//2-1]+e[len(e)//2]):.0f} %, worst {100*e[-1]:.0f} %\n")'; }
header="| job | endpoint | source | frames | output | N | predicted s | measured s | measured / predicted |
|---|---|---|---|---|---|---|---|---|"
echo "### Uncalibrated: the profile as measured"; echo; echo "$header"
run_all "$WORK/profile/profile.json" raw all | tee "$WORK/raw.md"
summary < "$WORK/raw.md"
i=0; train=()
while IFS='|' read -r name _; do i=$((i + 1)); [ $((i % 2)) -eq 1 ] && train+=("$WORK/$name-raw.json"); done <<< "$JOBS"
"$RS" calibrate "${train[@]}" --profile "$WORK/profile/profile.json" --out "$WORK/calibrated.json" >/dev/null
echo "### Calibrated on the odd jobs' records, run on the even ones"; echo; echo "$header"
run_all "$WORK/calibrated.json" cal even | tee "$WORK/cal.md"
summary < "$WORK/cal.md"
echo "The same even jobs uncalibrated:"
i=0; while IFS= read -r line; do i=$((i + 1)); [ $((i % 2)) -eq 0 ] && echo "$line"; done < "$WORK/raw.md" | summary
