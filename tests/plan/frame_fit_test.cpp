// tests/plan/frame_fit_test.cpp — the whole-frame refit: a line through output size and
// source pixels, robust to outliers, and the contention of chunks at once on local slots.
#include <gtest/gtest.h>

#include <random>

#include "plan/calibrate.h"
#include "plan/cost_model.h"
#include "plan/frame_fit.h"

namespace reelscale::plan {
namespace {

// 3 ms fixed + 12 ms per size factor + 4 ms per source megapixel decoded.
constexpr FrameLine kTruth{3, 12, 4};

std::vector<FrameSample> samples_on_grid(double noise, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> jitter(1 - noise, 1 + noise);
  std::vector<FrameSample> out;
  for (double size : {0.01, 0.05, 0.2, 0.8}) {
    for (double source : {0.06, 0.23, 0.92}) {
      FrameSample s{size, source, 0, 30};
      s.ms = kTruth.ms(s) * jitter(rng);
      out.push_back(s);
    }
  }
  return out;
}

TEST(FrameFit, RecoversTheLineThroughSizeAndSource) {
  const auto fit = fit_frame_line(samples_on_grid(0, 1));
  ASSERT_TRUE(fit);
  EXPECT_NEAR(fit->fixed_ms, 3, 1e-6);
  EXPECT_NEAR(fit->per_size_ms, 12, 1e-6);
  EXPECT_NEAR(fit->per_source_mpixel_ms, 4, 1e-6);
}

TEST(FrameFit, ChunksThatSharedTheirCoresDoNotPullTheLine) {
  std::vector<FrameSample> samples = samples_on_grid(0.05, 2);
  // Three chunks of twelve ran 3-6x slow (something else held the cores).
  samples[1].ms *= 3;
  samples[5].ms *= 6;
  samples[9].ms *= 4;
  const auto fit = fit_frame_line(samples);
  ASSERT_TRUE(fit);
  for (const FrameSample& s : samples_on_grid(0, 3)) {
    EXPECT_NEAR(fit->ms(s) / kTruth.ms(s), 1.0, 0.1) << "size " << s.size_factor << ", source " << s.source_mpixels;
  }
}

TEST(FrameFit, OneSizeLeavesTheShapeAndCollinearTermsStillPredict) {
  EXPECT_FALSE(fit_frame_line({{0.2, 0.5, 10, 30}, {0.2, 0.5, 11, 30}}));
  EXPECT_FALSE(fit_frame_line({}));
  // Output the size of the source (overlay): the two terms cannot be told apart, but the
  // line through them still predicts.
  std::vector<FrameSample> same;
  for (double size : {0.05, 0.2, 0.8}) same.push_back({size, size, 2 + 20 * size, 30});
  const auto fit = fit_frame_line(same);
  ASSERT_TRUE(fit);
  for (const FrameSample& s : same) EXPECT_NEAR(fit->ms(s), s.ms, 1e-6);
  EXPECT_GE(fit->per_size_ms, 0);
  EXPECT_GE(fit->per_source_mpixel_ms, 0);
}

// A local record of `frames` frames in `chunks` chunks, `at_once` of them at once on 2
// cores, each frame taking `ms`.
record::JobRecord local_record(int source_w, int source_h, int out_w, int out_h, int chunks, int at_once, double ms) {
  record::JobRecord r;
  r.job_id = "j";
  r.endpoint = "e";
  r.hardware = "CPU";
  r.source.width = source_w;
  r.source.height = source_h;
  r.output_width = out_w;
  r.output_height = out_h;
  r.chunks = chunks;
  record::PlanRecord plan;
  plan.platform_model = "local";
  plan.concurrent = at_once;
  plan.threads_per_chunk = 2 / at_once;
  r.plan = plan;
  for (int i = 0; i < chunks; ++i) {
    record::ChunkRecord c;
    c.index = i;
    c.frames = 60;
    c.frames_decoded = 60;
    c.timings_s.open = 0.01;
    c.timings_s.chunk = 0.01 + 60 * ms / 1000;
    r.chunk_results.push_back(c);
  }
  return r;
}

TEST(Calibrate, AWholeFrameCellLearnsDecodingBySourceAndTheContentionOfChunksAtOnce) {
  Profile profile;
  Cell cell;
  cell.frame_time.ms_at_reference = 50;  // the reference size, 810x1440: far off what runs here
  cell.cold_start_s = Distribution::constant(0.1);
  cell.scaling.cores = 2;
  cell.scaling.alone = {{1, 1.7}, {2, 1.0}};
  cell.scaling.concurrent = {{1, 1.0}, {2, 1.8}};
  profile.cells["e"]["CPU"] = cell;
  // What the machine does: 1 ms + 8 ms at the reference size + 6 ms per source megapixel,
  // and two chunks at once each 1.3x slower than one chunk alone.
  const auto truth = [](int sw, int sh, int ow, int oh, int at_once) {
    const double ms = 1 + 8 * (static_cast<double>(ow) * oh / (810.0 * 1440.0)) + 6 * sw * sh / 1e6;
    return at_once == 2 ? 1.3 * ms : ms;
  };
  std::vector<record::JobRecord> records;
  for (auto [sw, sh] : {std::pair{320, 180}, {640, 360}, {1280, 720}}) {
    for (auto [ow, oh] : {std::pair{96, 96}, {360, 640}, {720, 1280}}) {
      records.push_back(local_record(sw, sh, ow, oh, 1, 1, truth(sw, sh, ow, oh, 1)));
      records.push_back(local_record(sw, sh, ow, oh, 2, 2, truth(sw, sh, ow, oh, 2)));
    }
  }
  calibrate(profile, records, "2026-12-05");
  const Cell& after = profile.cell("e", "CPU");
  for (auto [sw, sh] : {std::pair{320, 180}, {1280, 720}}) {
    for (auto [ow, oh] : {std::pair{96, 96}, {720, 1280}}) {
      FrameWork work;
      work.output_pixels = static_cast<double>(ow) * oh;
      work.source_pixels = static_cast<double>(sw) * sh;
      for (int at_once : {1, 2}) {
        const double predicted = after.frame_time.ms(work) * after.scaling.factor(at_once, 2 / at_once, 2);
        EXPECT_NEAR(predicted / truth(sw, sh, ow, oh, at_once), 1.0, 0.02)
            << sw << "x" << sh << " -> " << ow << "x" << oh << ", " << at_once << " at once";
      }
    }
  }
  EXPECT_GT(after.frame_time.ms_per_source_mpixel, 0) << "decoding follows the source";
  EXPECT_TRUE(after.scaling.provenance.measured_by_us);
}

TEST(Calibrate, ALocalChunkStartUpGrowsWithTheSourceFrame) {
  Profile profile;
  Cell cell;
  cell.frame_time.ms_at_reference = 50;
  cell.cold_start_s = Distribution::constant(0.1);
  profile.cells["e"]["CPU"] = cell;
  // Opening and the first frame: 3 ms + 9 ms per source megapixel.
  const auto open_s = [](int w, int h) { return 0.003 + 0.009 * w * h / 1e6; };
  std::vector<record::JobRecord> records;
  for (auto [sw, sh] : {std::pair{320, 180}, {640, 360}, {1280, 720}}) {
    record::JobRecord r = local_record(sw, sh, 96, 96, 1, 1, 2.0);
    r.chunk_results[0].timings_s.open = open_s(sw, sh);
    r.chunk_results[0].timings_s.chunk = open_s(sw, sh) + 60 * 0.002;
    records.push_back(r);
  }
  Profile one_size = profile;
  calibrate(profile, records, "2026-12-05");
  const Cell& after = profile.cell("e", "CPU");
  EXPECT_NEAR(after.warm_start_s.mean(), 0.003, 1e-6);
  EXPECT_NEAR(after.start_s_per_source_mpixel, 0.009, 1e-6);
  EXPECT_EQ(parse_profile(to_json(profile)).cell("e", "CPU").start_s_per_source_mpixel, after.start_s_per_source_mpixel);
  // The plan charges a 1280x720 source's chunk its own start-up.
  JobShape job;
  job.endpoint = "e";
  job.frames = 60;
  job.fps = 30;
  job.output_pixels = 96 * 96;
  job.source_pixels = 1280 * 720;
  const Estimate e = estimate(profile, default_prices(), Platform::local(1, 2), job, "CPU", 1, false);
  EXPECT_NEAR(e.startup_mean_s, open_s(1280, 720), 1e-6);
  // Sources of one size cannot tell the parts apart: their mean, nothing per megapixel.
  calibrate(one_size, {records[2], records[2]}, "2026-12-05");
  EXPECT_NEAR(one_size.cell("e", "CPU").warm_start_s.mean(), open_s(1280, 720), 1e-9);
  EXPECT_EQ(one_size.cell("e", "CPU").start_s_per_source_mpixel, 0);
}

TEST(Calibrate, ColdStartsOnABatchSchedulerAreLearnedApartFromWarmOnes) {
  Profile profile;
  Cell cell;
  cell.frame_time.ms_at_reference = 50;
  cell.cold_start_s = Distribution::constant(2);  // a container's guess, far from a node's boot
  cell.warm_start_s = Distribution::constant(0.1);
  profile.cells["e"]["T4"] = cell;
  std::vector<record::JobRecord> records;
  for (int i = 0; i < 4; ++i) {
    record::JobRecord r;
    r.job_id = "j" + std::to_string(i);
    r.endpoint = "e";
    r.hardware = "T4";
    r.output_width = 810;
    r.output_height = 1440;
    r.chunks = 2;
    record::PlanRecord plan;
    plan.platform_model = "serverless";
    r.plan = plan;
    for (int k = 0; k < 2; ++k) {
      record::ChunkRecord c;
      c.index = k;
      c.frames = 30;
      c.timings_s.open = 0.1;
      c.timings_s.chunk = 0.1 + 30 * 0.05;
      // Chunk 0 on a node that was up; chunk 1 waited 20-23 s for its node to boot.
      c.start = k == 0 ? "warm" : "cold";
      c.timings_s.round_trip = (c.timings_s.chunk - c.timings_s.open) + (k == 0 ? 0.5 : 20.0 + i);
      r.chunk_results.push_back(c);
    }
    records.push_back(r);
  }
  calibrate(profile, records, "2026-12-05");
  const Cell& after = profile.cell("e", "T4");
  EXPECT_NEAR(after.cold_start_s.mean(), 21.5, 1e-9);
  EXPECT_NEAR(after.cold_start_s.quantile(0), 20.0, 1e-9) << "the spread is kept, not only the mean";
  EXPECT_TRUE(after.cold_start_s.provenance.measured_by_us);
  EXPECT_NEAR(after.warm_start_s.mean(), 0.5, 1e-9) << "warm starts are not mixed with cold ones";
}

}  // namespace
}  // namespace reelscale::plan
