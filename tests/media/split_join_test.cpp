// tests/media/split_join_test.cpp — split into N chunks, re-encode, join: the output
// must hold exactly the frames the timeline asks for, in order, evenly timed, with
// audio as long as the video. Frames are identified by barcodes read back through the
// ffmpeg CLI, so a dropped, duplicated or shifted frame cannot hide.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "process/processors.h"

#include "job/job_flow.h"
#include "process/copy_processor.h"
#include "test_media.h"

namespace fs = std::filesystem;
namespace rt = reelscale::testing;
using namespace reelscale;

namespace {

struct CopyRun {
  record::JobRecord result;
  std::map<int64_t, uint64_t> frame_hashes;  // processed frame j -> FNV hash of its planes
};

uint64_t hash_frame(const AVFrame& f) {
  uint64_t h = 1469598103934665603ull;
  for (int p = 0; p < 3; ++p) {
    const int w = p ? f.width / 2 : f.width, hgt = p ? f.height / 2 : f.height;
    for (int y = 0; y < hgt; ++y) {
      const uint8_t* row = f.data[p] + static_cast<ptrdiff_t>(y) * f.linesize[p];
      for (int x = 0; x < w; ++x) h = (h ^ row[x]) * 1099511628211ull;
    }
  }
  return h;
}

CopyRun run_copy(const fs::path& in, const fs::path& out, int chunks, media::Rational fps = {0, 0},
                 std::vector<media::Segment> segments = {}) {
  CopyRun run;
  std::mutex m;
  nlohmann::json j = {{"endpoint", "copy"}, {"input", in.string()}, {"output", out.string()}, {"preset", "ultrafast"}};
  if (fps.valid()) j["fps"] = fps.to_string();
  process::JobSpec spec = process::parse_job_spec(j);
  spec.segments = std::move(segments);
  store::ObjectStore store;
  exec::LocalExecutorOptions local;
  local.observer = [&](int64_t k, const AVFrame& f) {
    std::lock_guard lock(m);
    run.frame_hashes[k] = hash_frame(f);
  };
  exec::LocalExecutor executor(local, [](const process::JobSpec& s) { return process::make_basic_factory(s); }, store);
  job::JobOptions options;
  options.chunks = chunks;
  run.result = job::run_job(spec, executor, store, options);
  job::throw_if_failed(run.result);
  return run;
}

using rt::iota;

void expect_even_timestamps(const std::vector<double>& pts, double fps) {
  ASSERT_FALSE(pts.empty());
  for (size_t j = 0; j < pts.size(); ++j) {
    EXPECT_NEAR(pts[j] - pts[0], j / fps, 1e-3) << "frame " << j;
  }
}

}  // namespace

TEST(SplitJoin, BarcodeClipIsFrameExactForEveryChunkCount) {
  rt::TempDir dir;
  rt::ClipSpec spec;
  spec.frames = 60;
  spec.audio_seconds = 2.0;
  make_clip(dir / "in.mp4", spec);
  const std::string before = rt::sha256_file(dir / "in.mp4");
  std::map<int64_t, uint64_t> reference_hashes;
  for (int n : {1, 2, 3, 7, 16}) {
    SCOPED_TRACE("chunks=" + std::to_string(n));
    const fs::path out = dir / ("out" + std::to_string(n) + ".mp4");
    const CopyRun run = run_copy(dir / "in.mp4", out, n);
    EXPECT_EQ(run.result.frames, 60);
    EXPECT_EQ(static_cast<int>(run.result.chunk_results.size()), n);
    const auto video = rt::decode_gray(out);
    EXPECT_EQ(rt::read_indices(video, spec.width, spec.height), iota(60));
    expect_even_timestamps(video.pts, 30);
    EXPECT_NEAR(rt::decoded_audio_seconds(out), 2.0, 1.0 / 30);
    EXPECT_TRUE((run.result.audio == "copied"));
    // Determinism: processed frames are bit-identical whatever the split.
    if (n == 1) {
      reference_hashes = run.frame_hashes;
    }
    EXPECT_EQ(run.frame_hashes, reference_hashes);
    EXPECT_TRUE(rt::hidden_files(dir.path()).empty());
  }
  EXPECT_EQ(rt::sha256_file(dir / "in.mp4"), before);
}

