#!/usr/bin/env bash
# Split + encode + join of a 900-frame 810x1440 clip: `reelscale process copy --chunks N`
# against the ffmpeg CLI doing the same work (N parallel `ffmpeg -ss ... -frames:v` chunk
# encodes, then the concat demuxer with -c copy). Prints a Markdown table with the ratio.
# Usage: bench/media_vs_ffmpeg.sh BUILD_DIR WORK_DIR
set -euo pipefail
BUILD=${1:-build}
WORK=${2:-/tmp/reelscale-bench}
mkdir -p "$WORK"
SRC="$WORK/src-810x1440.mp4"
[ -f "$SRC" ] || ffmpeg -y -v error -f lavfi -i testsrc2=size=810x1440:rate=30 -t 30 \
  -c:v libx264 -preset veryfast -g 60 -pix_fmt yuv420p "$SRC"

now() { date +%s.%N; }

ffmpeg_split_join() {
  local n=$1 frames=900 dir="$WORK/ff-$1"
  rm -rf "$dir"; mkdir -p "$dir"
  : > "$dir/list.txt"
  local pids=()
  for ((i = 0; i < n; i++)); do
    local a=$((frames * i / n)) b=$((frames * (i + 1) / n))
    # -ss before -i seeks to the key frame and decodes the pre-roll, as reelscale does.
    ffmpeg -y -v error -ss "$(echo "scale=6; $a/30" | bc)" -i "$SRC" -frames:v $((b - a)) \
      -c:v libx264 -preset veryfast -crf 20 -threads $(( $(nproc) / (n < $(nproc) ? n : $(nproc)) > 0 ? $(nproc) / (n < $(nproc) ? n : $(nproc)) : 1 )) \
      -an "$dir/c$i.mp4" &
    pids+=($!)
    echo "file 'c$i.mp4'" >> "$dir/list.txt"
    # no more jobs at once than cores
    if (( ${#pids[@]} >= $(nproc) )); then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
  done
  wait
  ffmpeg -y -v error -f concat -safe 0 -i "$dir/list.txt" -c copy "$dir/out.mp4"
}

echo "| chunks | reelscale s | ffmpeg CLI s | ratio (reelscale / ffmpeg) | frames out (reelscale, ffmpeg) |"
echo "|---|---|---|---|---|"
for n in 1 2 4 8; do
  t0=$(now)
  "$BUILD/reelscale" process copy "$SRC" -o "$WORK/rs-$n.mp4" --chunks "$n" --audio drop >/dev/null 2>&1
  t1=$(now)
  ffmpeg_split_join "$n"
  t2=$(now)
  rs=$(echo "$t1 - $t0" | bc); ff=$(echo "$t2 - $t1" | bc)
  fr=$(ffprobe -v error -count_packets -select_streams v:0 -show_entries stream=nb_read_packets -of csv=p=0 "$WORK/rs-$n.mp4")
  ffr=$(ffprobe -v error -count_packets -select_streams v:0 -show_entries stream=nb_read_packets -of csv=p=0 "$WORK/ff-$n/out.mp4")
  printf "| %d | %.2f | %.2f | %.2f | %s, %s |\n" "$n" "$rs" "$ff" "$(echo "$rs / $ff" | bc -l)" "$fr" "$ffr"
done
