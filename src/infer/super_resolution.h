// infer/super_resolution.h — the two Real-ESRGAN generator architectures
// (SRVGGNetCompact: realesr-animevideov3, realesr-general-x4v3; RRDBNet:
// RealESRGAN_x4plus / x2plus) run with libtorch on CPU or CUDA, in float32, float16 or
// bfloat16, batched, and tiled with overlap when images are large. libtorch stays
// behind this header: callers see plain buffers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "infer/options.h"
#include "infer/sr_architecture.h"
#include "infer/state_dict.h"

namespace reelscale::infer {

bool cuda_available();
// kAuto becomes kCuda when a CUDA device is present, else kCpu.
Device resolve_device(Device device);
// Threads libtorch uses on the CPU (process-wide).
void set_cpu_threads(int threads);

// SrArchitecture (infer/sr_architecture.h) with the tensors it needs.
std::vector<std::pair<std::string, std::vector<int64_t>>> expected_tensors(const SrArchitecture& arch);

// Recognises the architecture from the tensor names and shapes. Throws Error(kBadInput)
// for a state dict that is neither.
SrArchitecture detect_architecture(const StateDict& weights, const std::string& name);
// Deterministic random weights of the right shapes (tests, benchmarks).
StateDict random_weights(const SrArchitecture& arch, uint64_t seed);

class SuperResolver {
 public:
  // Validates every tensor against the architecture (missing or mis-shaped → Error).
  SuperResolver(const StateDict& weights, const SrArchitecture& arch, const SrOptions& options);
  ~SuperResolver();
  SuperResolver(const SuperResolver&) = delete;
  SuperResolver& operator=(const SuperResolver&) = delete;

  const SrArchitecture& architecture() const;
  int scale() const;
  std::string device_name() const;

  // input: n x 3 x h x w float RGB in [0, 1], contiguous. Returns n x 3 x (h*s) x (w*s),
  // not clamped.
  std::vector<float> run(const float* input, int n, int h, int w);
  // A batch of packed RGB24 images (h x w, row stride in bytes) into packed RGB24
  // outputs of (h*s) x (w*s); clamped and rounded.
  void run_rgb24(const std::vector<const uint8_t*>& inputs, int h, int w, int in_stride,
                 const std::vector<uint8_t*>& outputs, int out_stride);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace reelscale::infer