TEST(SplitJoin, OpenGopsAndBFrames) {
  rt::TempDir dir;
  rt::ClipSpec spec;
  spec.frames = 75;
  spec.keyint = 12;
  spec.open_gop = true;
  spec.bframes = 3;
  make_clip(dir / "in.mp4", spec);
  for (int n : {1, 7, 16}) {
    const fs::path out = dir / ("out" + std::to_string(n) + ".mp4");
    const CopyRun run = run_copy(dir / "in.mp4", out, n);
    const auto video = rt::decode_gray(out);
    EXPECT_EQ(rt::read_indices(video, spec.width, spec.height), iota(75)) << n;
    // Chunks that start mid-GOP decode a pre-roll from the key frame before them.
    int64_t dropped = 0;
    for (const auto& c : run.result.chunk_results) dropped += c.frames_dropped;
    if (n > 1) {
      EXPECT_GT(dropped, 0);
    }
  }
}

TEST(SplitJoin, NonZeroStartTime) {
  rt::TempDir dir;
  rt::ClipSpec spec;
  spec.frames = 50;
  spec.start_offset = 3.0;
  spec.audio_seconds = 50 / 30.0;
  make_clip(dir / "in.mp4", spec);
  const CopyRun run = run_copy(dir / "in.mp4", dir / "out.mp4", 4);
  const auto video = rt::decode_gray(dir / "out.mp4");
  EXPECT_EQ(rt::read_indices(video, spec.width, spec.height), iota(50));
  EXPECT_NEAR(video.pts.front(), 0.0, 1e-3);
  expect_even_timestamps(video.pts, 30);
  EXPECT_NEAR(rt::decoded_audio_seconds(dir / "out.mp4"), 50 / 30.0, 1.0 / 30);
}

TEST(SplitJoin, VariableFrameRateToConstantRate) {
  rt::TempDir dir;
  rt::ClipSpec spec;
  spec.frames = 90;
  spec.variable_rate = true;
  make_clip(dir / "in.mkv", spec);
  // The expected barcode of every output frame, from ffprobe's frame times and the
  // barcodes the ffmpeg CLI decodes from the source.
  const auto source = rt::decode_gray(dir / "in.mkv");
  const auto source_codes = rt::read_indices(source, spec.width, spec.height);
  const auto& src_times = source.pts;
  ASSERT_EQ(src_times.size(), 60u);
  const double end = rt::probe_video_end(dir / "in.mkv");
  const int64_t frames = static_cast<int64_t>(std::ceil((end - src_times[0] - 1e-3) * 30));
  std::vector<int64_t> expected;
  for (int64_t j = 0; j < frames; ++j) {
    int64_t k = 0;
    for (int64_t i = 0; i < 60; ++i) {
      if (src_times[i] - src_times[0] <= j / 30.0 + 1e-4) k = i;
    }
    expected.push_back(source_codes[k]);
  }
  for (int n : {1, 7}) {
    const fs::path out = dir / ("out" + std::to_string(n) + ".mp4");
    const CopyRun run = run_copy(dir / "in.mkv", out, n, media::Rational{30, 1});
    const auto video = rt::decode_gray(out);
    EXPECT_EQ(rt::read_indices(video, spec.width, spec.height), expected) << n;
    expect_even_timestamps(video.pts, 30);
  }
}

TEST(SplitJoin, OddDimensionsAreCroppedToEven) {
  rt::TempDir dir;
  rt::ClipSpec spec;
  spec.width = 161;
  spec.height = 97;
  spec.pix_fmt = "yuv444p";
  spec.frames = 40;
  make_clip(dir / "in.mp4", spec);
  const CopyRun run = run_copy(dir / "in.mp4", dir / "out.mp4", 3);
  const auto video = rt::decode_gray(dir / "out.mp4");
  EXPECT_EQ(video.width, 160);
  EXPECT_EQ(video.height, 96);
  EXPECT_EQ(rt::read_indices(video, spec.width, spec.height), iota(40));
}

