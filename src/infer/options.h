// infer/options.h — how a network runs (device, precision, tiling, detector engine), parsed from text.
// Torch-free: the command line and the loader of the network module include it.
#pragma once

#include <string>

namespace reelscale::infer {

enum class Device { kCpu, kCuda, kAuto };  // kAuto: CUDA when present, resolved when the network is built
enum class Precision { kFloat32, kFloat16, kBFloat16 };
Device parse_device(const std::string& text);       // "cpu", "cuda", "auto"
Precision parse_precision(const std::string& text);  // "fp32", "fp16", "bf16"

// Which engine runs a Darknet detector: kNative is reelscale's own (infer/darknet_network.h;
// needs AVX2 + FMA on x86), kOpenCv is OpenCV dnn, kAuto ours where it can run. ONNX
// detectors (FastestDet) always run on OpenCV dnn.
enum class DetectorEngine { kAuto, kNative, kOpenCv };
DetectorEngine parse_detector_engine(const std::string& text);  // "auto", "reelscale", "opencv"

struct SrOptions {
  Device device = Device::kCpu;
  Precision precision = Precision::kFloat32;
  int tile = 0;           // tile edge in input pixels; 0 = whole image
  int tile_overlap = 24;  // context added around each tile (input pixels)
  bool channels_last = true;  // on CUDA
};

}  // namespace reelscale::infer
