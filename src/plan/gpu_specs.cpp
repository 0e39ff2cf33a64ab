// plan/gpu_specs.cpp — the published figures of each GPU type, and the network time on a
// GPU estimated from them.
#include "plan/gpu_specs.h"

#include <algorithm>

#include "infer/sr_architecture.h"

namespace reelscale::plan {

const std::map<std::string, GpuSpec>& gpu_specs() {
  static const std::map<std::string, GpuSpec> specs = {
      {"T4", {65, 320, "NVIDIA T4 datasheet", 1, 2}},
      {"L4", {121, 300, "NVIDIA L4 datasheet", 2, 4}},
      {"A10G", {125, 600, "NVIDIA A10 datasheet (A10G is AWS's A10)", 1, 2}},
      {"L40S", {362, 864, "NVIDIA L40S datasheet", 3, 3}},
      {"A100-40GB", {312, 1555, "NVIDIA A100 datasheet", 0, 5}},
      {"A100-80GB", {312, 2039, "NVIDIA A100 datasheet", 0, 5}},
      {"H100", {989, 3350, "NVIDIA H100 SXM datasheet", 0, 7}},
      {"H200", {989, 4800, "NVIDIA H200 datasheet", 0, 7}},
      {"B200", {2250, 8000, "NVIDIA B200 datasheet", 0, 7}},
  };
  return specs;
}

// Bytes each 3x3 layer moves per input pixel in fp16: 64 channels in, 64 out.
constexpr double kBytesPerLayerPixel = 2.0 * (64 + 64);

// Our engine's network time on a GPU for an 810x1440 output frame, estimated: the larger of
// compute (the network's multiply-adds at the achieved share of the GPU's fp16 peak) and
// memory traffic at its bandwidth.
double network_ms_estimate(const GpuSpec& gpu, const std::string& model) {
  const infer::SrArchitecture arch = infer::architecture_by_name(model);
  const double out_pixels = 810.0 * 1440.0;
  const double in_pixels = out_pixels / (arch.scale * arch.scale);
  const double flops = 2.0 * arch.macs_per_input_pixel() * in_pixels;
  const double compute_s = flops / (gpu.fp16_tflops * 1e12 * kNetworkEfficiency);
  const int layers = arch.kind == infer::SrArchitecture::Kind::kCompact ? arch.num_conv + 2 : arch.num_block * 15 + 6;
  const double memory_s = layers * kBytesPerLayerPixel * in_pixels / (gpu.memory_gb_s * 1e9);
  return 1000.0 * std::max(compute_s, memory_s);
}

}  // namespace reelscale::plan
