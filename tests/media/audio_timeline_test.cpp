// tests/media/audio_timeline_test.cpp — the output audio of speed segments, on plain
// sample arrays: exact lengths, every beep at its mapped output time, one beep per
// beep (no doubled or smeared transients), clean splices.
#include "media/audio_timeline.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "test_media.h"

using reelscale::media::PlanarSamples;
using reelscale::media::SampleSegment;
using reelscale::media::Segment;
using reelscale::media::TimelineAudio;
using reelscale::media::sample_layout;

namespace {

constexpr int kRate = 48000;
constexpr double kBeepEvery = 0.8;

// 50 ms 1 kHz beeps every 0.8 s over a quiet 220 Hz hum and noise, as a crowd would be.
std::vector<float> beeps(double seconds, bool hum) {
  std::vector<float> s(static_cast<size_t>(seconds * kRate));
  unsigned noise = 12345;
  for (size_t i = 0; i < s.size(); ++i) {
    const double t = static_cast<double>(i) / kRate;
    const double into = std::fmod(t + 1e-9, kBeepEvery);
    double v = into < 0.05 ? 0.7 * std::sin(2 * M_PI * 1000 * into) : 0.0;
    if (hum) {
      noise = noise * 1103515245u + 12345u;
      v += 0.05 * std::sin(2 * M_PI * 220 * t) + 0.03 * (static_cast<double>(noise >> 16 & 0x7fff) / 32768.0 - 0.5);
    }
    s[i] = static_cast<float>(v);
  }
  return s;
}

std::vector<float> render(const std::vector<float>& source, const std::vector<Segment>& segments, int64_t total) {
  size_t pos = 0;
  TimelineAudio audio(sample_layout(segments, kRate, total), 1, kRate, [&](PlanarSamples& into, size_t max) {
    const size_t n = std::min(max, source.size() - pos);
    into[0].insert(into[0].end(), source.begin() + pos, source.begin() + pos + n);
    pos += n;
    return n;
  });
  PlanarSamples out(1);
  while (audio.read(out, 1000) > 0) {
  }
  return out[0];
}

// Output time of source time t through the segments (t must lie in one of them).
std::vector<double> mapped_beeps(const std::vector<Segment>& segments) {
  std::vector<double> out;
  double at = 0;
  for (const Segment& s : segments) {
    for (double t = std::ceil(s.start / kBeepEvery - 1e-9) * kBeepEvery; t < s.end - 1e-9; t += kBeepEvery) {
      out.push_back(at + (t - s.start) / s.speed);
    }
    at += (s.end - s.start) / s.speed;
  }
  return out;
}

int64_t total_samples(const std::vector<Segment>& segments) {
  double seconds = 0;
  for (const Segment& s : segments) seconds += (s.end - s.start) / s.speed;
  return std::llround(seconds * kRate);
}

void expect_in_sync(const std::vector<Segment>& segments, bool hum, double tolerance_ms) {
  const std::vector<float> source = beeps(8.0, hum);
  const int64_t total = total_samples(segments);
  const std::vector<float> out = render(source, segments, total);
  ASSERT_EQ(static_cast<int64_t>(out.size()), total);
  const std::vector<double> want = mapped_beeps(segments);
  const std::vector<double> got = reelscale::testing::level_onsets(out, kRate);
  ASSERT_EQ(got.size(), want.size()) << "one beep heard per beep";
  for (size_t k = 0; k < want.size(); ++k) {
    EXPECT_NEAR(got[k] * 1000, want[k] * 1000, tolerance_ms) << "beep " << k << " (output " << want[k] << " s)";
  }
}

}  // namespace

TEST(AudioTimeline, LayoutMatchesTheVideoTimelinesCumulativeSums) {
  const std::vector<Segment> segs = {{0, 1, 1}, {1, 2, 0.75}, {2, 3.3, 3}};
  const auto layout = sample_layout(segs, kRate, 123456);
  ASSERT_EQ(layout.size(), 3u);
  EXPECT_EQ(layout[0].output_end, 48000);
  EXPECT_EQ(layout[1].output_begin, 48000);
  EXPECT_EQ(layout[1].output_end, 48000 + 64000);
  EXPECT_EQ(layout[1].source_begin, 48000);
  EXPECT_EQ(layout[2].source_end, std::llround(3.3 * kRate));
  EXPECT_EQ(layout[2].output_end, 123456) << "the last segment ends at the video's length";
  const auto one = sample_layout({}, kRate, 5000);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].source_end, 5000);
  EXPECT_EQ(one[0].speed, 1.0);
}

TEST(AudioTimeline, WithoutSegmentsTheOutputIsTheSourcePaddedToTheVideo) {
  const std::vector<float> source = beeps(2.0, true);
  const std::vector<float> out = render(source, {}, 2 * kRate + 700);
  ASSERT_EQ(out.size(), static_cast<size_t>(2 * kRate + 700));
  for (size_t i = 0; i < source.size(); ++i) ASSERT_EQ(out[i], source[i]) << i;
  for (size_t i = source.size(); i < out.size(); ++i) ASSERT_EQ(out[i], 0.0f) << i;
}

TEST(AudioTimeline, EveryBeepLandsOnItsMappedTimeAtEachSpeed) {
  for (double speed : {0.25, 0.5, 0.75, 1.5, 2.0, 4.0}) {
    for (bool hum : {false, true}) {
      SCOPED_TRACE("speed " + std::to_string(speed) + (hum ? " over hum" : " in silence"));
      expect_in_sync({{0, 0.8, 1}, {0.8, 4.0, speed}, {4.0, 5.6, 1}}, hum, 10.0);
    }
  }
}

TEST(AudioTimeline, MixedSpeedsAndCutsInOneTimeline) {
  // Includes a cut (3.2 s to 4.8 s is skipped) and a replay of the start.
  const std::vector<Segment> segs = {{0, 0.8, 1}, {0.8, 2.4, 0.5}, {2.4, 3.2, 2}, {4.8, 6.4, 0.25},
                                     {6.4, 7.2, 0.75}, {0, 1.6, 4}};
  expect_in_sync(segs, false, 10.0);
  expect_in_sync(segs, true, 10.0);
}

TEST(AudioTimeline, SplicesAreCrossfadedNotClicks) {
  // A steady tone cut and joined at speed 1 against itself: no sample jumps more than
  // the tone itself does from one sample to the next.
  std::vector<float> tone(3 * kRate);
  for (size_t i = 0; i < tone.size(); ++i) tone[i] = static_cast<float>(0.5 * std::sin(2 * M_PI * 440 * i / kRate));
  const std::vector<Segment> segs = {{0, 1.0013, 1}, {1.5, 2.5, 1}};
  const std::vector<float> out = render(tone, segs, total_samples(segs));
  const float max_step = static_cast<float>(0.5 * 2 * M_PI * 440 / kRate) * 1.05f;
  float worst = 0;
  for (size_t i = 1; i < out.size(); ++i) worst = std::max(worst, std::fabs(out[i] - out[i - 1]));
  EXPECT_LT(worst, max_step * 1.6f) << "a hard cut would jump by up to 1.0";
}
