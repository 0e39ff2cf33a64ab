// tests/plan/frame_stages_test.cpp — the per-stage frame cost: the slowest stage when the
// cores keep up, the summed work over the cores when they do not, chunks at once sharing
// the cores; the work each stage is costed by; fits; calibration from records; JSON. And
// the cost-analysis spreadsheet built from records.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "plan/cost_model.h"
#include "plan/frame_stages.h"
#include "plan/inputs.h"
#include "plan/record_report.h"
#include "plan/report.h"
#include "plan/stage_fit.h"

using namespace reelscale;
using namespace reelscale::plan;

namespace {

// decode 2 core-ms/Mpixel (one thread), process 1 ms/Mpixel, encode 10 core-ms/Mpixel on 2 threads.
FrameStages example() {
  FrameStages s;
  s.decode["h264"] = {0, 2};
  s.process = {0, 1};
  s.encode["veryfast"] = {0, 10};
  s.encode["medium"] = {0, 25};
  s.encode_threads = 2;
  s.cores = 4;
  return s;
}

FrameWork work(double out_mpix, double src_mpix) {
  FrameWork w;
  w.output_pixels = out_mpix * 1e6;
  w.source_pixels = src_mpix * 1e6;
  return w;
}

}  // namespace

TEST(FrameStages, ASlowestStageBoundsTheFrameWhenTheCoresKeepUp) {
  const StageTimes t = example().times(work(1, 1), 4, 1);
  EXPECT_DOUBLE_EQ(t.decode_ms, 2);
  EXPECT_DOUBLE_EQ(t.process_ms, 1);
  EXPECT_DOUBLE_EQ(t.encode_ms, 10);
  EXPECT_DOUBLE_EQ(t.slowest_ms, 5);    // encode on its 2 threads
  EXPECT_DOUBLE_EQ(t.frame_ms, 5);      // 13 core-ms over 4 cores is less
}

TEST(FrameStages, TheSummedWorkBoundsTheFrameWhenTheCoresDoNot) {
  EXPECT_DOUBLE_EQ(example().times(work(1, 1), 2, 1).frame_ms, 6.5);   // 13 / 2 cores
  EXPECT_DOUBLE_EQ(example().times(work(1, 1), 1, 1).frame_ms, 13);    // one core: the sum
}

TEST(FrameStages, ChunksAtOnceShareTheCoresAndFillTheBubbles) {
  FrameStages s = example();
  s.efficiency = 1.3;
  // Alone on 4 cores: 5 ms x 1.3 for the pipeline's bubbles.
  EXPECT_NEAR(s.times(work(1, 1), 4, 1).frame_ms, 6.5, 1e-9);
  // Two at once: each chunk's encode has its 2 threads, 26 core-ms over 4 cores = 6.5 ms;
  // the bubbles are filled by the other chunk.
  EXPECT_NEAR(s.times(work(1, 1), 4, 2).frame_ms, 6.5, 1e-9);
  // Four at once: 52 core-ms over 4 cores.
  EXPECT_NEAR(s.times(work(1, 1), 4, 4).frame_ms, 13, 1e-9);
}

TEST(FrameStages, EachStageIsCostedByItsOwnWork) {
  const FrameStages s = example();
  // A larger source costs only decoding; on one core every ms shows.
  EXPECT_DOUBLE_EQ(s.times(work(1, 4), 1, 1).frame_ms - s.times(work(1, 1), 1, 1).frame_ms, 6);
  // Slow motion at 0.25x decodes a quarter of a source frame per output frame.
  FrameWork slow = work(1, 4);
  slow.decoded_per_frame = 0.25;
  EXPECT_DOUBLE_EQ(s.times(slow, 1, 1).decode_ms, 2);
  // A heavier network grows only processing.
  FrameWork heavy = work(1, 1);
  heavy.network_factor = 29;
  EXPECT_DOUBLE_EQ(s.times(heavy, 1, 1).process_ms, 29);
  EXPECT_DOUBLE_EQ(s.times(heavy, 1, 1).encode_ms, 10);
  // The preset picks its encode figure; an unmeasured one takes its nearest neighbour.
  FrameWork medium = work(1, 1);
  medium.preset = "medium";
  EXPECT_DOUBLE_EQ(s.times(medium, 1, 1).encode_ms, 25);
  medium.preset = "slow";
  EXPECT_DOUBLE_EQ(s.times(medium, 1, 1).encode_ms, 25);
  medium.preset = "superfast";
  EXPECT_DOUBLE_EQ(s.times(medium, 1, 1).encode_ms, 10);
  EXPECT_NE(s.fallback_note(medium).find("nearest"), std::string::npos);
  FrameWork hevc = work(1, 1);
  hevc.codec = "hevc";
  EXPECT_DOUBLE_EQ(s.times(hevc, 1, 1).decode_ms, 2);
  EXPECT_NE(s.fallback_note(hevc).find("hevc is costed as h264"), std::string::npos);
}

