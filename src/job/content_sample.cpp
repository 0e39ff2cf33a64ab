// job/content_sample.cpp — timing a few of a job's own frames through decode and encode.
#include "job/content_sample.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/files.h"
#include "common/stopwatch.h"
#include "media/encoder.h"
#include "media/frame_reader.h"
#include "process/framing.h"
#include "process/upright.h"

namespace reelscale::job {

namespace {

// The decoded frames, upright, cropped along every path and scaled to the output
// (scaled[path][frame]); ms of decoding each.
double decode_and_scale(const media::MediaSource& source, const media::VideoProbe& probe, int64_t first,
                        int64_t count, const std::vector<CropPath>& paths,
                        std::vector<std::vector<media::FramePtr>>& scaled) {
  media::FrameReader reader(source, probe, 1);
  process::UprightFrames upright(probe);
  media::FrameScaler scaler;
  reader.frame(first);
  double decode_s = 0;
  for (int64_t k = first + 1; k <= first + count; ++k) {
    const double t0 = thread_cpu_seconds();
    const AVFrame& decoded = reader.frame(k);
    decode_s += thread_cpu_seconds() - t0;
    const AVFrame& picture = upright.get(decoded);
    const size_t i = static_cast<size_t>(k - first - 1);
    for (size_t p = 0; p < paths.size(); ++p) scaler.scale(picture, paths[p][std::min(i, paths[p].size() - 1)], *scaled[p][i]);
  }
  return 1000 * decode_s / static_cast<double>(count);
}

// CPU seconds to encode the first `count` frames into a fresh file.
double encode_seconds(const std::vector<media::FramePtr>& frames, size_t count, media::EncoderSettings s,
                      const std::filesystem::path& path) {
  const double t0 = thread_cpu_seconds();
  media::ChunkEncoder enc(path.string(), s);
  for (size_t i = 0; i < count; ++i) enc.write(*frames[i]);
  enc.finish();
  return thread_cpu_seconds() - t0;
}

// ms per frame past the first, over every position: encoding a position's frames less
// encoding its first alone, so neither the encoder's opening nor the key frame (one
// frame in four here, one in sixty in a job) weighs on a figure meant for the frames
// between key frames.
double encode_ms(const std::vector<std::vector<media::FramePtr>>& positions, const media::EncoderSettings& s) {
  const ScopedTempDir scratch(std::filesystem::temp_directory_path(), "reelscale-sample-");
  // Untimed: a process's first encoder at a size pays for faulting in its buffers (the
  // kernel's time, 2-3x the encoding at 1080p); the timed ones reuse them.
  encode_seconds(positions.front(), positions.front().size(), s, scratch.path() / "warm-up.mp4");
  double seconds = 0;
  size_t frames = 0;
  for (const auto& set : positions) {
    const double first = encode_seconds(set, 1, s, scratch.path() / "first.mp4");
    seconds += encode_seconds(set, set.size(), s, scratch.path() / "all.mp4") - first;
    frames += set.size() - 1;
  }
  return std::max(1e-3, 1000 * seconds / static_cast<double>(frames));
}

}  // namespace

std::vector<CropPath> crop_paths(const process::JobSpec& spec, int64_t output_frames, int source_width,
                                 int source_height) {
  if (spec.endpoint == process::Endpoint::kOverlay || spec.endpoint == process::Endpoint::kDetect) {
    return {{media::CropRect{0, 0, source_width, source_height}}};
  }
  const process::CropTrack track(spec, source_width, source_height);
  const int64_t last = std::max<int64_t>(0, output_frames - 1);
  std::vector<CropPath> out;
  for (int p = 0; p < kContentSamplePositions; ++p) {
    const int64_t from = std::min(last, last * p / std::max(1, kContentSamplePositions - 1));
    CropPath path;
    for (int64_t j = std::max<int64_t>(0, std::min(from, last - kContentSampleFrames + 1)), n = 0;
         n < kContentSampleFrames; ++j, ++n) {
      path.push_back(track.at(std::min(j, last)));
    }
    out.push_back(path);
  }
  return out;
}

plan::ContentSample sample_content(const media::MediaSource& source, const media::VideoProbe& probe,
                                   int64_t first_frame, std::vector<CropPath> paths, int out_width, int out_height,
                                   int crf, double source_upscale) {
  first_frame = std::clamp<int64_t>(first_frame, 0, std::max<int64_t>(0, probe.frame_count() - 1));
  const int64_t count = std::min<int64_t>(kContentSampleFrames, probe.frame_count() - 1 - first_frame);
  if (count < 2 || out_width < 2 || out_height < 2 || paths.empty()) return {};
  for (const CropPath& path : paths) {
    if (path.empty()) return {};
  }
  // Every sample is taken at the same number of positions, so jobs and the profiler's
  // reference compare like with like: one path is repeated.
  while (paths.size() < static_cast<size_t>(kContentSamplePositions)) paths.push_back(paths.back());
  std::vector<std::vector<media::FramePtr>> scaled(paths.size());
  for (auto& set : scaled) {
    for (int64_t i = 0; i < count; ++i) set.push_back(media::make_frame(out_width, out_height, AV_PIX_FMT_YUV420P));
  }
  plan::ContentSample sample;
  sample.decode_ms = decode_and_scale(source, probe, first_frame, count, paths, scaled);
  media::EncoderSettings settings;
  settings.width = out_width;
  settings.height = out_height;
  settings.preset = "veryfast";
  settings.crf = crf;
  settings.threads = 1;
  settings.source_upscale = source_upscale;
  sample.encode_ms = encode_ms(scaled, settings);
  return sample;
}

plan::ContentSample sample_job_content(const process::JobSpec& spec, const media::MediaSource& source,
                                       const media::VideoProbe& probe, int64_t output_frames) {
  if (spec.endpoint == process::Endpoint::kDetect) return {};
  const process::FrameSize size = process::output_size(spec, probe);
  const double start = spec.segments.empty() ? 0.0 : spec.segments.front().start;
  // Framing's picture is enlarged as it is; framing_ai's network adds detail, as overlay keeps it.
  const double upscale = spec.endpoint == process::Endpoint::kFraming
                             ? process::CropTrack(spec, probe.upright_width(), probe.upright_height())
                                   .least_upscale(size.width, size.height)
                             : 1.0;
  return sample_content(source, probe, static_cast<int64_t>(std::floor(start * probe.mean_fps())),
                        crop_paths(spec, output_frames, probe.upright_width(), probe.upright_height()), size.width,
                        size.height, spec.crf, upscale);
}

}  // namespace reelscale::job
