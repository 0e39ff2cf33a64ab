// process/processor.h — the per-frame processor interface every endpoint implements.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "media/ffmpeg_handles.h"
#include "media/scaler.h"

namespace reelscale::media {
struct VideoProbe;
}

namespace reelscale::process {

// One output frame to make: the decoded source frame and the output index it becomes.
struct FrameJob {
  const AVFrame* source = nullptr;
  int64_t output_index = 0;
  AVFrame* output = nullptr;  // yuv420p, output_width() x output_height(), buffers allocated
};

class FrameProcessor {
 public:
  virtual ~FrameProcessor() = default;
  virtual int output_width() const = 0;
  virtual int output_height() const = 0;
  // How many frames process() likes at once (networks batch; pixel work does not).
  virtual int preferred_batch() const { return 1; }
  // Makes each job's output from its source. Must depend only on the source frame and
  // the output index, so any split of a job gives the same frames.
  virtual void process(std::span<FrameJob> jobs) = 0;
  // The least factor by which the output enlarges its source picture (1: not at all, or
  // detail is added as by super-resolution); the encoder tunes for smooth pictures by it.
  virtual double least_upscale() const { return 1.0; }
  // Frames whose work was skipped as unnecessary (e.g. no super-resolution needed).
  virtual int64_t frames_skipped() const { return 0; }
};

// Makes one processor per execution slot (processors are not shared between threads),
// for a source described by its probe.
using SlotProcessorFactory = std::function<std::unique_ptr<FrameProcessor>(const media::VideoProbe&)>;

}  // namespace reelscale::process
