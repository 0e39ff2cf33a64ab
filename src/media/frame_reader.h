// media/frame_reader.h — decodes source frames by presentation index. Seeks to the key
// frame at or before the first frame wanted, decodes and drops the pre-roll, and walks
// forward; any request order works (a backward request seeks again). Correct with
// B-frames, open GOPs, non-zero start times and variable frame rates because frames
// are identified by their timestamps against the probe, never by counting. A damaged
// packet is dropped and a frame that never decodes is held over (the frame before it
// stands in): both are concealed and logged in the stats' damage, whose bound the
// caller checks once its frames are read (check_damage).
#pragma once

#include <cstdint>

#include "media/ffmpeg_handles.h"
#include "media/input.h"
#include "media/probe.h"

namespace reelscale::media {

struct ReaderStats {
  int64_t decoded = 0;  // frames out of the decoder
  int64_t dropped = 0;  // decoded but not wanted (pre-roll, or skipped by a lower output fps)
  int64_t seeks = 0;
  int64_t held = 0;     // wanted frames the decoder never produced; the previous frame stood in
  int64_t reruns = 0;   // decode runs restarted a key frame earlier (open GOPs that do not decode alone)
  int64_t bytes_read = 0;
  StreamDamage damage;  // wanted frames that were held over or decoded with errors
};

class FrameReader {
 public:
  // `threads`: decoder threads (0 lets FFmpeg choose).
  FrameReader(const MediaSource& source, const VideoProbe& probe, int threads = 1);
  ~FrameReader();
  FrameReader(const FrameReader&) = delete;
  FrameReader& operator=(const FrameReader&) = delete;

  // The decoded frame with presentation index k (0 <= k < frame_count), in the
  // decoder's pixel format. Valid until the next call.
  const AVFrame& frame(int64_t k);
  ReaderStats stats() const;
  const VideoProbe& probe() const { return probe_; }

 private:
  bool decode_next(FramePtr& out);  // false at the end of the stream
  bool needs_seek(int64_t k) const;
  void seek_to_keyframe(int64_t keyframe_index);
  // Seeks to keyframes[pos] (walking back if the demuxer lands after k) and primes pending_.
  void start_run(int64_t keyframe_pos, int64_t k);
  // Decodes forward until frame k is current_ (true) or cannot come (false).
  bool decode_until(int64_t k);
  static bool damaged(const AVFrame& f);
  // The frame k is returned concealed (held over, or decoded with errors).
  void note_concealed(int64_t k);

  const VideoProbe& probe_;
  InputMedia input_;
  int stream_ = -1;
  CodecContextPtr decoder_;
  PacketPtr packet_;
  FramePtr current_;       // the last frame decoded at or before the wanted index
  int64_t current_index_ = -1;
  FramePtr pending_;       // a decoded frame past the wanted index, kept for the next call
  int64_t pending_index_ = -1;
  int64_t held_for_ = -1;  // a missing index that current_ stands in for
  FramePtr scratch_;
  int64_t highest_output_ = -1;  // highest index the decoder produced since the last seek
  int64_t run_start_pos_ = 0;    // keyframes[] position the current decode run started from
  bool demuxer_eof_ = false;
  bool decoder_eof_ = false;
  bool started_ = false;
  ReaderStats stats_;
};

}  // namespace reelscale::media
