// media/timeline.cpp — output-frame to source-frame mapping.
#include "media/timeline.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/error.h"

namespace reelscale::media {

namespace {
constexpr int64_t kNsPerSecond = 1000000000;

int64_t seconds_to_ns(double s) { return std::llround(s * 1e9); }

std::string seconds_text(double s) {
  std::ostringstream os;
  os << s;
  return os.str();
}
}  // namespace

Timeline::Timeline(std::vector<int64_t> source_times_ns, int64_t source_end_ns, Rational fps,
                   std::vector<Segment> segments)
    : times_(std::move(source_times_ns)), end_ns_(source_end_ns), fps_(fps.reduced()),
      segments_(std::move(segments)) {
  if (!fps_.valid() || fps_.to_double() > 1000) {
    fail(ErrorKind::kBadInput, "fps " + fps.to_string() + " is out of range (0 < fps <= 1000)");
  }
  if (times_.empty()) fail(ErrorKind::kBadInput, "the source has zero frames");
  for (size_t i = 1; i < times_.size(); ++i) {
    const int64_t d = times_[i] - times_[i - 1];
    if (d > 0) epsilon_ns_ = std::min(epsilon_ns_, d / 4);
  }
  epsilon_ns_ = std::max<int64_t>(epsilon_ns_, 1);

  const double source_seconds = end_ns_ / 1e9;
  if (segments_.empty()) {
    output_duration_ns_ = end_ns_;
  } else {
    int64_t out = 0;
    for (size_t i = 0; i < segments_.size(); ++i) {
      const Segment& s = segments_[i];
      const std::string name = "segments[" + std::to_string(i) + "]";
      if (!(s.start >= 0)) fail(ErrorKind::kBadInput, name + ".start " + seconds_text(s.start) + " is negative");
      if (!(s.end > s.start)) {
        fail(ErrorKind::kBadInput, name + ".end " + seconds_text(s.end) + " must be after its start " +
                                       seconds_text(s.start));
      }
      if (s.start >= source_seconds) {
        fail(ErrorKind::kBadInput, name + ".start " + seconds_text(s.start) +
                                       " s is at or past the end of the source (" +
                                       seconds_text(source_seconds) + " s)");
      }
      if (s.end > source_seconds + 1e-3) {
        fail(ErrorKind::kBadInput, name + ".end " + seconds_text(s.end) +
                                       " s is past the end of the source (" + seconds_text(source_seconds) + " s)");
      }
      if (!(s.speed >= kMinSpeed && s.speed <= kMaxSpeed)) {
        fail(ErrorKind::kBadInput, name + ".speed " + seconds_text(s.speed) + " is outside [0.25, 4]");
      }
      segment_start_ns_.push_back(seconds_to_ns(s.start));
      segment_output_start_.push_back(out);
      out += std::llround((std::min(s.end, source_seconds) - s.start) * 1e9 / s.speed);
    }
    output_duration_ns_ = out;
  }
  // Frames j with j/fps < duration - epsilon: a rounded container duration must not add a frame.
  const Int128 span = static_cast<Int128>(std::max<int64_t>(0, output_duration_ns_ - epsilon_ns_));
  const Int128 num = span * fps_.num;
  const Int128 den = static_cast<Int128>(kNsPerSecond) * fps_.den;
  output_frames_ = static_cast<int64_t>((num + den - 1) / den);
  if (output_frames_ <= 0) fail(ErrorKind::kBadInput, "the output would have zero frames");
}

int64_t Timeline::output_time_ns(int64_t j) const {
  return static_cast<int64_t>(static_cast<Int128>(j) * kNsPerSecond * fps_.den / fps_.num);
}

int64_t Timeline::source_time_ns(int64_t j) const {
  const int64_t t = output_time_ns(j);
  if (segments_.empty()) return t;
  auto it = std::upper_bound(segment_output_start_.begin(), segment_output_start_.end(), t);
  const size_t s = it == segment_output_start_.begin() ? 0 : (it - segment_output_start_.begin()) - 1;
  const double into = static_cast<double>(t - segment_output_start_[s]) * segments_[s].speed;
  return segment_start_ns_[s] + std::llround(into);
}

int64_t Timeline::source_frame(int64_t j) const {
  const int64_t t = source_time_ns(j) + epsilon_ns_;
  auto it = std::upper_bound(times_.begin(), times_.end(), t);
  if (it == times_.begin()) return 0;
  return (it - times_.begin()) - 1;
}

std::vector<FrameRange> split_evenly(int64_t frames, int chunks) {
  if (chunks < 1) fail(ErrorKind::kBadInput, "the chunk count must be at least 1");
  if (chunks > frames) {
    fail(ErrorKind::kBadInput, "cannot split " + std::to_string(frames) + " output frames into " +
                                   std::to_string(chunks) + " chunks (more chunks than frames)");
  }
  std::vector<FrameRange> ranges;
  ranges.reserve(chunks);
  int64_t begin = 0;
  for (int i = 0; i < chunks; ++i) {
    const int64_t end = frames * (i + 1) / chunks;
    ranges.push_back({begin, end});
    begin = end;
  }
  return ranges;
}

}  // namespace reelscale::media
