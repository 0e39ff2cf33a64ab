// process/framing.h — the `framing` endpoint: per output frame, crop the keyframed
// rectangle of the upright source and scale it to the output size (bicubic, the same
// swscale path as FFmpeg's `crop,scale` filters).
#pragma once

#include "process/job_spec.h"
#include "process/processor.h"
#include "process/upright.h"

namespace reelscale::process {

// The crop of output frame j: keyframes interpolated at j / fps, rounded to whole
// pixels and kept inside the source; the centred crop when there are no keyframes.
class CropTrack {
 public:
  CropTrack(const JobSpec& spec, int source_width, int source_height);
  media::CropRect at(int64_t output_index) const;
  // The least factor by which the output size enlarges any crop of the track (the
  // crops between keyframes lie between theirs, so the keyframes bound it).
  double least_upscale(int output_width, int output_height) const;

 private:
  std::vector<CropKeyframe> keys_;
  Easing easing_;
  media::Rational fps_;
  int width_, height_;
  media::CropRect fixed_;
};

class FramingProcessor final : public FrameProcessor {
 public:
  FramingProcessor(const JobSpec& spec, const media::VideoProbe& probe);
  int output_width() const override { return width_; }
  int output_height() const override { return height_; }
  void process(std::span<FrameJob> jobs) override;
  double least_upscale() const override { return least_upscale_; }

 private:
  int width_, height_;
  UprightFrames upright_;
  CropTrack crops_;
  double least_upscale_;
  media::FrameScaler scaler_;
};

}  // namespace reelscale::process
