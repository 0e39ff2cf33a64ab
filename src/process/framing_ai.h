// process/framing_ai.h — the `framing_ai` endpoint: the keyframed crop, Real-ESRGAN
// super-resolution, and an exact resize to the output size. Compute goes only where it
// helps: a crop that already has the output's resolution is scaled without the network
// (and counted), and a larger crop is first reduced to output/scale so the network
// never makes more pixels than the output keeps. Frames are batched per call.
#pragma once

#include <map>
#include <memory>

#include "infer/super_resolution.h"
#include "process/framing.h"
#include "process/models.h"

namespace reelscale::process {

class FramingAiProcessor final : public FrameProcessor {
 public:
  FramingAiProcessor(const JobSpec& spec, const media::VideoProbe& probe, std::shared_ptr<const SrModel> model,
                     const ModelSettings& settings);
  ~FramingAiProcessor() override;
  int output_width() const override { return width_; }
  int output_height() const override { return height_; }
  int preferred_batch() const override { return batch_; }
  void process(std::span<FrameJob> jobs) override;
  int64_t frames_skipped() const override { return skipped_; }
  // The network's input size for a crop (what the processor feeds it).
  std::pair<int, int> network_input(const media::CropRect& crop) const;

 private:
  int width_, height_;
  SrInput sr_input_;
  int batch_;
  UprightFrames upright_;
  CropTrack crops_;
  std::unique_ptr<infer::SuperResolver> net_;
  media::FrameScaler to_rgb_;
  media::FrameScaler to_output_;
  std::vector<media::FramePtr> rgb_in_, rgb_out_;
  int64_t skipped_ = 0;
};

}  // namespace reelscale::process
