// process/copy_processor.h — the identity endpoint (`copy`), which exercises the chunk
// pipeline: the upright source (display rotation applied) as yuv420p, at the source's
// displayed size rounded down to even (the odd last row or column cropped).
#pragma once

#include "media/probe.h"
#include "process/processor.h"
#include "process/upright.h"

namespace reelscale::process {

class CopyProcessor final : public FrameProcessor {
 public:
  explicit CopyProcessor(const media::VideoProbe& probe);
  int output_width() const override { return width_; }
  int output_height() const override { return height_; }
  void process(std::span<FrameJob> jobs) override;

 private:
  UprightFrames upright_;
  int width_;
  int height_;
  media::FrameScaler scaler_;
};

}  // namespace reelscale::process
