// media/limits.cpp — frame and memory bounds, and the damage bound.
#include "media/limits.h"

extern "C" {
#include <libavutil/imgutils.h>
#include <libavutil/pixfmt.h>
}

#include <algorithm>
#include <cstdio>

#include "common/error.h"

namespace reelscale::media {

namespace {

std::string megabytes(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.0f MB", static_cast<double>(bytes) / 1e6);
  return text;
}

std::string megapixels(int64_t pixels) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f Mpixels", static_cast<double>(pixels) / 1e6);
  return text;
}

std::string seconds(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", s);
  return text;
}

}  // namespace

int64_t decoded_frame_bytes(int width, int height, int pixel_format) {
  const auto format = pixel_format < 0 ? AV_PIX_FMT_YUV420P : static_cast<AVPixelFormat>(pixel_format);
  const int bytes = av_image_get_buffer_size(format, width, height, 32);
  if (bytes >= 0) return bytes;
  return static_cast<int64_t>(width) * height * 3 / 2;  // a size the image helpers refuse: 8-bit 4:2:0
}

int64_t decoder_memory_bytes(int width, int height, int pixel_format) {
  return decoded_frame_bytes(width, height, pixel_format) * kDecoderFramesHeld;
}

int64_t decodable_pixels(const MediaLimits& limits) {
  // 8-bit 4:2:0 is the smallest common layout: 1.5 bytes a pixel.
  const int64_t by_memory = limits.max_decode_bytes / kDecoderFramesHeld * 2 / 3;
  return std::max<int64_t>(1, std::min(limits.max_frame_pixels, by_memory));
}

void check_frame_bounds(const MediaLimits& limits, int width, int height, int pixel_format, const std::string& stream) {
  if (width <= 0 || height <= 0) return;
  const int64_t pixels = static_cast<int64_t>(width) * height;
  const std::string size = std::to_string(width) + "x" + std::to_string(height);
  if (pixels > limits.max_frame_pixels) {
    fail(ErrorKind::kBadInput, stream + " has " + size + " frames (" + megapixels(pixels) +
                                   "), over the frame-pixel limit of " + megapixels(limits.max_frame_pixels) +
                                   " (--max-frame-pixels)");
  }
  const int64_t memory = decoder_memory_bytes(width, height, pixel_format);
  if (memory > limits.max_decode_bytes) {
    const char* format = pixel_format < 0 ? nullptr : av_get_pix_fmt_name(static_cast<AVPixelFormat>(pixel_format));
    fail(ErrorKind::kBadInput, stream + " (" + size + " " + (format ? format : "frames") + ") needs about " +
                                   megabytes(memory) + " to decode (" + std::to_string(kDecoderFramesHeld) +
                                   " frames held), over the decode-memory limit of " +
                                   megabytes(limits.max_decode_bytes) + " (--max-decode-memory)");
  }
}

void StreamDamage::add(double time_s) {
  ++damaged;
  if (times_s.size() < kTimesKept) times_s.push_back(time_s);
}

std::string StreamDamage::describe() const {
  std::string text = std::to_string(damaged) + " of " + std::to_string(std::max(read, damaged)) + " " + unit +
                     " concealed";
  if (times_s.empty()) return text;
  std::vector<double> times = times_s;
  std::sort(times.begin(), times.end());
  const size_t shown = std::min<size_t>(times.size(), 8);
  text += " at ";
  for (size_t i = 0; i < shown; ++i) {
    if (i > 0) text += i + 1 == shown && shown == times.size() ? " and " : ", ";
    text += seconds(times[i]);
  }
  text += " s";
  if (static_cast<int64_t>(shown) < damaged) text += " and " + std::to_string(damaged - static_cast<int64_t>(shown)) + " more";
  return text;
}

void check_damage(const StreamDamage& damage, const MediaLimits& limits, const std::string& name) {
  const auto allowed = std::max<int64_t>(limits.min_damage_allowed,
                                         static_cast<int64_t>(limits.max_damaged_share * static_cast<double>(damage.read)));
  if (damage.damaged <= allowed) return;
  const double first = damage.times_s.empty() ? 0 : *std::min_element(damage.times_s.begin(), damage.times_s.end());
  fail(ErrorKind::kBadInput, "the " + damage.stream + " stream of " + name + " is damaged from " + seconds(first) +
                                 " s: " + damage.describe() + ", over the bound of " +
                                 std::to_string(allowed) + " (" +
                                 std::to_string(static_cast<int>(limits.max_damaged_share * 100 + 0.5)) + " % of the " +
                                 damage.unit + " read, at least " + std::to_string(limits.min_damage_allowed) + ")");
}

}  // namespace reelscale::media
