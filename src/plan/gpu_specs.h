// plan/gpu_specs.h — published figures of each GPU type the planner knows (dense fp16
// throughput, memory bandwidth), with their sources, and what they predict of a network.
#pragma once

#include <map>
#include <string>

namespace reelscale::plan {

// Published dense fp16 tensor throughput (TFLOP/s, fp32 accumulate where the datasheet
// tells them apart, no sparsity) and memory bandwidth (GB/s) of each GPU type.
// Video engines: NVENC encoders and NVDEC decoders on the chip (0: none), from NVIDIA's
// "Video Encode and Decode GPU Support Matrix" and the datasheets. Their throughput is not
// published per GPU in a form that fits our frames; bench/gpu/run.sh measures NVENC's.
struct GpuSpec {
  double fp16_tflops;
  double memory_gb_s;
  const char* source;
  int nvenc_engines;
  int nvdec_engines;
  bool has_nvenc() const { return nvenc_engines > 0; }
};
const std::map<std::string, GpuSpec>& gpu_specs();

// The share of its dense fp16 peak PyTorch reaches on this network: a published fp16 run
// of SRVGGNetCompact x4 (animevideov3) took 98 ms per 3840x2160-input frame on an RTX
// 4090 (165 TFLOP/s dense fp16): 1.24 MFLOP x 8.29 M pixels / 0.098 s = 105 TFLOP/s.
inline constexpr double kNetworkEfficiency = 105.0 / 165.0;

// Our engine's network time on a GPU for an 810x1440 output frame, estimated: the larger of
// compute (the network's multiply-adds at the achieved share of the GPU's fp16 peak) and
// memory traffic at its bandwidth.
double network_ms_estimate(const GpuSpec& gpu, const std::string& model);

}  // namespace reelscale::plan
