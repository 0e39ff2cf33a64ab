// infer/darknet_network.h — a small CPU inference engine for Darknet .cfg/.weights detectors
// built from plain, depthwise and pointwise convolutions (Yolo-Fastest and kin): parses the cfg,
// reads the weights (batch norm folded into the convolutions), plans buffers per input size and
// runs the layers with darknet_kernels.h. No OpenCV or libtorch; single-threaded.
// Supported sections: net, convolutional (groups 1 or depthwise), shortcut, route, upsample,
// maxpool, dropout, yolo. Anything else is an error naming the section.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace reelscale::infer {

// One yolo head's output: rows of [cx, cy, w, h (fractions of the input image), objectness,
// per-class score (objectness x class probability)...], ordered by cell row, cell column, anchor.
struct YoloHeadOutput {
  int grid_h = 0, grid_w = 0, anchors = 0, classes = 0;
  std::vector<float> rows;
  int row_size() const { return 5 + classes; }
  size_t row_count() const { return rows.size() / row_size(); }
};

class DarknetNetwork {
 public:
  // Throws reelscale::Error (kBadInput) naming the section or the size mismatch on a bad file.
  DarknetNetwork(const std::string& cfg_path, const std::string& weights_path);
  ~DarknetNetwork();
  DarknetNetwork(const DarknetNetwork&) = delete;
  DarknetNetwork& operator=(const DarknetNetwork&) = delete;

  // `planes`: 3 x height x width floats (channel planes in the cfg's colour order, 0..1).
  // Any size whose stride-2 steps line up where the cfg joins layers (multiples of 32 for
  // Yolo-Fastest). The returned heads stay valid until the next call.
  const std::vector<YoloHeadOutput>& forward(const float* planes, int width, int height);

  // Multiply-adds of the convolutions for one pass at this input size, by kind.
  struct Work {
    int64_t pointwise = 0, depthwise = 0, other = 0;
  };
  Work multiply_adds(int width, int height);

  int input_width() const;   // the cfg's [net] size, the size the network was trained at
  int input_height() const;
  int input_channels() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace reelscale::infer
