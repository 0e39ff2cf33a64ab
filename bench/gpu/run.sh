#!/usr/bin/env bash
# bench/gpu/run.sh — everything to measure on a GPU machine, in one call (it has PyTorch with
# CUDA but no FFmpeg development files): builds the Real-ESRGAN benchmark against PyTorch's
# libtorch (bench/sr_standalone), checks its output against the CPU golden files in fp32,
# fp16 and bf16, measures both architectures (realesr-animevideov3, RealESRGAN_x4plus with
# random weights of its shapes) at 810x1440 output in fp32, fp16 and bf16 at batch 1, 4 and 8,
# and writes OUT/gpu-profile.json: a profile whose framing_ai cell for this GPU is the
# measured network time with the CPU side of the default profile, which
# `reelscale plan --profile OUT/gpu-profile.json` reads. Then NVENC (OUT/nvenc.md): the ffmpeg
# CLI encoding 300 frames at 810x1440 with h264_nvenc against libx264 veryfast, wall and CPU
# seconds, SSIM and size; where this GPU has no NVENC or ffmpeg lacks it, the reason. Last, the
# CPU side at 1-16 cores with the ffmpeg CLI (bench/gpu/cpu_side_by_cores.sh, OUT/cpu-side-cores.md).
# Usage: bench/gpu/run.sh OUT_DIR [GPU_NAME (default: from nvidia-smi)]
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-out/gpu}
mkdir -p "$OUT"
GPU=${2:-$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | sed 's/NVIDIA //; s/ .*//')}
GPU=${GPU:-GPU}
PREFIX=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
cmake -S bench/sr_standalone -B build-sr -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PREFIX" >"$OUT/cmake.log"
cmake --build build-sr -j "$(nproc)" >>"$OUT/cmake.log"
{
  echo "# GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo unknown)"
  echo "# $(date -u +%F), $(python3 -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda)')"
  for p in fp32 fp16 bf16; do
    build-sr/sr_bench --check-golden tests/data/golden --model models/realesr-animevideov3.pth --device cuda --precision $p
  done
  echo
  echo "| model | architecture | device | precision | network input -> output | batch | ms per frame |"
  echo "|---|---|---|---|---|---|---|"
  for m in realesr-animevideov3 RealESRGAN_x4plus; do
    for p in fp32 fp16 bf16; do
      build-sr/sr_bench --model $m --device cuda --precision $p --batch 1,4,8 --width 810 --height 1440 --frames 32
    done
  done
} | tee "$OUT/gpu.md"
python3 - "$OUT/gpu.md" "$GPU" "$OUT/gpu-profile.json" <<'PY'
import json, sys, datetime
rows = [l.split("|") for l in open(sys.argv[1]) if l.startswith("| realesr-animevideov3")]
best = min(float(r[7]) for r in rows)  # the fastest precision and batch for the default model
cpu_side = 15.9  # the default profile's CPU side of a GPU container (2 cores), measured
cell = {"ms_per_frame": max(best, cpu_side), "network_ms": best, "cpu_side_ms": cpu_side,
        "model": "realesr-animevideov3", "cold_start_s": {"lognormal": {"median": 10, "p90": 25}},
        "warm_start_s": 0.3, "measured": True, "date": datetime.date.today().isoformat(),
        "source": f"measured by bench/gpu/run.sh: network {best:.2f} ms per 810x1440 frame on {sys.argv[2]} "
                  f"(best precision and batch); CPU side {cpu_side} ms from the default profile"}
profile = {"name": f"measured-{sys.argv[2]}", "endpoints": {"framing_ai": {sys.argv[2]: cell}}}
json.dump(profile, open(sys.argv[3], "w"), indent=2)
print(f"wrote {sys.argv[3]}: framing_ai on {sys.argv[2]} at {max(best, cpu_side):.2f} ms per frame")
PY

# NVENC against x264 on the same frames, with the ffmpeg CLI (reelscale's own path,
# encoder "nvenc", needs FFmpeg's libraries, which this machine lacks).
{
  echo "# NVENC on $GPU, $(date -u +%F)"
  if ! command -v ffmpeg >/dev/null; then
    echo "not measured: no ffmpeg on this machine"
  elif ! ffmpeg -hide_banner -encoders 2>/dev/null | grep -q h264_nvenc; then
    echo "not measured: this ffmpeg has no h264_nvenc"
  else
    SRC="$OUT/nvenc-src.mp4"
    ffmpeg -y -v error -f lavfi -i testsrc2=size=810x1440:rate=30 -t 10 -c:v libx264 -preset ultrafast -crf 10 "$SRC"
    echo "| encoder | wall s | CPU s | SSIM | bytes |"
    echo "|---|---|---|---|---|"
    for enc in "h264_nvenc -preset p4 -rc vbr -cq 20 -b:v 0" "libx264 -preset veryfast -crf 20"; do
      name=${enc%% *}
      if /usr/bin/time -o "$OUT/t" -f "%e %U %S" ffmpeg -y -v error -i "$SRC" -c:v $enc "$OUT/$name.mp4" 2>"$OUT/$name.err"; then
        ssim=$(ffmpeg -i "$OUT/$name.mp4" -i "$SRC" -lavfi ssim -f null - 2>&1 | grep -o 'All:[0-9.]*' | cut -d: -f2)
        awk -v n="$name" -v s="$ssim" -v b="$(stat -c %s "$OUT/$name.mp4")" '{print "| " n " | " $1 " | " $2 + $3 " | " s " | " b " |"}' "$OUT/t"
      else
        echo "| $name | failed: $(tail -1 "$OUT/$name.err") | | | |"
      fi
    done
  fi
} 2>&1 | tee "$OUT/nvenc.md" || true

# The CPU side past 2 cores (OUT/cpu-side-cores.md): the built-in curve is extrapolated from a
# 2-core VM; this machine has the cores to measure its shape.
bench/gpu/cpu_side_by_cores.sh "$OUT" || true
