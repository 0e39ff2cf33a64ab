// job/content_sample.cpp — timing a few of a job's own frames through decode and encode.
#include "job/content_sample.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/files.h"
#include "media/encoder.h"
#include "media/frame_reader.h"
#include "process/framing.h"
#include "process/upright.h"

namespace reelscale::job {

namespace {

// CPU seconds the calling thread has used.
double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// The decoded frames, upright, cropped and scaled to the output; ms of decoding each.
double decode_and_scale(const media::MediaSource& source, const media::VideoProbe& probe, int64_t first,
                        int64_t count, const media::CropRect& crop, std::vector<media::FramePtr>& scaled) {
  media::FrameReader reader(source, probe, 1);
  process::UprightFrames upright(probe);
  media::FrameScaler scaler;
  reader.frame(first);
  double decode_s = 0;
  for (int64_t k = first + 1; k <= first + count; ++k) {
    const double t0 = thread_cpu_seconds();
    const AVFrame& decoded = reader.frame(k);
    decode_s += thread_cpu_seconds() - t0;
    media::FramePtr& out = scaled[static_cast<size_t>(k - first - 1)];
    scaler.scale(upright.get(decoded), crop, *out);
  }
  return 1000 * decode_s / static_cast<double>(count);
}

// CPU seconds to encode the first `count` frames into a fresh file.
double encode_seconds(const std::vector<media::FramePtr>& frames, size_t count, int width, int height,
                      const std::filesystem::path& path) {
  media::EncoderSettings s;
  s.width = width;
  s.height = height;
  s.preset = "veryfast";
  s.crf = 23;
  s.threads = 1;
  const double t0 = thread_cpu_seconds();
  media::ChunkEncoder enc(path.string(), s);
  for (size_t i = 0; i < count; ++i) enc.write(*frames[i]);
  enc.finish();
  return thread_cpu_seconds() - t0;
}

// ms per frame past the first: encoding all the frames less encoding the first alone,
// so neither the encoder's opening nor the key frame (one frame in eight here, one in
// sixty in a job) weighs on a figure meant for the frames between key frames.
double encode_ms(const std::vector<media::FramePtr>& frames, int width, int height) {
  const ScopedTempDir scratch(std::filesystem::temp_directory_path(), "reelscale-sample-");
  // Untimed: a process's first encoder at a size pays for faulting in its buffers (the
  // kernel's time, 2-3x the encoding at 1080p); the timed ones reuse them.
  encode_seconds(frames, frames.size(), width, height, scratch.path() / "warm-up.mp4");
  const double first = encode_seconds(frames, 1, width, height, scratch.path() / "first.mp4");
  const double all = encode_seconds(frames, frames.size(), width, height, scratch.path() / "all.mp4");
  return std::max(1e-3, 1000 * (all - first) / static_cast<double>(frames.size() - 1));
}

}  // namespace

plan::ContentSample sample_content(const media::MediaSource& source, const media::VideoProbe& probe,
                                   int64_t first_frame, const media::CropRect& crop, int out_width, int out_height,
                                   int frames) {
  first_frame = std::clamp<int64_t>(first_frame, 0, std::max<int64_t>(0, probe.frame_count() - 1));
  const int64_t count = std::min<int64_t>(frames, probe.frame_count() - 1 - first_frame);
  if (count < 2 || out_width < 2 || out_height < 2) return {};
  std::vector<media::FramePtr> scaled;
  for (int64_t i = 0; i < count; ++i) scaled.push_back(media::make_frame(out_width, out_height, AV_PIX_FMT_YUV420P));
  plan::ContentSample sample;
  sample.decode_ms = decode_and_scale(source, probe, first_frame, count, crop, scaled);
  sample.encode_ms = encode_ms(scaled, out_width, out_height);
  return sample;
}

plan::ContentSample sample_job_content(const process::JobSpec& spec, const media::MediaSource& source,
                                       const media::VideoProbe& probe) {
  if (spec.endpoint == process::Endpoint::kDetect) return {};
  const process::FrameSize size = process::output_size(spec, probe);
  const bool swap = probe.rotation == 90 || probe.rotation == 270;
  const int upright_w = swap ? probe.height : probe.width, upright_h = swap ? probe.width : probe.height;
  media::CropRect crop{0, 0, upright_w, upright_h};
  if (spec.endpoint != process::Endpoint::kOverlay) crop = process::CropTrack(spec, upright_w, upright_h).at(0);
  const double start = spec.segments.empty() ? 0.0 : spec.segments.front().start;
  const double duration = probe.duration_seconds();
  const double fps = duration > 0 ? static_cast<double>(probe.frame_count()) / duration : 30.0;
  return sample_content(source, probe, static_cast<int64_t>(std::floor(start * fps)), crop, size.width, size.height);
}

}  // namespace reelscale::job