TEST(FrameStages, AContentSampleScalesDecodingAndEncodingAgainstTheProfilersOwn) {
  FrameStages s = example();
  // The profiler's clip sampled: 1 ms per decoded Mpixel, 8 ms per encoded Mpixel.
  s.content_reference = {{0, 1}, {0, 8}};
  FrameWork w = work(1, 1);
  EXPECT_EQ(s.times(w, 4, 1).encode_content, 1) << "no sample, no factor";
  w.content = {0.5, 4};  // this job's pictures: half the decoding and half the encoding
  const StageTimes t = s.times(w, 1, 1);
  EXPECT_DOUBLE_EQ(t.decode_content, 0.5);
  EXPECT_DOUBLE_EQ(t.encode_content, 0.5);
  EXPECT_DOUBLE_EQ(t.decode_ms, 1);
  EXPECT_DOUBLE_EQ(t.encode_ms, 5);
  EXPECT_DOUBLE_EQ(t.process_ms, 1) << "processing does not depend on the pictures";
  w.content = {100, 0.001};
  EXPECT_DOUBLE_EQ(s.content_factors(w).first, 5) << "bounded";
  EXPECT_DOUBLE_EQ(s.content_factors(w).second, 0.2);
  // A profile without a reference ignores samples.
  w.content = {0.5, 4};
  EXPECT_EQ(example().content_factors(w), std::make_pair(1.0, 1.0));
  // The reference and the core share survive the profile's JSON.
  s.process_core_share = 0.5;
  const FrameStages back = parse_frame_stages(to_json(s), "stages");
  EXPECT_DOUBLE_EQ(back.content_reference.encode.ms_per_mpixel, 8);
  EXPECT_DOUBLE_EQ(back.process_core_share, 0.5);
}

TEST(FrameStages, ANetworkThatKeepsHalfEachCoreSaturatesTheCoresSooner) {
  FrameStages s;
  s.decode["h264"] = {0, 0};
  s.encode["veryfast"] = {0, 0};
  s.process = {0, 100};    // 100 ms on one thread
  s.process_threads = 1.2; // 2 cores make it only 1.2x faster
  s.process_core_share = 0.6;
  s.cores = 2;
  const FrameWork w = work(1, 1);
  EXPECT_NEAR(s.times(w, 2, 1).frame_ms, 100 / 1.2, 1e-9);
  // Two chunks at once each on one core: 2 x 100 / 0.6 over 2 cores, not 100.
  EXPECT_NEAR(s.times(w, 2, 2).frame_ms, 100 / 0.6, 1e-9);
  s.process_core_share = 1;
  EXPECT_NEAR(s.times(w, 2, 2).frame_ms, 100, 1e-9);
}

TEST(FrameStages, FitsALineThroughTwoSizesOrMore) {
  const auto two = fit_linear_cost({{1e6, 3}, {3e6, 7}});
  ASSERT_TRUE(two.has_value());
  EXPECT_NEAR(two->fixed_ms, 1, 1e-9);
  EXPECT_NEAR(two->ms_per_mpixel, 2, 1e-9);
  const auto one = fit_linear_cost({{2e6, 5}, {2e6, 7}});
  EXPECT_NEAR(one->fixed_ms, 0, 1e-9);
  EXPECT_NEAR(one->ms_per_mpixel, 3, 1e-9);
  // Never a negative term: a shrinking cost is a constant, a negative intercept goes through 0.
  EXPECT_NEAR(fit_linear_cost({{1e6, 5}, {2e6, 4}})->ms_per_mpixel, 0, 1e-9);
  EXPECT_GE(fit_linear_cost({{1e6, 1}, {2e6, 4}})->fixed_ms, 0);
  EXPECT_FALSE(fit_linear_cost({}).has_value());
}

