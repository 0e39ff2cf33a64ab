// infer/person_detector.h — finds people in one image with a small detector: Yolo-Fastest 1.1
// "body" (Darknet, person-only) or FastestDet (ONNX, COCO, class 0 = person), run by our Darknet
// engine (darknet_network.h) or OpenCV dnn. OpenCV does the resizing and the non-maximum
// suppression that merges overlapping boxes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "infer/options.h"

namespace reelscale::infer {

struct PersonBox {
  float x = 0, y = 0, width = 0, height = 0;  // pixels of the input image
  float score = 0;
};

struct DetectorOptions {
  float score_threshold = 0.35f;
  float nms_threshold = 0.45f;
  int threads = 1;  // OpenCV threads (0: OpenCV decides); our engine uses one
  DetectorEngine engine = DetectorEngine::kAuto;
};

class PersonDetector {
 public:
  // `model`: a .cfg (its .weights beside it) for Yolo-Fastest, or a .onnx for FastestDet.
  PersonDetector(const std::string& model, const DetectorOptions& options = {});
  ~PersonDetector();
  PersonDetector(const PersonDetector&) = delete;
  PersonDetector& operator=(const PersonDetector&) = delete;

  // `bgr`: packed 8-bit BGR, width x height, row stride in bytes.
  std::vector<PersonBox> detect(const uint8_t* bgr, int width, int height, int stride);
  const std::string& model_name() const;
  const std::string& engine_name() const;  // "reelscale" or "opencv-dnn"

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace reelscale::infer
