// media/probe.h — what a video file holds, read from its packets without decoding:
// container, codec, geometry, rotation, frame rate, the exact presentation time of
// every video frame, key-frame positions, start time and audio streams.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "media/input.h"
#include "media/rational.h"

namespace reelscale::media {

struct AudioStreamInfo {
  int index = -1;
  std::string codec;
  int sample_rate = 0;
  int channels = 0;
  Rational time_base;
  double start_seconds = 0;
  double duration_seconds = 0;  // from packets when read, else the container's figure
};

// What a probe accepts (beyond: Error kBadInput naming the limit).
inline constexpr unsigned kMaxProbeStreams = 64;
inline constexpr int kMaxProbeDimension = 16384;
inline constexpr int64_t kMaxProbeFrames = 2'000'000;

struct VideoProbe {
  std::string container;     // e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  std::string codec;         // e.g. "h264"
  int stream_index = -1;
  int width = 0;
  int height = 0;
  int rotation = 0;          // clockwise degrees to display upright: 0, 90, 180 or 270
  std::string pixel_format;  // e.g. "yuv420p"
  Rational frame_rate;       // the stream's nominal rate (r_frame_rate)
  Rational average_frame_rate;
  Rational time_base;
  // Presentation timestamps of all frames, ascending, in time_base units. Index k is
  // "source frame k" everywhere in reelscale.
  std::vector<int64_t> pts;
  // Presentation indices of key frames, ascending.
  std::vector<int64_t> keyframes;
  int64_t end_pts = 0;       // pts of the last frame plus its duration
  bool variable_frame_rate = false;
  int64_t container_frame_count = 0;  // what the container's index claims (0 if unknown)
  int64_t file_bytes = 0;
  std::vector<AudioStreamInfo> audio;

  int64_t frame_count() const { return static_cast<int64_t>(pts.size()); }
  double start_seconds() const { return pts.empty() ? 0.0 : pts.front() * time_base.to_double(); }
  // The picture as displayed, the rotation applied.
  int upright_width() const { return rotation == 90 || rotation == 270 ? height : width; }
  int upright_height() const { return rotation == 90 || rotation == 270 ? width : height; }
  // Frames per second over the stream's span (0 when it has none).
  double mean_fps() const {
    const double d = duration_seconds();
    return d > 0 ? static_cast<double>(frame_count()) / d : 0.0;
  }
  double duration_seconds() const {
    return pts.empty() ? 0.0 : (end_pts - pts.front()) * time_base.to_double();
  }
  // Frame k's time relative to frame 0, in nanoseconds.
  int64_t relative_ns(int64_t pts_value) const;
  // The last key frame at or before presentation index k.
  int64_t keyframe_at_or_before(int64_t k) const;
  // Index of the frame with this pts, or -1 when no frame has it (within half an interval).
  int64_t index_of_pts(int64_t pts_value) const;
  // Frame times relative to frame 0 (ns), and the end (ns): the timeline's input.
  std::vector<int64_t> relative_times_ns() const;
  int64_t relative_end_ns() const { return relative_ns(end_pts); }
};

// Probes an opened input. Throws Error(kBadInput) for no video stream, zero frames,
// absurd dimensions, or a truncated file (fewer readable frames than the index lists).
VideoProbe probe_video(InputMedia& input);
VideoProbe probe_video(const MediaSource& source);

// One line per fact, for `reelscale probe`.
std::string describe(const VideoProbe& probe);

}  // namespace reelscale::media
