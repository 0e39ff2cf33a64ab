// tests/cli/av_sync_test.cpp — audio in sync with the picture through speed segments:
// a clip with a white frame and a beep at the same instants goes through
// `reelscale process` and `reelscale run` in several chunks; every beep must start
// within 20 ms of its flash (the target is 10), each beep must be heard once, and
// the audio must be as long as the video to within a frame.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <iostream>

#include "test_media.h"

namespace fs = std::filesystem;
namespace rt = reelscale::testing;
using nlohmann::json;

namespace {

constexpr int kRate = 48000;
constexpr double kFps = 30;
constexpr int kFlashEvery = 24;  // frames: 0.8 s, which every tested speed maps onto a whole frame
constexpr double kToleranceMs = 20;

struct SpeedSegment {
  double start, end, speed;
};

// Times (s) of the first white frame of each flash.
std::vector<double> flash_times(const fs::path& video) {
  const rt::DecodedVideo v = rt::decode_gray(video);
  std::vector<double> out;
  bool was_white = false;
  for (size_t i = 0; i < v.frames.size(); ++i) {
    double sum = 0;
    for (uint8_t p : v.frames[i]) sum += p;
    const bool white = sum / static_cast<double>(v.frames[i].size()) > 128;
    if (white && !was_white) out.push_back(v.pts[i]);
    was_white = white;
  }
  return out;
}

// Where the timeline puts each source flash.
std::vector<double> mapped_flashes(const std::vector<SpeedSegment>& segments) {
  const double every = kFlashEvery / kFps;
  std::vector<double> out;
  double at = 0;
  for (const auto& s : segments) {
    for (double t = std::ceil(s.start / every - 1e-9) * every; t < s.end - 1e-9; t += every) {
      out.push_back(at + (t - s.start) / s.speed);
    }
    at += (s.end - s.start) / s.speed;
  }
  return out;
}

class AvSync : public ::testing::Test {
 protected:
  void SetUp() override { rt::make_flash_beep_clip(clip_, 8.0, kFlashEvery); }

  // Runs the segments through `path` ("process" or "run") in `chunks` chunks and
  // checks the output; returns the worst beep-to-flash offset in ms.
  double check(const std::vector<SpeedSegment>& segments, const std::string& path, int chunks) {
    json segs = json::array();
    for (const auto& s : segments) segs.push_back({{"start", s.start}, {"end", s.end}, {"speed", s.speed}});
    const fs::path out = dir_ / ("out-" + std::to_string(++runs_) + ".mp4");
    const json job = {{"endpoint", "copy"}, {"input", clip_.string()}, {"output", out.string()},
                      {"preset", "ultrafast"}, {"segments", segs}};
    const fs::path job_file = dir_ / "job.json";
    std::ofstream(job_file) << job.dump();
    const std::string cmd = std::string(REELSCALE_BINARY) + (path == "process" ? " process copy --job " : " run ") +
                            job_file.string() + " --chunks " + std::to_string(chunks);
    const auto r = rt::run_command(cmd);
    EXPECT_EQ(r.status, 0) << cmd << "\n" << r.output;
    if (r.status != 0) return 1e9;

    const std::vector<double> want = mapped_flashes(segments);
    const std::vector<double> flashes = flash_times(out);
    const std::vector<float> audio = rt::decode_audio_mono(out, kRate);
    const std::vector<double> beeps = rt::level_onsets(audio, kRate);
    EXPECT_EQ(flashes.size(), want.size()) << "flashes in the picture";
    EXPECT_EQ(beeps.size(), want.size()) << "each beep heard once";
    double worst = 0;
    for (size_t k = 0; k < want.size() && k < flashes.size() && k < beeps.size(); ++k) {
      EXPECT_NEAR(flashes[k], want[k], 0.5 / kFps) << "flash " << k;
      const double offset_ms = (beeps[k] - flashes[k]) * 1000;
      EXPECT_LE(std::fabs(offset_ms), kToleranceMs) << "beep " << k << " at " << beeps[k] << " s, flash at " << flashes[k];
      worst = std::max(worst, std::fabs(offset_ms));
    }
    const double video_seconds = rt::probe_video_end(out);
    EXPECT_NEAR(static_cast<double>(audio.size()) / kRate, video_seconds, 1.0 / kFps) << "audio length against video";
    return worst;
  }

  rt::TempDir dir_;
  fs::path clip_ = dir_ / "flash-beep.mkv";
  int runs_ = 0;
};

}  // namespace

TEST_F(AvSync, EverySpeedThroughProcessAndRunInChunks) {
  for (double speed : {0.25, 0.5, 0.75, 1.5, 2.0, 4.0}) {
    const std::vector<SpeedSegment> segs = {{0, 0.8, 1}, {0.8, 4.0, speed}, {4.0, 5.6, 1}};
    for (const std::string path : {"process", "run"}) {
      SCOPED_TRACE(path + " at speed " + std::to_string(speed));
      const double worst = check(segs, path, 3);
      std::cout << "speed " << speed << " via " << path << ": worst beep-to-flash " << worst << " ms\n";
    }
  }
}

TEST_F(AvSync, MixedSpeedsInOneJobWithACut) {
  // 1x, 0.5x, 2x, 0.25x (the case that drifted 178 ms), 1.5x, a cut, 4x and 0.75x.
  const std::vector<SpeedSegment> segs = {{0, 0.8, 1},   {0.8, 2.4, 0.5}, {2.4, 4.0, 2},    {4.0, 4.8, 0.25},
                                          {4.8, 5.6, 1.5}, {6.4, 7.2, 4},  {7.2, 8.0, 0.75}};
  for (const std::string path : {"process", "run"}) {
    for (int chunks : {1, 4}) {
      SCOPED_TRACE(path + " in " + std::to_string(chunks) + " chunks");
      const double worst = check(segs, path, chunks);
      std::cout << "mixed speeds via " << path << " in " << chunks << " chunks: worst beep-to-flash " << worst << " ms\n";
    }
  }
}
