#!/usr/bin/env bash
# The main job on a bundled sample: a 3-second 9:16 reel cut from a 16:9 clip with a
# panning crop, upscaled by Real-ESRGAN (framing_ai) to 810x1440, in 3 chunks.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p out
./build/reelscale probe samples/tears_of_steel_10s_640x360.mp4
./build/reelscale process framing_ai --job samples/demo-job.json --chunks 3
./build/reelscale process detect samples/one-by-one-person-8s_derived.mp4 --time 6 -o out/demo-detect.json
echo "demo: wrote out/demo-reel.mp4 and out/demo-detect.json"
