// process/framing.cpp — keyframed crop and scale.
#include "process/framing.h"

#include <cmath>

namespace reelscale::process {

CropTrack::CropTrack(const JobSpec& spec, int source_width, int source_height)
    : keys_(spec.crop_keyframes), easing_(spec.crop_easing), fps_(spec.fps), width_(source_width),
      height_(source_height), fixed_(centred_crop(source_width, source_height, spec.output_width, spec.output_height)) {}

media::CropRect CropTrack::at(int64_t j) const {
  if (keys_.empty()) return fixed_;
  const double t = static_cast<double>(j) * fps_.den / fps_.num;
  const auto v = interpolate(keys_, t, easing_);
  media::CropRect r;
  r.width = std::clamp(static_cast<int>(std::lround(v[2])), 1, width_);
  r.height = std::clamp(static_cast<int>(std::lround(v[3])), 1, height_);
  r.x = std::clamp(static_cast<int>(std::lround(v[0])), 0, width_ - r.width);
  r.y = std::clamp(static_cast<int>(std::lround(v[1])), 0, height_ - r.height);
  return r;
}

FramingProcessor::FramingProcessor(const JobSpec& spec, const media::VideoProbe& probe)
    : width_(spec.output_width), height_(spec.output_height), upright_(probe),
      crops_(spec, upright_.width(), upright_.height()), scaler_(media::ScaleQuality::kBicubic) {}

void FramingProcessor::process(std::span<FrameJob> jobs) {
  for (FrameJob& job : jobs) {
    const AVFrame& src = upright_.get(*job.source);
    scaler_.scale(src, crops_.at(job.output_index), *job.output);
  }
}

}  // namespace reelscale::process