TEST(FrameStages, RoundTripsThroughAProfileAndRefusesBadFigures) {
  Profile p = default_profile();
  p.cells["framing"]["CPU"].frame_time.stages = example();
  const Profile back = parse_profile(to_json(p));
  const FrameStages& s = back.cell("framing", "CPU").frame_time.stages;
  ASSERT_TRUE(s.known());
  EXPECT_DOUBLE_EQ(s.encode.at("medium").ms_per_mpixel, 25);
  EXPECT_DOUBLE_EQ(s.encode_threads, 2);
  nlohmann::json j = to_json(p);
  EXPECT_EQ(to_json(back)["endpoints"]["framing"]["CPU"]["stages"], j["endpoints"]["framing"]["CPU"]["stages"]);
  j["endpoints"]["framing"]["CPU"]["stages"]["encode"]["fastest"] = {{"fixed_ms", 0}, {"ms_per_mpixel", 1}};
  try {
    parse_profile(j);
    FAIL() << "an unknown preset was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("endpoints.framing.CPU.stages.encode.fastest"), std::string::npos) << e.what();
  }
  j = to_json(p);
  j["endpoints"]["framing"]["CPU"]["stages"]["process"]["ms_per_mpixel"] = -1;
  EXPECT_THROW(parse_profile(j), Error);
}

TEST(FrameStages, ThePlannerCostsAJobFromItsSourceAndPreset) {
  Profile p = default_profile();
  p.cells["framing"]["CPU"].frame_time.stages = example();
  JobShape small = JobShape::of_length("framing", 10, 30, 1e6);
  small.source_pixels = 0.25e6;
  JobShape large = small;
  large.source_pixels = 8e6;
  const Estimate a = estimate(p, default_prices(), default_platform(), small, "CPU", 1, false);
  const Estimate b = estimate(p, default_prices(), default_platform(), large, "CPU", 1, false);
  EXPECT_GT(b.compute_s, a.compute_s * 1.5) << "a 4K source decodes slower than a 480p one";
  JobShape medium = small;
  medium.preset = "medium";
  EXPECT_GT(estimate(p, default_prices(), default_platform(), medium, "CPU", 1, false).compute_s, a.compute_s * 1.5);
}

TEST(FrameStages, CalibrationScalesTheStagesToWhatRecordsTook) {
  FrameStages s = example();
  ChunkObservation o;
  o.work = work(1, 1);
  o.work.codec = "vp9";
  o.frames = 100;
  o.cores = 4;
  o.frame_ms = 2 * s.times(o.work, 4, 1).frame_ms;  // the records took twice the prediction
  const std::vector<std::string> changes = calibrate_stages(s, {o});
  ASSERT_TRUE(s.decode.count("vp9")) << "a codec seen in records is added";
  EXPECT_NEAR(s.times(o.work, 4, 1).frame_ms, o.frame_ms, 1e-9);
  EXPECT_NEAR(s.encode.at("veryfast").ms_per_mpixel, 20, 1e-9);
  EXPECT_FALSE(changes.empty());
}

TEST(FrameStages, ObservationsComeFromARecordsTimedChunks) {
  record::JobRecord r;
  r.endpoint = "framing";
  r.source.width = 640;
  r.source.height = 360;
  r.source.codec = "h264";
  r.output_width = 404;
  r.output_height = 720;
  r.preset = "fast";
  record::ChunkRecord c;
  c.frames = 100;
  c.frames_decoded = 90;
  c.timings_s.chunk = 1.2;
  c.timings_s.open = 0.1;
  c.timings_s.preroll = 0.1;
  r.chunk_results = {c};
  const auto obs = chunk_observations(r, 1.0);
  ASSERT_EQ(obs.size(), 1u);
  EXPECT_NEAR(obs[0].frame_ms, 10, 1e-9);
  EXPECT_NEAR(obs[0].work.decoded_per_frame, 0.9, 1e-9);
  EXPECT_EQ(obs[0].work.preset, "fast");
  EXPECT_FALSE(obs[0].work.content.known());
  r.content_decode_ms = 1.5;
  r.content_encode_ms = 4;
  EXPECT_DOUBLE_EQ(chunk_observations(r, 1.0)[0].work.content.encode_ms, 4) << "calibration sees the record's content";
  r.outcome = "failed";
  EXPECT_TRUE(chunk_observations(r, 1.0).empty());
}

