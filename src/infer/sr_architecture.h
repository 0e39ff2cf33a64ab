// infer/sr_architecture.h — the two Real-ESRGAN generator architectures as plain data
// (SRVGGNetCompact: realesr-animevideov3, realesr-general-x4v3; RRDBNet:
// RealESRGAN_x4plus / x2plus), the published models by name, and the one place their
// cost is computed: multiply-adds per input pixel, from the layer definitions. Torch-free:
// the planner, the profiler and the SR benchmark all use it.
#pragma once

#include <string>

namespace reelscale::infer {

struct SrArchitecture {
  enum class Kind { kCompact, kRrdb };
  Kind kind = Kind::kCompact;
  int scale = 4;
  int num_feat = 64;
  int num_conv = 16;      // compact: body convolutions between the first and last
  int num_block = 23;     // rrdb: RRDB blocks
  int num_grow_ch = 32;   // rrdb
  std::string describe() const;
  // Multiply-adds of one forward pass per pixel of the network's input (3x3 convolutions;
  // activations, pixel shuffles and the residual adds are a rounding error).
  double macs_per_input_pixel() const;
  // The same per pixel of the network's output (input pixels = output pixels / scale^2).
  double macs_per_output_pixel() const { return macs_per_input_pixel() / (scale * scale); }
};

// realesr-animevideov3, realesr-general-x4v3, RealESRGAN_x4plus, RealESRGAN_x2plus;
// Error(kBadInput) for another name.
SrArchitecture architecture_by_name(const std::string& name);
bool is_known_architecture(const std::string& name);

}  // namespace reelscale::infer
