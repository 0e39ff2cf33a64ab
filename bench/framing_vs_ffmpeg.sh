#!/usr/bin/env bash
# framing's whole job against the ffmpeg CLI doing the same work in the same run: decode,
# crop, bicubic scale, encode libx264 veryfast CRF 20. Real footage (Tears of Steel) and
# FFmpeg's testsrc2, 5 A/B pairs each (the order alternates), and the quality of both
# outputs: SSIM against the same uncompressed crop and scale, and the file size.
# Prints a Markdown table: medians of wall and CPU seconds, their ratios (ffmpeg / reelscale:
# above 1 is reelscale faster), the SSIM difference and the size ratio.
# Usage: bench/framing_vs_ffmpeg.sh BUILD_DIR WORK_DIR [PAIRS]
set -euo pipefail
BUILD=$(realpath "${1:-build}")
WORK=${2:-/tmp/reelscale-bench}
PAIRS=${3:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
TEARS="$HERE/../samples/tears_of_steel_10s_640x360.mp4"
mkdir -p "$WORK"
TESTSRC="$WORK/src-1920x1080.mp4"
[ -f "$TESTSRC" ] || ffmpeg -y -v error -f lavfi -i testsrc2=size=1920x1080:rate=30 -t 10 \
  -c:v libx264 -preset veryfast -g 60 -pix_fmt yuv420p "$TESTSRC"

# seconds-elapsed and user+system CPU seconds of a command, as "WALL CPU"
timed() { /usr/bin/time -o "$WORK/time" -f "%e %U %S" "$@" >/dev/null 2>&1; awk '{print $1, $2 + $3}' "$WORK/time"; }
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
# SSIM (All) of OUTPUT against SOURCE cropped and scaled by FFmpeg's own filters.
ssim() { ffmpeg -v info -i "$1" -i "$2" -lavfi "[1:v]$3[ref];[0:v][ref]ssim" -f null - 2>&1 |
  grep -o 'All:[0-9.]*' | cut -d: -f2; }

# case NAME SOURCE FPS CROP_W CROP_H CROP_X OUT_W OUT_H
run_case() {
  local name=$1 src=$2 fps=$3 cw=$4 ch=$5 cx=$6 ow=$7 oh=$8
  local vf="crop=$cw:$ch:$cx:0,scale=$ow:$oh" job="$WORK/$name.json" rs_out="$WORK/rs-$name.mp4" ff_out="$WORK/ff-$name.mp4"
  cat > "$job" <<JSON
{"endpoint": "framing", "input": "$src", "output": "$rs_out", "output_width": $ow, "output_height": $oh,
 "fps": $fps, "audio": "drop", "crop_keyframes": [{"time": 0, "x": $cx, "y": 0, "width": $cw, "height": $ch}]}
JSON
  local rs=() ff=()
  for i in $(seq "$PAIRS"); do
    if (( i % 2 )); then
      rs+=("$(timed "$BUILD/reelscale" process framing --job "$job")")
      ff+=("$(timed ffmpeg -y -v error -i "$src" -vf "$vf" -c:v libx264 -preset veryfast -crf 20 -an "$ff_out")")
    else
      ff+=("$(timed ffmpeg -y -v error -i "$src" -vf "$vf" -c:v libx264 -preset veryfast -crf 20 -an "$ff_out")")
      rs+=("$(timed "$BUILD/reelscale" process framing --job "$job")")
    fi
  done
  local rs_wall ff_wall rs_cpu ff_cpu ratios
  rs_wall=$(printf '%s\n' "${rs[@]}" | cut -d' ' -f1 | median)
  ff_wall=$(printf '%s\n' "${ff[@]}" | cut -d' ' -f1 | median)
  rs_cpu=$(printf '%s\n' "${rs[@]}" | cut -d' ' -f2 | median)
  ff_cpu=$(printf '%s\n' "${ff[@]}" | cut -d' ' -f2 | median)
  # the median of the pairs' own ratios, each pair measured back to back
  ratios=$(for i in "${!rs[@]}"; do echo "${ff[$i]%% *} ${rs[$i]%% *}" | awk '{print $1 / $2}'; done | median)
  local rs_ssim ff_ssim rs_size ff_size
  rs_ssim=$(ssim "$rs_out" "$src" "$vf")
  ff_ssim=$(ssim "$ff_out" "$src" "$vf")
  rs_size=$(stat -c %s "$rs_out")
  ff_size=$(stat -c %s "$ff_out")
  printf "| %s | %s | %s | %.2f | %s | %s | %.2f | %s | %s | %+.4f | %.3f |\n" "$name" "$rs_wall" "$ff_wall" "$ratios" \
    "$rs_cpu" "$ff_cpu" "$(echo "$ff_cpu / $rs_cpu" | bc -l)" "$rs_ssim" "$ff_ssim" \
    "$(echo "$rs_ssim - $ff_ssim" | bc -l)" "$(echo "$rs_size / $ff_size" | bc -l)"
}

echo "| case | reelscale wall s | ffmpeg wall s | speed-up (median of pairs) | reelscale CPU s | ffmpeg CPU s | CPU ratio | reelscale SSIM | ffmpeg SSIM | SSIM difference | size ratio |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
run_case "tears-202x360-to-810x1440" "$TEARS" 24 202 360 219 810 1440
run_case "tears-202x360-to-270x480" "$TEARS" 24 202 360 219 270 480
run_case "testsrc2-608x1080-to-810x1440" "$TESTSRC" 30 608 1080 656 810 1440
