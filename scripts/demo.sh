#!/usr/bin/env bash
# The main job on a bundled sample: writes out/demo.mp4 and prints the summary.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p out
./build/reelscale probe samples/tears_of_steel_10s_640x360.mp4
./build/reelscale process copy samples/tears_of_steel_10s_640x360.mp4 -o out/demo-copy.mp4 --chunks 4
