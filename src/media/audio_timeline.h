// media/audio_timeline.h — the output audio of a job's timeline, as planar float
// samples. Each segment's source samples are cut by sample index and either copied
// (speed 1) or time-stretched to exactly its output length (Rubber Band R3, offline,
// fed context beyond the segment's ends, with the segment's ends pinned by a key-frame
// map); segments meet in a 5 ms crossfade centred on the splice. A source instant
// therefore lands at its mapped output time whatever the speed. No FFmpeg here: the
// source samples come from a callback, so the timing can be tested on plain arrays.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "media/timeline.h"

namespace reelscale::media {

// One vector of samples per channel, all the same length.
using PlanarSamples = std::vector<std::vector<float>>;

// A segment in sample units: source [source_begin, source_end) plays over output
// [output_begin, output_end).
struct SampleSegment {
  int64_t source_begin = 0;
  int64_t source_end = 0;
  int64_t output_begin = 0;
  int64_t output_end = 0;
  double speed = 1;
};

// The segments of a job in samples at `rate`, output boundaries from the same
// cumulative sums as the video timeline. The last segment ends at `total_samples`
// (the video's exact length). No segments: the source one to one.
std::vector<SampleSegment> sample_layout(const std::vector<Segment>& segments, int rate, int64_t total_samples);

// Appends up to `max_frames` source frames to every channel of `into`; returns how
// many it appended, 0 at the end of the source.
using SampleSupply = std::function<size_t(PlanarSamples& into, size_t max_frames)>;

class TimelineAudio {
 public:
  TimelineAudio(std::vector<SampleSegment> layout, int channels, int rate, SampleSupply supply);
  ~TimelineAudio();
  TimelineAudio(const TimelineAudio&) = delete;
  TimelineAudio& operator=(const TimelineAudio&) = delete;

  // Appends up to `frames` output frames to `out` (one vector per channel); returns
  // how many, 0 once the whole output has been read.
  size_t read(PlanarSamples& out, size_t frames);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace reelscale::media
