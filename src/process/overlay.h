// process/overlay.h — the `overlay` endpoint: the upright source with a highlight that
// follows highlight_keyframes: the background outside a feathered ellipse darkened and a
// ring drawn on the ellipse. Integer arithmetic; per-pixel work only in the thin band
// around the ellipse, plain scaled copies elsewhere.
#pragma once

#include <array>
#include <vector>

#include "process/job_spec.h"
#include "process/processor.h"
#include "process/upright.h"

namespace reelscale::process {

struct Spotlight {
  double cx = 0, cy = 0, rx = 1, ry = 1;  // output pixels
};

// Draws `spot` over a yuv420p frame: reads `src` planes, writes `dst` planes (they may
// be the same). Exposed for the benchmark and tests.
class HighlightPainter {
 public:
  explicit HighlightPainter(const OverlayStyle& style);
  void paint(const AVFrame& src, AVFrame& dst, const Spotlight& spot) const;

 private:
  void paint_plane(const uint8_t* src, int src_stride, uint8_t* dst, int dst_stride, int width, int height,
                   int subsample, const Spotlight& spot, int plane) const;

  OverlayStyle style_;
  int keep_;                  // 256 * (1 - dim)
  std::array<int, 3> ring_;   // ring colour in limited-range YUV
};

class OverlayProcessor final : public FrameProcessor {
 public:
  OverlayProcessor(const JobSpec& spec, const media::VideoProbe& probe);
  int output_width() const override { return width_; }
  int output_height() const override { return height_; }
  void process(std::span<FrameJob> jobs) override;
  Spotlight spotlight_at(int64_t output_index) const;

 private:
  int width_, height_;
  UprightFrames upright_;
  std::vector<HighlightKeyframe> keys_;
  Easing easing_;
  media::Rational fps_;
  HighlightPainter painter_;
  media::FrameScaler converter_;
  media::FramePtr converted_;
};

}  // namespace reelscale::process