TEST(SplitJoin, AudioLongerOrShorterThanVideoFollowsTheVideo) {
  rt::TempDir dir;
  for (double audio : {3.0, 1.0}) {
    SCOPED_TRACE("audio seconds " + std::to_string(audio));
    rt::ClipSpec spec;
    spec.frames = 60;
    spec.audio_seconds = audio;
    make_clip(dir / "in.mp4", spec);
    const CopyRun run = run_copy(dir / "in.mp4", dir / "out.mp4", 3);
    EXPECT_EQ(rt::read_indices(rt::decode_gray(dir / "out.mp4"), spec.width, spec.height), iota(60));
    EXPECT_NEAR(rt::decoded_audio_seconds(dir / "out.mp4"), 2.0, 1.0 / 30);
    // Longer audio is cut by stream copy; shorter audio must be padded, so re-encoded.
    EXPECT_EQ((run.result.audio == "copied"), audio > 2.0);
  }
}

TEST(SplitJoin, SegmentsAreChunkInvariantAndAudioFollows) {
  rt::TempDir dir;
  rt::ClipSpec spec;
  spec.frames = 90;
  spec.audio_seconds = 3.0;
  make_clip(dir / "in.mp4", spec);
  const std::vector<media::Segment> segments{{0.5, 1.0, 1.0}, {1.5, 2.5, 0.5}, {2.0, 2.6, 2.0}};
  // 0.5 s + 2 s + 0.3 s = 2.8 s = 84 frames.
  std::vector<int64_t> expected;
  for (int j = 0; j < 15; ++j) expected.push_back(15 + j);
  for (int j = 0; j < 60; ++j) expected.push_back(45 + j / 2);
  for (int j = 0; j < 9; ++j) expected.push_back(60 + 2 * j);
  std::map<int64_t, uint64_t> reference;
  for (int n : {1, 5}) {
    const fs::path out = dir / ("out" + std::to_string(n) + ".mp4");
    const CopyRun run = run_copy(dir / "in.mp4", out, n, media::Rational{30, 1}, segments);
    EXPECT_EQ(rt::read_indices(rt::decode_gray(out), spec.width, spec.height), expected) << n;
    EXPECT_NEAR(rt::decoded_audio_seconds(out), 2.8, 1.0 / 30);
    EXPECT_FALSE((run.result.audio == "copied"));
    if (n == 1) {
      reference = run.frame_hashes;
    }
    EXPECT_EQ(run.frame_hashes, reference);
  }
}

TEST(SplitJoin, RealClipsKeepEveryFrameInPlace) {
  rt::TempDir dir;
  for (const char* name : {"tears_of_steel_10s_640x360.mp4", "asl_walk.mkv", "one-by-one-person-8s_derived.mp4"}) {
    SCOPED_TRACE(name);
    const fs::path in = fs::path(REELSCALE_SAMPLES_DIR) / name;
    run_copy(in, dir / "one.mp4", 1);
    run_copy(in, dir / "many.mp4", 6);
    const auto one = rt::decode_gray(dir / "one.mp4");
    const auto many = rt::decode_gray(dir / "many.mp4");
    const int64_t frames = rt::ffprobe_packet_count(in);
    ASSERT_EQ(static_cast<int64_t>(one.frames.size()), frames);
    ASSERT_EQ(static_cast<int64_t>(many.frames.size()), frames);
    EXPECT_EQ(rt::ffprobe_packet_count(dir / "many.mp4"), frames);
    for (size_t j = 0; j < one.frames.size(); ++j) {
      const double same = rt::psnr(one.frames[j], many.frames[j]);
      EXPECT_GT(same, 35.0) << "frame " << j;
      // A shifted frame would match a neighbour better than its own position (1 dB of
      // slack for near-static scenes, where neighbours differ by coding noise only).
      if (j > 0) {
        EXPECT_GE(same + 1.0, rt::psnr(one.frames[j], many.frames[j - 1])) << "frame " << j;
      }
      if (j + 1 < one.frames.size()) {
        EXPECT_GE(same + 1.0, rt::psnr(one.frames[j], many.frames[j + 1])) << "frame " << j;
      }
    }
  }
}
