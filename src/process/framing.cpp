// process/framing.cpp — keyframed crop and scale.
#include "process/framing.h"

#include <algorithm>
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

double CropTrack::least_upscale(int output_width, int output_height) const {
  const auto factor = [&](double crop_width, double crop_height) {
    const double w = std::clamp(std::round(crop_width), 1.0, static_cast<double>(width_));
    const double h = std::clamp(std::round(crop_height), 1.0, static_cast<double>(height_));
    return std::min(output_width / w, output_height / h);
  };
  if (keys_.empty()) return factor(fixed_.width, fixed_.height);
  double least = factor(keys_.front().values[2], keys_.front().values[3]);
  for (const CropKeyframe& k : keys_) least = std::min(least, factor(k.values[2], k.values[3]));
  return least;
}

FramingProcessor::FramingProcessor(const JobSpec& spec, const media::VideoProbe& probe)
    : width_(spec.output_width), height_(spec.output_height), upright_(probe),
      crops_(spec, upright_.width(), upright_.height()),
      least_upscale_(crops_.least_upscale(width_, height_)), scaler_(media::ScaleQuality::kBicubic) {}

void FramingProcessor::process(std::span<FrameJob> jobs) {
  for (FrameJob& job : jobs) {
    const AVFrame& src = upright_.get(*job.source);
    scaler_.scale(src, crops_.at(job.output_index), *job.output);
  }
}

}  // namespace reelscale::process
