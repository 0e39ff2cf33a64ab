#!/usr/bin/env bash
# `make bench`: every benchmark under bench/, each printing the Markdown its page in
# docs/perf/ quotes (machine, command and date go beside the numbers there). Results go to
# out/bench/<name>.md. BENCH=name1,name2 runs only those; QUICK=1 skips the slow ones
# (the parallel runs with workers, the Slurm cluster, the super-resolution network and the
# production day). bench/stats_bench.py (100,000 jobs, Chromium) runs on its own.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD_DIR:-build}
OUT=out/bench
WORK=$(mktemp -d /tmp/reelscale-bench-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"
want() { [ -z "${BENCH:-}" ] || [[ ",$BENCH," == *",$1,"* ]]; }
slow() { [ -n "${QUICK:-}" ]; }
run() {
  local name=$1; shift
  want "$name" || return 0
  echo "== $name: $*"
  { echo "<!-- $(date -u +%F) on $(nproc) cores: $* -->"; "$@"; } | tee "$OUT/$name.md"
}
run media "$BUILD/bench/media_bench" "$WORK" samples/*.mp4
run audio "$BUILD/bench/audio_bench" "$WORK/audio"
run media_vs_ffmpeg bench/media_vs_ffmpeg.sh "$BUILD" "$WORK/media"
run framing_vs_ffmpeg bench/framing_vs_ffmpeg.sh "$BUILD" "$WORK/framing"
run plan "$BUILD/bench/plan_bench"
run service /usr/bin/python3 bench/service_bench.py "$BUILD" "$WORK/service"
slow || run multi_user /usr/bin/python3 bench/multi_user.py "$BUILD" "$WORK/multi_user"
run budget_move /usr/bin/python3 bench/budget_move.py "$BUILD" "$WORK/budget_move" 3
run darknet "$BUILD/bench/darknet_bench" models 320 320
run endpoints "$BUILD/bench/endpoints_bench" models
slow || run sr "$BUILD/bench/sr_bench" --width 404 --height 720
slow || run local_slots bench/local_slots_bench.sh "$BUILD" "$WORK/local_slots"
slow || run parallel bench/parallel_bench.sh "$BUILD" "$WORK/parallel"
slow || run local_choice bench/local_choice.sh "$BUILD" "$WORK/local_choice"
slow || run cluster bench/cluster_bench.sh "$BUILD" "$WORK/cluster"
slow || run production_day /usr/bin/python3 bench/production_day/production_day.py "$BUILD" --jobs 1200
echo "bench: results in $OUT/"
