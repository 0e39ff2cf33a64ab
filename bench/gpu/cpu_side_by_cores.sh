#!/usr/bin/env bash
# bench/gpu/cpu_side_by_cores.sh — a GPU container's CPU side at 1, 2, 4, 8 and 16 cores, on a
# machine with that many (the GPU machine: it has no FFmpeg development files, so reelscale's
# own `profile --cpu-side-cores` cannot be built there). The ffmpeg CLI does framing's CPU work:
# decode a 1080p clip, crop and scale to 810x1440, encode with x264 veryfast, pinned to the first
# k cores (taskset) with k threads. reelscale's framing ran 1.26-1.34x the CLI on the same work
# (docs/perf/endpoints.md), so the shape, ms per frame against cores, is what to compare with
# the built-in curve (31.8 ms / cores, floored at 4.0 ms; docs/planner.md), not the level.
# Usage: bench/gpu/cpu_side_by_cores.sh OUT_DIR [CORES (default: 1 2 4 8 16, up to nproc)]
set -euo pipefail
OUT=${1:-out/gpu}
mkdir -p "$OUT"
CORES=${2:-"1 2 4 8 16"}
FRAMES=300
SRC="$OUT/cpu-side-src.mp4"
{
  echo "# CPU side by cores (ffmpeg CLI framing, 1080p to 810x1440, x264 veryfast), $(date -u +%F)"
  echo "# $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  if ! command -v ffmpeg >/dev/null || ! command -v taskset >/dev/null; then
    echo "not measured: ffmpeg or taskset is missing"
    exit 0
  fi
  ffmpeg -y -v error -f lavfi -i testsrc2=size=1920x1080:rate=30 -frames:v $FRAMES -c:v libx264 -preset ultrafast -crf 16 "$SRC"
  echo "| cores | wall s | ms per frame | CPU s | ms per frame x cores |"
  echo "|---|---|---|---|---|"
  for k in $CORES; do
    [ "$k" -le "$(nproc)" ] || continue
    /usr/bin/time -o "$OUT/cores-t" -f "%e %U %S" taskset -c "0-$((k - 1))" ffmpeg -y -v error -threads "$k" -i "$SRC" \
      -vf crop=608:1080:656:0,scale=810:1440 -c:v libx264 -preset veryfast -crf 20 -threads "$k" -f null -
    awk -v k="$k" -v n=$FRAMES '{printf "| %d | %.2f | %.2f | %.2f | %.2f |\n", k, $1, 1000 * $1 / n, $2 + $3, 1000 * $1 / n * k}' "$OUT/cores-t"
  done
} 2>&1 | tee "$OUT/cpu-side-cores.md"
