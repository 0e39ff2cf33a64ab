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

inline constexpr double kSmoothUpscale = 1.25;
inline constexpr const char* kNvencCodec = "h264_nvenc";
inline constexpr int kDefaultGop = 250;

struct EncoderSettings {
  int width = 0;
  int height = 0;
  Rational fps{30, 1};
  // libx264, or h264_nvenc: the GPU's encoder where it has one. An h264_nvenc that cannot
  // open (no driver, a GPU without NVENC) falls back to libx264 and says why.
  std::string codec = "libx264";
  std::string preset = "veryfast";
  int crf = 20;
  int threads = 0;   // 0: libx264 chooses
  int gop = 0;       // key-frame interval in frames; 0: 250, x264's own and the ffmpeg CLI's
  // How much the frames were enlarged from their source picture: the least factor over
  // width and height (1: not at all). An enlarged picture's motion is smooth at the scale of
  // a macroblock, so from kSmoothUpscale on, veryfast leaves out x264's search of 8x8
  // sub-partitions of P and B macroblocks (superfast's partitions): a fifth to a quarter less
  // encoding at the same SSIM and about the same size on real footage (docs/perf/endpoints.md).
  double source_upscale = 1.0;
  // Validates the fields; throws Error(kBadInput) naming the bad one.
  void validate() const;
  // The same for everything but the frame size (checked before the size is known).
  void validate_options() const;
  // The x264 options beyond preset and CRF: closed GOPs, and the partitions above.
  std::string x264_params() const;
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
  // The encoder that wrote the file, and why it is not the one asked for ("" when it is).
  const std::string& codec_used() const { return settings_.codec; }
  const std::string& fallback_reason() const { return fallback_reason_; }

 private:
  void open_encoder();
  // Opens `codec` configured by settings_; "" on success, else why it could not.
  std::string try_open(const std::string& codec);
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
  std::string fallback_reason_;
};

}  // namespace reelscale::media
