#!/usr/bin/env bash
# Runs every test: the full suite from build/, then the media and Darknet-engine tests again
# under AddressSanitizer + UBSan from build-asan/ (a build without libtorch), then every
# fuzz target for 30 s (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
echo "== function lengths (none over 120 lines, at most three over 80) =="
/usr/bin/python3 scripts/function_lengths.py src --check
ctest --test-dir build --output-on-failure -j "$JOBS" --timeout 900

echo "== media and Darknet-engine tests under AddressSanitizer + UBSan =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DREELSCALE_SANITIZE=ON -DREELSCALE_MEDIA_ONLY=ON >/dev/null
cmake --build build-asan -j "$JOBS"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$JOBS" --timeout 900

echo "== fuzz targets, 30 s each under AddressSanitizer + UBSan (clang, libFuzzer) =="
FUZZ_SECONDS=${FUZZ_SECONDS:-30} scripts/fuzz.sh
