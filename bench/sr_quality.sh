#!/usr/bin/env bash
# framing_ai quality per cost. Each real clip (samples/, from shared/clips) is made low
# resolution (÷2, ÷3, ÷4, area filter) and brought back to its original size four ways:
# (a) bicubic (the ffmpeg CLI); (b) sr_input "reduced", today's rule: the crop shrunk to
# output/scale, then the network; (c) sr_input "native": the network at the crop's own
# size, then resized (Real-ESRGAN's outscale rule); (d) a smaller-scale network where the
# model allows one. PSNR and SSIM against the original (ffmpeg's psnr and ssim filters),
# and ms per frame (the chunk's processing stage for (b)/(c), the CLI's wall time for (a)).
# Prints Markdown for docs/perf/quality.md.  Usage: bench/sr_quality.sh BUILD_DIR WORK_DIR [FRAMES]
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
WORK=${2:-/tmp/reelscale-quality}
FRAMES=${3:-12}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RS="$BUILD/reelscale"
mkdir -p "$WORK"
even() { echo $(( ($1 + 1) / 2 * 2 )); }
metrics() {  # OUT REF -> "psnr ssim"
  local log; log=$(ffmpeg -hide_banner -i "$1" -i "$2" -lavfi "[0:v][1:v]psnr;[0:v][1:v]ssim" -f null - 2>&1)
  local p s
  p=$(grep -o 'average:[0-9.inf]*' <<< "$log" | head -1 | cut -d: -f2)
  s=$(grep -o 'All:[0-9.]*' <<< "$log" | head -1 | cut -d: -f2)
  echo "$p $s"
}
sr_run() {  # LOW W H LW LH RULE OUT -> ms per frame of the processing stage
  cat > "$WORK/job.json" <<JSON
{"endpoint": "framing_ai", "input": "$1", "output": "$7", "output_width": $2, "output_height": $3, "crf": 0,
 "preset": "ultrafast", "audio": "drop", "sr_input": "$6",
 "crop_keyframes": [{"time": 0, "x": 0, "y": 0, "width": $4, "height": $5}]}
JSON
  "$RS" run "$WORK/job.json" --chunks 1 --json 2>/dev/null > "$WORK/r.json"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); c=r["chunk_results"][0]; print("%.1f" % (1000*c["timings_s"]["process"]/c["frames"]))' "$WORK/r.json"
}
echo "| clip | low-res | way | network input | PSNR dB | SSIM | ms per frame |"
echo "|---|---|---|---|---|---|---|"
for clip in tears_of_steel_10s_640x360.mp4 asl_walk.mkv one-by-one-person-8s_derived.mp4; do
  src="$ROOT/samples/$clip"
  IFS=, read -r W H <<< "$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0 "$src")"
  ref="$WORK/ref.mkv"
  ffmpeg -v error -y -i "$src" -frames:v "$FRAMES" -pix_fmt yuv420p -c:v ffv1 "$ref"
  for k in 2 3 4; do
    LW=$(even $((W / k))); LH=$(even $((H / k)))
    low="$WORK/low.mkv"
    ffmpeg -v error -y -i "$ref" -vf "scale=$LW:$LH:flags=area" -c:v ffv1 "$low"
    t0=$(date +%s%N)
    ffmpeg -v error -y -i "$low" -vf "scale=$W:$H:flags=bicubic" -c:v ffv1 "$WORK/a.mkv"
    ms=$(python3 -c "print('%.1f' % (($(date +%s%N) - $t0) / 1e6 / $FRAMES))")
    read -r p s <<< "$(metrics "$WORK/a.mkv" "$ref")"
    echo "| $clip | ÷$k ${LW}x$LH | (a) bicubic | – | $p | $s | $ms (CLI, whole run) |"
    for rule in reduced native; do
      ms=$(sr_run "$low" "$W" "$H" "$LW" "$LH" "$rule" "$WORK/$rule.mp4")
      read -r p s <<< "$(metrics "$WORK/$rule.mp4" "$ref")"
      iw=$LW; ih=$LH
      if [ "$rule" = reduced ] && [ $LW -gt $(( (W + 3) / 4 )) ]; then iw=$(( (W + 3) / 4 )); ih=$(( (H + 3) / 4 )); fi
      label=$([ "$rule" = reduced ] && echo "(b) reduced" || echo "(c) native")
      echo "| $clip | ÷$k ${LW}x$LH | $label | ${iw}x$ih | $p | $s | $ms |"
    done
    echo "| $clip | ÷$k ${LW}x$LH | (d) x2 network | – | – | – | not measured: RealESRGAN_x2plus weights are not bundled |"
  done
done
