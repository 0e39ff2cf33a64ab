// media/timeline.h — the output timeline of DESIGN.md §3: which source frame each
// output frame shows. A pure function of the output index, the source's frame times
// and the job's segments, never of how a job is split. No FFmpeg here.
#pragma once

#include <cstdint>
#include <vector>

#include "media/rational.h"

namespace reelscale::media {

// A kept source range in seconds from the source's first frame, played at `speed`.
struct Segment {
  double start = 0;
  double end = 0;
  double speed = 1;
};

inline constexpr double kMinSpeed = 0.25;
inline constexpr double kMaxSpeed = 4.0;

class Timeline {
 public:
  // `source_times_ns`: each source frame's time relative to frame 0, ascending;
  // `source_end_ns`: the end of the last frame. Throws Error(kBadInput) for an
  // invalid fps or a segment outside the source or with a speed outside [0.25, 4].
  Timeline(std::vector<int64_t> source_times_ns, int64_t source_end_ns, Rational fps,
           std::vector<Segment> segments = {});

  Rational fps() const { return fps_; }
  const std::vector<Segment>& segments() const { return segments_; }
  int64_t output_frame_count() const { return output_frames_; }
  int64_t output_duration_ns() const { return output_duration_ns_; }
  // Presentation time of output frame j: j / fps, in ns.
  int64_t output_time_ns(int64_t j) const;
  // The source time (ns from source frame 0) that output frame j shows.
  int64_t source_time_ns(int64_t j) const;
  // The source frame shown by output frame j: the last frame whose time is <= the
  // mapped time plus epsilon (the first frame if none is).
  int64_t source_frame(int64_t j) const;
  // The tolerance used above: 1 ms, or a quarter of the shortest frame interval if smaller.
  int64_t epsilon_ns() const { return epsilon_ns_; }

 private:
  std::vector<int64_t> times_;
  int64_t end_ns_;
  Rational fps_;
  std::vector<Segment> segments_;
  std::vector<int64_t> segment_start_ns_;       // per segment, source start
  std::vector<int64_t> segment_output_start_;   // per segment, output start (ns)
  int64_t output_duration_ns_ = 0;
  int64_t output_frames_ = 0;
  int64_t epsilon_ns_ = 1000000;
};

// Splits [0, frames) into `chunks` contiguous ranges whose sizes differ by at most one.
struct FrameRange {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};
std::vector<FrameRange> split_evenly(int64_t frames, int chunks);

}  // namespace reelscale::media
