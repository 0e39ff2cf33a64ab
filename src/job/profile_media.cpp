// job/profile_media.cpp — synthetic clips and stage-alone measurements for the profiler.
#include "job/profile_media.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "common/stopwatch.h"
#include "media/encoder.h"
#include "media/frame_reader.h"
#include "media/input.h"
#include "media/probe.h"

namespace reelscale::job {

namespace {

// Frame i of the pattern, drawn at the frame's own size (the 1920x1080 pattern scaled):
// gradients panning, a moving block and a fine texture moving with them, so x264 and the
// decoder work about as hard as on camera footage.
void draw_pattern(AVFrame& f, int i) {
  const int width = f.width, height = f.height;
  const double k = width / 1920.0;
  media::check_av(av_frame_make_writable(&f), "frame");
  for (int y = 0; y < height; ++y) {
    uint8_t* row = f.data[0] + y * f.linesize[0];
    const int sy = static_cast<int>(y / k);
    for (int x = 0; x < width; ++x) {
      const int sx = static_cast<int>(x / k);
      const bool block = std::abs(sx - (200 + 12 * i) % 1920) < 120 && std::abs(sy - 540) < 160;
      const uint32_t texture = (static_cast<uint32_t>(sx + 2 * i) * 73856093u) ^ (static_cast<uint32_t>(sy) * 19349663u);
      const int v = (block ? 220 : 32 + (sx / 12 + sy / 9 + 2 * i) % 160) + static_cast<int>((texture >> 13) % 9) - 4;
      row[x] = static_cast<uint8_t>(std::clamp(v, 16, 235));
    }
  }
  for (int p = 1; p < 3; ++p) {
    for (int y = 0; y < height / 2; ++y) std::memset(f.data[p] + y * f.linesize[p], 128 + ((y + i) & 15), width / 2);
  }
}

media::EncoderSettings settings(int width, int height, const std::string& preset) {
  media::EncoderSettings s;
  s.width = width;
  s.height = height;
  s.preset = preset;
  s.crf = 23;
  return s;
}

}  // namespace

void make_synthetic_clip(const std::string& path, int seconds, int width, int height, const std::string& preset) {
  make_synthetic_frames(path, seconds * 30, width, height, preset);
}

void make_synthetic_frames(const std::string& path, int frames, int width, int height, const std::string& preset) {
  media::ChunkEncoder enc(path, settings(width, height, preset));
  media::FramePtr f = media::make_frame(width, height, AV_PIX_FMT_YUV420P);
  for (int i = 0; i < frames; ++i) {
    draw_pattern(*f, i);
    enc.write(*f);
  }
  enc.finish();
}

StageCost measure_decode(const std::string& clip) {
  const media::MediaSource source = media::MediaSource::local(clip);
  const media::VideoProbe probe = media::probe_video(source);
  media::FrameReader reader(source, probe, 1);
  const double cpu0 = process_cpu_seconds();
  const Stopwatch wall;
  for (int64_t k = 0; k < probe.frame_count(); ++k) reader.frame(k);
  const double frames = static_cast<double>(std::max<int64_t>(1, probe.frame_count()));
  return {1000 * (process_cpu_seconds() - cpu0) / frames, 1000 * wall.seconds() / frames};
}

double measure_shared_decode_ms(const std::string& clip, int threads) {
  const media::MediaSource source = media::MediaSource::local(clip);
  const media::VideoProbe probe = media::probe_video(source);
  std::vector<double> ms(static_cast<size_t>(std::max(1, threads)), 0.0);
  {
    std::vector<std::jthread> decoders;
    for (size_t t = 0; t < ms.size(); ++t) {
      decoders.emplace_back([&, t] {
        media::FrameReader reader(source, probe, 1);
        const double cpu0 = thread_cpu_seconds();
        for (int64_t k = 0; k < probe.frame_count(); ++k) reader.frame(k);
        ms[t] = 1000 * (thread_cpu_seconds() - cpu0) / static_cast<double>(std::max<int64_t>(1, probe.frame_count()));
      });
    }
  }
  double sum = 0;
  for (double v : ms) sum += v;
  return sum / static_cast<double>(ms.size());
}

StageCost measure_encode(int width, int height, const std::string& preset, int frames, const std::string& scratch_mp4) {
  std::vector<media::FramePtr> drawn;
  for (int i = 0; i < frames; ++i) {
    drawn.push_back(media::make_frame(width, height, AV_PIX_FMT_YUV420P));
    draw_pattern(*drawn.back(), i);
  }
  const double cpu0 = process_cpu_seconds();
  const Stopwatch wall;
  {
    media::ChunkEncoder enc(scratch_mp4, settings(width, height, preset));
    for (const auto& f : drawn) enc.write(*f);
    enc.finish();
  }
  return {1000 * (process_cpu_seconds() - cpu0) / frames, 1000 * wall.seconds() / frames};
}

}  // namespace reelscale::job
