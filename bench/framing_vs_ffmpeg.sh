#!/usr/bin/env bash
# framing's whole job against the ffmpeg CLI doing the same work in the same run:
# decode a 1920x1080 clip, crop 608x1080, bicubic scale to 810x1440, encode libx264
# veryfast CRF 20. Prints a Markdown table (best of 3 each).
# Usage: bench/framing_vs_ffmpeg.sh BUILD_DIR WORK_DIR
set -euo pipefail
BUILD=${1:-build}
WORK=${2:-/tmp/reelscale-bench}
mkdir -p "$WORK"
SRC="$WORK/src-1920x1080.mp4"
[ -f "$SRC" ] || ffmpeg -y -v error -f lavfi -i testsrc2=size=1920x1080:rate=30 -t 10 \
  -c:v libx264 -preset veryfast -g 60 -pix_fmt yuv420p "$SRC"
JOB="$WORK/framing.json"
cat > "$JOB" <<JSON
{"endpoint": "framing", "input": "$SRC", "output": "$WORK/rs-framing.mp4", "output_width": 810,
 "output_height": 1440, "fps": 30, "audio": "drop",
 "crop_keyframes": [{"time": 0, "x": 656, "y": 0, "width": 608, "height": 1080}]}
JSON
best() { sort -n | head -1; }
rs=$(for i in 1 2 3; do /usr/bin/time -f %e "$BUILD/reelscale" process framing --job "$JOB" 2>&1 >/dev/null | tail -1; done | best)
ff=$(for i in 1 2 3; do /usr/bin/time -f %e ffmpeg -y -v error -i "$SRC" -vf crop=608:1080:656:0,scale=810:1440 \
  -c:v libx264 -preset veryfast -crf 20 -an "$WORK/ff-framing.mp4" 2>&1 | tail -1; done | best)
frames=$(ffprobe -v error -count_packets -select_streams v:0 -show_entries stream=nb_read_packets -of csv=p=0 "$WORK/rs-framing.mp4")
echo "| work | reelscale s | ffmpeg CLI s | ratio (reelscale / ffmpeg) | frames |"
echo "|---|---|---|---|---|"
printf "| framing, 300 frames 1080p -> 810x1440 | %s | %s | %.2f | %s |\n" "$rs" "$ff" "$(echo "$rs / $ff" | bc -l)" "$frames"
