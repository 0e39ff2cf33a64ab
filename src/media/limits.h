// media/limits.h — what reelscale agrees to decode: a bound on one frame's pixels, a
// bound on the memory one decoder of a stream may hold, and how much damage a stream
// may carry before a job fails. The bounds travel with a MediaSource, so every open
// (probe, frame reader, audio, content sample, detect, a worker's chunk) applies them.
// Also the damage log a decoder keeps: what it concealed, and at what times.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace reelscale::media {

// Frames one decoder may hold at once: 16 reference frames (the largest decoded-picture
// buffer H.264 and HEVC allow) and 4 in flight (the decoder's output, and the reader's
// current, pending and scratch frames).
inline constexpr int kDecoderFramesHeld = 20;

struct MediaLimits {
  // DCI 8K (8192 x 4320): the largest frame phones and cinema cameras record.
  int64_t max_frame_pixels = 8192LL * 4320;
  // 2 GiB: DCI 8K at 10 bits 4:2:0 (106 MB a frame) times kDecoderFramesHeld fits.
  int64_t max_decode_bytes = 2LL << 30;
  // Damage concealed before a stream's part fails the job: this share of the frames (video)
  // or packets (audio) read, and at least min_damage_allowed of them.
  double max_damaged_share = 0.05;
  int64_t min_damage_allowed = 8;
};

// Bytes one decoded frame takes (32-byte aligned planes); `pixel_format` is an
// AVPixelFormat, or -1 when unknown (counted as 8-bit 4:2:0).
int64_t decoded_frame_bytes(int width, int height, int pixel_format);
// What a decoder of such a stream may hold: decoded_frame_bytes x kDecoderFramesHeld.
int64_t decoder_memory_bytes(int width, int height, int pixel_format);
// The most pixels a frame may have under both bounds (what the decoders are told).
int64_t decodable_pixels(const MediaLimits& limits);
// Throws Error(kBadInput) naming the limit when a `width` x `height` frame of `stream`
// breaks either bound.
void check_frame_bounds(const MediaLimits& limits, int width, int height, int pixel_format,
                        const std::string& stream);

// What one stream's decoder concealed: damaged packets dropped and frames that were
// held over or decoded with errors. Times are seconds from the first video frame.
struct StreamDamage {
  static constexpr size_t kTimesKept = 64;
  std::string stream;              // "video" or "audio"
  std::string unit;                // "frames" or "packets"
  int64_t read = 0;                // units read
  int64_t damaged = 0;             // units concealed
  std::vector<double> times_s;     // the first kTimesKept damaged units' times

  void add(double time_s);
  bool empty() const { return damaged == 0; }
  // "3 of 90 frames concealed at 1.23, 1.27 and 4.00 s"
  std::string describe() const;
};

// Throws Error(kBadInput) naming the stream, the damage and its time when `damage` is
// past the limits' bound; `name` is the input's.
void check_damage(const StreamDamage& damage, const MediaLimits& limits, const std::string& name);

}  // namespace reelscale::media
