// process/framing_ai.cpp — crop → (reduce) → Real-ESRGAN → exact resize.
#include "process/framing_ai.h"

namespace reelscale::process {

FramingAiProcessor::FramingAiProcessor(const JobSpec& spec, const media::VideoProbe& probe,
                                       std::shared_ptr<const SrModel> model, const ModelSettings& settings)
    : width_(spec.output_width), height_(spec.output_height), sr_input_(spec.sr_input), upright_(probe),
      crops_(spec, upright_.width(), upright_.height()), to_rgb_(media::ScaleQuality::kBicubic),
      to_output_(media::ScaleQuality::kBicubic) {
  net_ = std::make_unique<infer::SuperResolver>(model->weights, model->arch, settings.sr);
  batch_ = settings.batch > 0 ? settings.batch : (infer::resolve_device(settings.sr.device) == infer::Device::kCuda ? 4 : 1);
}

FramingAiProcessor::~FramingAiProcessor() = default;

std::pair<int, int> FramingAiProcessor::network_input(const media::CropRect& crop) const {
  const int s = net_->scale();
  const int want_w = (width_ + s - 1) / s, want_h = (height_ + s - 1) / s;
  if (sr_input_ == SrInput::kReduced && (crop.width > want_w || crop.height > want_h)) return {want_w, want_h};
  return {crop.width, crop.height};
}

void FramingAiProcessor::process(std::span<FrameJob> jobs) {
  const int s = net_->scale();
  // Jobs that need the network, grouped by input size (a zooming crop changes it).
  std::map<std::pair<int, int>, std::vector<size_t>> groups;
  if (rgb_in_.size() < jobs.size()) rgb_in_.resize(jobs.size());
  if (rgb_out_.size() < jobs.size()) rgb_out_.resize(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    const AVFrame& src = upright_.get(*jobs[i].source);
    const media::CropRect crop = crops_.at(jobs[i].output_index);
    if (crop.width >= width_ && crop.height >= height_) {
      to_output_.scale(src, crop, *jobs[i].output);  // enough pixels already: no network
      ++skipped_;
      continue;
    }
    const auto [iw, ih] = network_input(crop);
    auto& in = rgb_in_[i];
    if (!in || in->width != iw || in->height != ih) in = media::make_frame(iw, ih, AV_PIX_FMT_RGB24);
    to_rgb_.scale(src, crop, *in);
    auto& out = rgb_out_[i];
    if (!out || out->width != iw * s || out->height != ih * s) out = media::make_frame(iw * s, ih * s, AV_PIX_FMT_RGB24);
    groups[{iw, ih}].push_back(i);
  }
  for (const auto& [size, members] : groups) {
    std::vector<const uint8_t*> in;
    std::vector<uint8_t*> out;
    for (size_t i : members) {
      in.push_back(rgb_in_[i]->data[0]);
      out.push_back(rgb_out_[i]->data[0]);
    }
    // All members share geometry, so they share line sizes too.
    net_->run_rgb24(in, size.second, size.first, rgb_in_[members[0]]->linesize[0], out, rgb_out_[members[0]]->linesize[0]);
    for (size_t i : members) to_output_.scale(*rgb_out_[i], media::CropRect{}, *jobs[i].output);
  }
}

}  // namespace reelscale::process
