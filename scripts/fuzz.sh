#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets under fuzz/ with clang, AddressSanitizer and
# UBSan (build-fuzz/), and runs each for FUZZ_SECONDS (default 60) from the seed corpus
# in fuzz/corpus/<target>/ plus files the tests use. New inputs go to out/fuzz/<target>/;
# a crash stops the run, leaves its input in out/fuzz/ and fails the script.
# FUZZ_TARGETS=a,b runs only those.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-60}
JOBS=${JOBS:-$(nproc)}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREELSCALE_FUZZ=ON >/dev/null
cmake --build build-fuzz -j "$JOBS" --target job_spec_fuzz chunk_task_fuzz planner_inputs_fuzz darknet_fuzz probe_fuzz pth_fuzz
targets=${FUZZ_TARGETS:-job_spec_fuzz,chunk_task_fuzz,planner_inputs_fuzz,darknet_fuzz,probe_fuzz,pth_fuzz}
mkdir -p out/fuzz
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/fuzz/lsan.supp
status=0
for t in ${targets//,/ }; do
  work=out/fuzz/$t
  mkdir -p "$work"
  echo "== $t for $SECONDS_EACH s"
  if ! build-fuzz/fuzz/$t "$work" "fuzz/corpus/$t" -max_total_time="$SECONDS_EACH" -seed="${FUZZ_SEED:-1}" -timeout=20 \
       -rss_limit_mb=4096 -max_len=65536 -artifact_prefix="out/fuzz/$t-" -print_final_stats=1 2>"out/fuzz/$t.log"; then
    echo "$t FAILED: see out/fuzz/$t.log and out/fuzz/$t-*"
    tail -40 "out/fuzz/$t.log"
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::new_units_added" "out/fuzz/$t.log" | tr '\n' ' '; echo
  fi
done
exit $status
