// infer/person_detector.cpp — OpenCV dnn inference and decoding of detector outputs.
#include "infer/person_detector.h"

#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include "common/error.h"
#include "infer/darknet_kernels.h"
#include "infer/darknet_network.h"

namespace fs = std::filesystem;

namespace reelscale::infer {

struct PersonDetector::Impl {
  enum class Kind { kYoloFastest, kFastestDet } kind = Kind::kYoloFastest;
  cv::dnn::Net net;                        // OpenCV's engine (FastestDet; Darknet when asked)
  std::unique_ptr<DarknetNetwork> native;  // ours (Darknet models by default)
  DetectorOptions options;
  std::string name;
  int input_width = 320, input_height = 320;  // what the frame is resized to
  std::vector<std::string> output_names;
  std::string engine;
};

namespace {

// FastestDet: 1 x 85 x 22 x 22; per cell: objectness, box (tanh offsets, sigmoid sizes), then 80
// class scores. Person is class 0.
void decode_fastestdet(const cv::Mat& out, int width, int height, float threshold, std::vector<cv::Rect2d>& boxes,
                       std::vector<float>& scores) {
  const int ch = out.size[1], gh = out.size[2], gw = out.size[3];
  const float* data = out.ptr<float>();
  auto at = [&](int c, int y, int x) { return data[(c * gh + y) * gw + x]; };
  auto sigmoid = [](float v) { return 1.0f / (1.0f + std::exp(-v)); };
  for (int y = 0; y < gh; ++y) {
    for (int x = 0; x < gw; ++x) {
      const float obj = at(0, y, x);
      int best = 0;
      float best_score = at(5, y, x);
      for (int c = 6; c < ch; ++c) {
        if (at(c, y, x) > best_score) {
          best_score = at(c, y, x);
          best = c - 5;
        }
      }
      const float score = std::pow(obj, 0.6f) * std::pow(best_score, 0.4f);
      if (best != 0 || score < threshold) continue;
      const float cx = (std::tanh(at(1, y, x)) + x) / gw;
      const float cy = (std::tanh(at(2, y, x)) + y) / gh;
      const float bw = sigmoid(at(3, y, x)), bh = sigmoid(at(4, y, x));
      boxes.emplace_back((cx - bw / 2) * width, (cy - bh / 2) * height, bw * width, bh * height);
      scores.push_back(score);
    }
  }
}

}  // namespace

PersonDetector::PersonDetector(const std::string& model, const DetectorOptions& options)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  std::error_code ec;
  if (!fs::exists(model, ec)) fail(ErrorKind::kNotFound, "detector model not found: " + model);
  const std::string ext = fs::path(model).extension().string();
  try {
    if (ext == ".cfg") {
      const std::string weights = (fs::path(model).replace_extension(".weights")).string();
      if (!fs::exists(weights, ec)) fail(ErrorKind::kNotFound, "detector weights not found: " + weights);
      impl_->kind = Impl::Kind::kYoloFastest;
      const bool use_native = options.engine == DetectorEngine::kNative ||
                              (options.engine == DetectorEngine::kAuto && darknet::kernels_supported());
      if (options.engine == DetectorEngine::kNative && !darknet::kernels_supported())
        fail(ErrorKind::kBadInput, "the reelscale detector engine needs a CPU with AVX2 and FMA");
      if (use_native) {
        impl_->native = std::make_unique<DarknetNetwork>(model, weights);
        if (impl_->native->input_width() > 0 && impl_->native->input_height() > 0) {
          impl_->input_width = impl_->native->input_width();
          impl_->input_height = impl_->native->input_height();
        }
      } else {
        impl_->net = cv::dnn::readNetFromDarknet(model, weights);
      }
    } else if (ext == ".onnx") {
      if (options.engine == DetectorEngine::kNative)
        fail(ErrorKind::kBadInput, "the reelscale detector engine runs Darknet models only, not " + model);
      impl_->net = cv::dnn::readNetFromONNX(model);
      impl_->kind = Impl::Kind::kFastestDet;
      impl_->input_width = impl_->input_height = 352;
    } else {
      fail(ErrorKind::kBadInput, "detector model must be a Darknet .cfg or an .onnx file: " + model);
    }
  } catch (const cv::Exception& e) {
    fail(ErrorKind::kBadInput, "cannot load detector " + model + ": " + e.what());
  }
  impl_->name = fs::path(model).filename().string();
  if (impl_->native) {
    impl_->engine = "reelscale";
    return;
  }
  if (impl_->net.empty()) fail(ErrorKind::kBadInput, "cannot load detector " + model);
  impl_->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  impl_->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  impl_->output_names = impl_->net.getUnconnectedOutLayersNames();
  impl_->engine = "opencv-dnn";
}

PersonDetector::~PersonDetector() = default;

const std::string& PersonDetector::model_name() const { return impl_->name; }
const std::string& PersonDetector::engine_name() const { return impl_->engine; }

std::vector<PersonBox> PersonDetector::detect(const uint8_t* bgr, int width, int height, int stride) {
  if (impl_->options.threads > 0) cv::setNumThreads(impl_->options.threads);
  const cv::Mat image(height, width, CV_8UC3, const_cast<uint8_t*>(bgr), stride);
  const int in_w = impl_->input_width, in_h = impl_->input_height;
  const cv::Mat blob = cv::dnn::blobFromImage(image, 1.0 / 255.0, cv::Size(in_w, in_h), cv::Scalar(), true, false);
  std::vector<cv::Rect2d> boxes;
  std::vector<float> scores;
  const float threshold = impl_->options.score_threshold;
  // Yolo rows: cx, cy, w, h (relative), objectness, then per-class confidence; person is class 0.
  auto consider_yolo_row = [&](const float* row) {
    const float score = row[5];
    if (score < threshold) return;
    boxes.emplace_back((row[0] - row[2] / 2) * width, (row[1] - row[3] / 2) * height, row[2] * width, row[3] * height);
    scores.push_back(score);
  };
  if (impl_->native) {
    for (const YoloHeadOutput& head : impl_->native->forward(blob.ptr<float>(), in_w, in_h))
      for (size_t r = 0; r < head.row_count(); ++r) consider_yolo_row(head.rows.data() + r * head.row_size());
  } else {
    impl_->net.setInput(blob);
    std::vector<cv::Mat> outputs;
    impl_->net.forward(outputs, impl_->output_names);
    if (impl_->kind == Impl::Kind::kYoloFastest) {
      for (const cv::Mat& out : outputs)
        for (int r = 0; r < out.rows; ++r) consider_yolo_row(out.ptr<float>(r));
    } else {
      decode_fastestdet(outputs.front(), width, height, threshold, boxes, scores);
    }
  }
  std::vector<int> keep;
  cv::dnn::NMSBoxes(boxes, scores, threshold, impl_->options.nms_threshold, keep);
  std::vector<PersonBox> people;
  for (int i : keep) {
    const cv::Rect2d clipped = boxes[i] & cv::Rect2d(0, 0, width, height);
    if (clipped.width <= 0 || clipped.height <= 0) continue;
    people.push_back({static_cast<float>(clipped.x), static_cast<float>(clipped.y), static_cast<float>(clipped.width),
                      static_cast<float>(clipped.height), scores[i]});
  }
  std::sort(people.begin(), people.end(), [](const PersonBox& a, const PersonBox& b) { return a.score > b.score; });
  return people;
}

}  // namespace reelscale::infer
