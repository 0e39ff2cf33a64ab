// media/scaler.h — crops and scales decoded frames into a target geometry and pixel
// format with libswscale, caching one scaler context per geometry so the per-frame
// path allocates nothing. Crop offsets snap to the source's chroma grid, as FFmpeg's
// crop filter does, so results equal an FFmpeg `crop,scale` chain.
#pragma once

#include <cstdint>

#include "media/ffmpeg_handles.h"

namespace reelscale::media {

struct CropRect {
  int x = 0;
  int y = 0;
  int width = 0;   // 0: the whole source
  int height = 0;
};

enum class ScaleQuality { kFastBilinear, kBilinear, kBicubic, kLanczos };

class FrameScaler {
 public:
  explicit FrameScaler(ScaleQuality quality = ScaleQuality::kBicubic) : quality_(quality) {}

  // Scales `crop` of `source` into `target` (which has its geometry, format and
  // buffers already). The crop must lie inside the source.
  void scale(const AVFrame& source, const CropRect& crop, AVFrame& target);
  // The crop actually used for `crop` (snapped to the chroma grid of `format`).
  static CropRect snapped(const CropRect& crop, int source_width, int source_height, AVPixelFormat format);

 private:
  ScaleQuality quality_;
  SwsPtr context_;
  int src_w_ = 0, src_h_ = 0, dst_w_ = 0, dst_h_ = 0;
  int src_fmt_ = -1, dst_fmt_ = -1;
};

}  // namespace reelscale::media
