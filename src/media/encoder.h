// media/encoder.h — encodes frames to H.264 (libx264) in a file: yuv420p, a fixed
// output rate, closed GOPs that start with a key frame, and exact timestamps (every
// packet carries its duration). The same settings give the same codec parameters in
// every chunk of a job, so chunks join by stream copy.
#pragma once

#include <cstdint>
#include <string>

#include "media/ffmpeg_handles.h"
#include "media/rational.h"

namespace reelscale::media {

struct EncoderSettings {
  int width = 0;
  int height = 0;
  Rational fps{30, 1};
  std::string codec = "libx264";
  std::string preset = "veryfast";
  int crf = 20;
  int threads = 0;   // 0: libx264 chooses
  int gop = 0;       // key-frame interval in frames; 0: two seconds of output
  // Validates the fields; throws Error(kBadInput) naming the bad one.
  void validate() const;
  // The same for everything but the frame size (checked before the size is known).
  void validate_options() const;
};

class ChunkEncoder {
 public:
  // Opens `path` (container from its extension) for writing.
  ChunkEncoder(const std::string& path, const EncoderSettings& settings);
  ~ChunkEncoder();
  ChunkEncoder(const ChunkEncoder&) = delete;
  ChunkEncoder& operator=(const ChunkEncoder&) = delete;

  // Encodes one yuv420p frame of the configured size as the next output frame.
  void write(const AVFrame& frame);
  // Flushes the encoder and finishes the file. Required; a chunk without it is invalid.
  void finish();

  int64_t frames_written() const { return frames_; }
  int64_t packets_written() const { return packets_; }
  int64_t bytes_written() const { return bytes_; }

 private:
  void drain(bool flushing);

  EncoderSettings settings_;
  OutputFormat out_;
  AVStream* stream_ = nullptr;
  CodecContextPtr encoder_;
  PacketPtr packet_;
  FramePtr staging_;
  int64_t frames_ = 0;
  int64_t packets_ = 0;
  int64_t bytes_ = 0;
  bool finished_ = false;
};

}  // namespace reelscale::media
