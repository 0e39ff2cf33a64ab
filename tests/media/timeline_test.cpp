// tests/media/timeline_test.cpp — the output-to-source frame mapping of DESIGN.md §3.
#include "media/timeline.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"

using reelscale::Error;
using reelscale::media::FrameRange;
using reelscale::media::Rational;
using reelscale::media::Segment;
using reelscale::media::Timeline;
using reelscale::media::split_evenly;

namespace {
std::vector<int64_t> regular_times(int frames, double fps) {
  std::vector<int64_t> t;
  for (int k = 0; k < frames; ++k) t.push_back(static_cast<int64_t>(std::llround(k * 1e9 / fps)));
  return t;
}
}  // namespace

TEST(Timeline, SameRateIsIdentity) {
  Timeline tl(regular_times(90, 30), 3000000000, Rational{30, 1});
  ASSERT_EQ(tl.output_frame_count(), 90);
  for (int j = 0; j < 90; ++j) EXPECT_EQ(tl.source_frame(j), j) << j;
}

TEST(Timeline, MillisecondRoundedTimestampsStillMapOneToOne) {
  // Matroska stores 30 fps as 0, 33, 67, 100 ms...: frame 2 at 67 ms is "after" 66.67 ms.
  std::vector<int64_t> t;
  for (int k = 0; k < 89; ++k) t.push_back(std::llround(k * 1000.0 / 30) * 1000000);
  Timeline tl(t, 2966000000, Rational{30, 1});
  ASSERT_EQ(tl.output_frame_count(), 89);
  for (int j = 0; j < 89; ++j) EXPECT_EQ(tl.source_frame(j), j) << j;
}

TEST(Timeline, RateConversionPicksLastFrameNotAfterTime) {
  Timeline tl(regular_times(240, 24), 10000000000, Rational{30, 1});
  EXPECT_EQ(tl.output_frame_count(), 300);
  for (int j = 0; j < 300; ++j) EXPECT_EQ(tl.source_frame(j), (j * 24) / 30) << j;
  // 30000/1001 output from a 24 fps source.
  Timeline ntsc(regular_times(240, 24), 10000000000, Rational{30000, 1001});
  EXPECT_EQ(ntsc.output_frame_count(), 300);  // ceil(10 * 29.97) = 300
}

TEST(Timeline, DurationRoundingDoesNotAddAFrame) {
  // The end is 1 us past 3 s: still 90 frames at 30 fps.
  Timeline tl(regular_times(90, 30), 3000001000, Rational{30, 1});
  EXPECT_EQ(tl.output_frame_count(), 90);
}

TEST(Timeline, SegmentsWithSpeedChanges) {
  std::vector<Segment> segs{{1.0, 2.0, 1.0}, {2.0, 3.0, 0.5}, {4.0, 6.0, 2.0}};
  Timeline tl(regular_times(300, 30), 10000000000, Rational{30, 1}, segs);
  // 1 s + 2 s + 1 s of output.
  EXPECT_EQ(tl.output_duration_ns(), 4000000000);
  EXPECT_EQ(tl.output_frame_count(), 120);
  EXPECT_EQ(tl.source_frame(0), 30);    // 1.0 s
  EXPECT_EQ(tl.source_frame(29), 59);   // last of the first segment
  EXPECT_EQ(tl.source_frame(30), 60);   // 2.0 s: second segment starts
  EXPECT_EQ(tl.source_frame(31), 60);   // half speed: each source frame shown twice
  EXPECT_EQ(tl.source_frame(32), 61);
  EXPECT_EQ(tl.source_frame(45), 67);   // 2 + 15/30 * 0.5 = 2.25 s -> frame 67
  EXPECT_EQ(tl.source_frame(89), 89);   // 2 + 59/30*0.5 = 2.983 s
  EXPECT_EQ(tl.source_frame(90), 120);  // 4.0 s: third segment at double speed
  EXPECT_EQ(tl.source_frame(91), 122);
  EXPECT_EQ(tl.source_frame(119), 178);
}

TEST(Timeline, QuarterSpeedHoldsEachFrameFourTimes) {
  Timeline tl(regular_times(30, 30), 1000000000, Rational{30, 1}, {{0.0, 0.5, 0.25}});
  EXPECT_EQ(tl.output_frame_count(), 60);
  for (int j = 0; j < 60; ++j) EXPECT_EQ(tl.source_frame(j), j / 4) << j;
}

TEST(Timeline, SourceStartHoldsFirstFrame) {
  // Frame times that do not start at zero relative... the first frame is always 0, so an
  // early mapped time (never negative) picks frame 0.
  Timeline tl(regular_times(10, 10), 1000000000, Rational{60, 1});
  EXPECT_EQ(tl.source_frame(0), 0);
  EXPECT_EQ(tl.source_frame(5), 0);
  EXPECT_EQ(tl.source_frame(6), 1);
  EXPECT_EQ(tl.output_frame_count(), 60);
}

TEST(Timeline, VariableFrameRate) {
  // Intervals alternate 50 ms and 16.7 ms.
  std::vector<int64_t> t;
  for (int k = 0; k < 20; ++k) t.push_back((k / 2) * 66666667 + (k % 2) * 50000000);
  Timeline tl(t, 10 * 66666667, Rational{30, 1});
  for (int64_t j = 0; j < tl.output_frame_count(); ++j) {
    const int64_t time = tl.output_time_ns(j);
    int64_t expect = 0;
    for (int k = 0; k < 20; ++k) {
      if (t[k] <= time + tl.epsilon_ns()) expect = k;
    }
    EXPECT_EQ(tl.source_frame(j), expect) << j;
  }
}

TEST(Timeline, BadSegmentsAndRatesNameTheProblem) {
  auto times = regular_times(30, 30);
  auto message = [&](std::vector<Segment> segs, Rational fps = {30, 1}) {
    try {
      Timeline tl(times, 1000000000, fps, segs);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({{0, 0.5, 5}}).find("segments[0].speed"), std::string::npos);
  EXPECT_NE(message({{0, 0.5, 0.1}}).find("outside [0.25, 4]"), std::string::npos);
  EXPECT_NE(message({{0.2, 0.5, 1}, {0.5, 2.5, 1}}).find("segments[1].end"), std::string::npos);
  EXPECT_NE(message({{0.5, 0.2, 1}}).find("segments[0].end"), std::string::npos);
  EXPECT_NE(message({{-1, 0.2, 1}}).find("negative"), std::string::npos);
  EXPECT_NE(message({{1.5, 2, 1}}).find("past the end"), std::string::npos);
  EXPECT_NE(message({}, Rational{0, 1}).find("fps"), std::string::npos);
}

TEST(SplitEvenly, CoversAllFramesContiguously) {
  for (int64_t frames : {1, 7, 60, 901}) {
    for (int n : {1, 2, 3, 7, 16}) {
      if (n > frames) {
        EXPECT_THROW(split_evenly(frames, n), Error);
        continue;
      }
      const auto ranges = split_evenly(frames, n);
      ASSERT_EQ(static_cast<int>(ranges.size()), n);
      int64_t next = 0, smallest = frames, largest = 0;
      for (const FrameRange& r : ranges) {
        EXPECT_EQ(r.begin, next);
        next = r.end;
        smallest = std::min(smallest, r.size());
        largest = std::max(largest, r.size());
      }
      EXPECT_EQ(next, frames);
      EXPECT_LE(largest - smallest, 1);
    }
  }
}