// The cost-analysis spreadsheet from real records (plan/record_report.h).
TEST(RecordReport, GroupsByEndpointAndLengthAndExtrapolatesTheObservedMix) {
  auto rec = [](const std::string& endpoint, int64_t frames, double cost, double seconds, bool ok = true) {
    record::JobRecord r;
    r.endpoint = endpoint;
    r.frames = frames;
    r.fps = "30/1";
    r.cost_usd = cost;
    r.cloud_equivalent_usd = 2 * cost;  // as if on owned slots too: the report's own column
    r.billed_seconds = 10;
    r.timings_s["total"] = seconds;
    r.started_unix_s = 1000;
    if (!ok) r.outcome = "failed";
    return r;
  };
  const std::vector<record::JobRecord> records = {rec("framing", 90, 0.01, 2), rec("framing", 120, 0.03, 4),
                                                  rec("framing_ai", 900, 0.5, 60), rec("framing_ai", 900, 9, 1, false)};
  const RecordReport r = report_from_records(records, {100, 1000});
  ASSERT_EQ(r.groups.size(), 2u);
  EXPECT_EQ(r.groups[0].endpoint, "framing");
  EXPECT_EQ(r.groups[0].bucket, "0-5 s");
  EXPECT_EQ(r.groups[0].jobs, 2);
  EXPECT_NEAR(r.groups[0].mean_cost_usd, 0.02, 1e-12);
  EXPECT_NEAR(r.groups[0].mean_cloud_equivalent_usd, 0.04, 1e-12);
  EXPECT_NEAR(r.groups[0].usd_per_output_second(), 0.04 / 7.0, 1e-12);  // 3 s + 4 s of output
  EXPECT_EQ(r.groups[1].bucket, "30-60 s");
  EXPECT_EQ(r.groups[1].failed, 1);
  EXPECT_NEAR(r.groups[1].mean_cost_usd, 0.5, 1e-12) << "a failed job's cost is not a video's";
  EXPECT_NEAR(r.usd_per_job, 0.54 / 3, 1e-12);
  ASSERT_EQ(r.levels.size(), 2u);
  EXPECT_NEAR(r.levels[1].usd_per_month, 30 * 1000 * 0.18, 1e-9);
  EXPECT_NEAR(r.levels[0].billed_hours_per_month, 30 * 100 * 10 / 3600.0, 1e-9);
  // Owned slots' cloud-equivalent at every usage level too (issue 31: local jobs showed $0).
  EXPECT_NEAR(r.levels[1].cloud_equivalent_usd_per_month, 30 * 1000 * 0.36, 1e-9);
  EXPECT_NE(record_report_markdown(r, "ctx").find("| 1000 | 180.00 | 5400.00 | 83.33 | 10800.00 |"), std::string::npos)
      << record_report_markdown(r, "ctx");
  const std::string csv = record_report_csv(r);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 2 + 2 + 2);
  EXPECT_NE(record_report_markdown(r, "ctx").find("| framing_ai | 30-60 s | 2 | 1 |"), std::string::npos);
  EXPECT_EQ(record_report_svg(r).rfind("<svg", 0), 0u);
}

// Money in a table: to the cent from a dollar, three significant digits below, never
// 0.0000 for a cost that is not zero, never an exponent.
TEST(RecordReport, MoneyIsShownWithThePrecisionItNeeds) {
  EXPECT_EQ(money_text(0), "0");
  EXPECT_EQ(money_text(12.345), "12.35");
  EXPECT_EQ(money_text(1), "1.00");
  EXPECT_EQ(money_text(0.5), "0.500");
  EXPECT_EQ(money_text(0.000482), "0.000482");
  EXPECT_EQ(money_text(0.0000012345), "0.00000123");
  EXPECT_EQ(money_text(-0.25), "-0.250");
}
