// tests/job/content_sample_test.cpp — a job's content sample through real FFmpeg and x264:
// busy pictures cost more to encode than flat ones at the same size, a sample follows the
// job's segment and crop, and clips too short to sample give none.
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "job/content_sample.h"
#include "job/profile_media.h"
#include "media/encoder.h"
#include "process/job_spec.h"
#include "test_media.h"

using namespace reelscale;
namespace rt = reelscale::testing;

namespace {

// `frames` frames of one grey at width x height.
void make_flat_clip(const std::string& path, int width, int height, int frames) {
  media::EncoderSettings s;
  s.width = width;
  s.height = height;
  media::ChunkEncoder enc(path, s);
  media::FramePtr f = media::make_frame(width, height, AV_PIX_FMT_YUV420P);
  for (int p = 0; p < 3; ++p) {
    const int rows = p == 0 ? height : height / 2;
    for (int y = 0; y < rows; ++y) std::memset(f->data[p] + y * f->linesize[p], p == 0 ? 100 : 128, p == 0 ? width : width / 2);
  }
  for (int i = 0; i < frames; ++i) enc.write(*f);
  enc.finish();
}

plan::ContentSample sample_whole(const std::string& clip, int width, int height) {
  const media::MediaSource source = media::MediaSource::local(clip);
  const media::VideoProbe probe = media::probe_video(source);
  return job::sample_content(source, probe, 0, {job::CropPath{media::CropRect{0, 0, width, height}}}, width, height);
}

}  // namespace

TEST(ContentSample, BusyPicturesCostMoreToEncodeThanFlatOnes) {
  rt::TempDir dir;
  const std::string busy = (dir / "busy.mp4").string(), flat = (dir / "flat.mp4").string();
  job::make_synthetic_clip(busy, 1, 640, 360);
  make_flat_clip(flat, 640, 360, 30);
  const plan::ContentSample b = sample_whole(busy, 640, 360);
  const plan::ContentSample f = sample_whole(flat, 640, 360);
  ASSERT_TRUE(b.known());
  ASSERT_TRUE(f.known());
  EXPECT_GT(b.encode_ms, 1.5 * f.encode_ms) << "busy " << b.encode_ms << " ms, flat " << f.encode_ms << " ms";
  EXPECT_GT(b.decode_ms, f.decode_ms);
  // More bits cost x264 more: the job's crf is in its sample.
  const media::MediaSource source = media::MediaSource::local(busy);
  const media::VideoProbe probe = media::probe_video(source);
  const plan::ContentSample fine = job::sample_content(source, probe, 0, {job::CropPath{media::CropRect{0, 0, 640, 360}}}, 640, 360, 12);
  const plan::ContentSample coarse = job::sample_content(source, probe, 0, {job::CropPath{media::CropRect{0, 0, 640, 360}}}, 640, 360, 40);
  EXPECT_GT(fine.encode_ms, 1.3 * coarse.encode_ms) << "crf 12 " << fine.encode_ms << " ms, crf 40 " << coarse.encode_ms;
}

TEST(ContentSample, AJobIsSampledAtItsSegmentAndCropAndDetectIsNot) {
  const std::string clip = std::string(REELSCALE_SAMPLES_DIR) + "/tears_of_steel_10s_640x360.mp4";
  const media::MediaSource source = media::MediaSource::local(clip);
  const media::VideoProbe probe = media::probe_video(source);
  nlohmann::json j = nlohmann::json::parse(R"({"endpoint": "framing", "output": "/tmp/unused.mp4", "output_width": 202,
      "output_height": 360, "segments": [{"start": 9.5, "end": 10}]})");
  j["input"] = clip;
  process::JobSpec spec = process::parse_job_spec(j);
  const plan::ContentSample s = job::sample_job_content(spec, source, probe, 12);
  EXPECT_TRUE(s.known()) << "9.5 s of 10 leaves frames to sample";
  // A panning crop is sampled where it starts, in the middle and where it ends.
  j["crop_keyframes"] = nlohmann::json::parse(R"([{"time": 0, "x": 0, "y": 0, "width": 202, "height": 360},
                                                 {"time": 0.4583, "x": 438, "y": 0, "width": 202, "height": 360}])");
  const std::vector<job::CropPath> at = job::crop_paths(process::parse_job_spec(j), 12, 640, 360);
  ASSERT_EQ(at.size(), 3u);
  ASSERT_EQ(at.front().size(), static_cast<size_t>(job::kContentSampleFrames));
  EXPECT_EQ(at.front().front().x, 0);
  EXPECT_GT(at.front().back().x, 0) << "consecutive frames follow the pan";
  EXPECT_GT(at[1].front().x, at.front().back().x);
  EXPECT_GT(at.back().back().x, at[1].back().x) << "the crop pans right";
  EXPECT_EQ(job::kReferenceCrf, process::JobSpec{}.crf) << "the profiler samples at the jobs' default";
  spec.endpoint = process::Endpoint::kDetect;
  EXPECT_FALSE(job::sample_job_content(spec, source, probe, 12).known());
}

TEST(ContentSample, AClipTooShortGivesNoSample) {
  rt::TempDir dir;
  const std::string clip = (dir / "two.mp4").string();
  make_flat_clip(clip, 64, 64, 2);
  EXPECT_FALSE(sample_whole(clip, 64, 64).known());
}
