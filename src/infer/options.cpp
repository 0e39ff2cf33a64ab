// infer/options.cpp — parsing device, precision and detector engine names.
#include "infer/options.h"

#include "common/error.h"

namespace reelscale::infer {

Device parse_device(const std::string& text) {
  if (text == "cpu") return Device::kCpu;
  if (text == "cuda" || text == "gpu") return Device::kCuda;
  if (text == "auto") return Device::kAuto;
  fail(ErrorKind::kBadInput, "device '" + text + "' is not one of cpu, cuda, auto");
}

Precision parse_precision(const std::string& text) {
  if (text == "fp32" || text == "float32") return Precision::kFloat32;
  if (text == "fp16" || text == "float16" || text == "half") return Precision::kFloat16;
  if (text == "bf16" || text == "bfloat16") return Precision::kBFloat16;
  fail(ErrorKind::kBadInput, "precision '" + text + "' is not one of fp32, fp16, bf16");
}

DetectorEngine parse_detector_engine(const std::string& text) {
  if (text == "auto") return DetectorEngine::kAuto;
  if (text == "reelscale" || text == "native") return DetectorEngine::kNative;
  if (text == "opencv" || text == "opencv-dnn") return DetectorEngine::kOpenCv;
  fail(ErrorKind::kBadInput, "detector engine '" + text + "' is not one of auto, reelscale, opencv");
}

}  // namespace reelscale::infer
