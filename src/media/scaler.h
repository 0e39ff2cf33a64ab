// media/scaler.h — crops and scales decoded frames into a target geometry and pixel
// format with libswscale, caching one scaler context per geometry so the per-frame
// path allocates nothing. Crop offsets snap to the source's chroma grid, as FFmpeg's
// crop filter does, so results equal an FFmpeg `crop,scale` chain.
#pragma once

#include <cstdint>
#include <vector>

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
  FrameScaler(FrameScaler&&) = default;
  FrameScaler& operator=(FrameScaler&&) = default;

  // Scales `crop` of `source` into `target` (which has its geometry, format and
  // buffers already). The crop must lie inside the source.
  void scale(const AVFrame& source, const CropRect& crop, AVFrame& target);
  // The crop actually used for `crop` (snapped to the chroma grid of `format`).
  static CropRect snapped(const CropRect& crop, int source_width, int source_height, AVPixelFormat format);

 private:
  struct Entry {
    SwsPtr context;
    int src_w = 0, src_h = 0, dst_w = 0, dst_h = 0;
    int src_fmt = -1, dst_fmt = -1;
    uint64_t last_use = 0;
  };
  SwsContext* context_for(int src_w, int src_h, int src_fmt, int dst_w, int dst_h, int dst_fmt);

  ScaleQuality quality_;
  // A few contexts, least recently used replaced first: a crop that changes size from
  // frame to frame (a zoom) still finds its neighbours' contexts.
  static constexpr size_t kCacheSize = 4;
  std::vector<Entry> cache_;
  uint64_t uses_ = 0;
};

// Rotates a planar 8-bit YUV frame (4:2:0 or 4:4:4) clockwise by 90, 180 or 270
// degrees into `target`, which must have the rotated geometry and the same format.
void rotate_frame(const AVFrame& source, int degrees_clockwise, AVFrame& target);

}  // namespace reelscale::media
