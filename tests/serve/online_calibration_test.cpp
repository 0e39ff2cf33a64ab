// tests/serve/online_calibration_test.cpp — online calibration cannot make things worse.
// Records come from real short jobs (framing and overlay on local slots, start-up
// dominating), planned with the built-in local profile as `serve` plans them by default;
// their measured times are then set by the test (scaled by a known factor), so every
// verdict here is the same on a loaded machine.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "job/job_flow.h"
#include "plan/inputs.h"
#include "process/job_spec.h"
#include "process/processors.h"
#include "serve/online_calibration.h"
#include "test_media.h"

namespace fs = std::filesystem;
namespace rt = reelscale::testing;
using namespace reelscale;
using nlohmann::json;

namespace {

record::JobRecord run_short_job(const fs::path& in, const fs::path& out, const std::string& endpoint, int chunks) {
  json j = {{"endpoint", endpoint}, {"input", in.string()},      {"output", out.string()},
            {"output_width", 96},   {"output_height", 96},       {"preset", "ultrafast"}};
  if (endpoint == "overlay") {
    j.erase("output_width");
    j.erase("output_height");
    j["highlight_keyframes"] = json::array({{{"time", 0}, {"x", 60}, {"y", 40}, {"rx", 20}, {"ry", 15}}});
  }
  store::ObjectStore store;
  exec::LocalExecutorOptions local;
  local.slots = 2;
  exec::LocalExecutor executor(local, [](const process::JobSpec& s) { return process::make_basic_factory(s); }, store);
  job::JobOptions options;
  options.chunks = chunks;
  record::JobRecord r = job::run_job(process::parse_job_spec(j), executor, store, options);
  if (!r.ok()) throw std::runtime_error(r.error_message);
  return r;
}

// What a machine `factor` times slower than the profile would have recorded: the job's
// time past its content sample (which the plan already counts as spent) is `factor` times
// what the profile predicts, and every stage time the calibration reads is scaled alike.
record::JobRecord as_if_measured(record::JobRecord r, const plan::Profile& profile, double factor) {
  const double sample = r.plan->breakdown_s.count("content_sample") ? r.plan->breakdown_s.at("content_sample") : 0.0;
  const double predicted_rest = serve::predicted_seconds(profile, r) - sample;
  const double scale = factor * predicted_rest / std::max(1e-6, r.total_seconds() - sample);
  for (auto& [name, seconds] : r.timings_s) seconds *= scale;
  r.timings_s["total"] = sample + factor * predicted_rest;
  for (auto& c : r.chunk_results) {
    record::ChunkTimings& t = c.timings_s;
    for (double* v : {&t.open, &t.preroll, &t.decode, &t.process, &t.encode, &t.chunk, &t.upload, &t.task, &t.round_trip}) {
      *v *= scale;
    }
  }
  return r;
}

class OnlineCalibration : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new rt::TempDir();
    rt::ClipSpec spec;
    spec.width = 160;
    spec.height = 120;
    for (int i = 0; i < 24; ++i) {
      spec.frames = 10 + 5 * (i % 6);
      const fs::path in = *dir_ / ("in" + std::to_string(i) + ".mp4");
      rt::make_clip(in, spec);
      records_.push_back(run_short_job(in, *dir_ / ("out" + std::to_string(i) + ".mp4"), i % 2 ? "overlay" : "framing",
                                       1 + i % 2));
    }
  }
  static void TearDownTestSuite() { delete dir_; }

  std::vector<record::JobRecord> scaled(double framing_factor, double overlay_factor) const {
    std::vector<record::JobRecord> out;
    for (const auto& r : records_) out.push_back(as_if_measured(r, local_, r.endpoint == "framing" ? framing_factor : overlay_factor));
    return out;
  }

  static inline rt::TempDir* dir_ = nullptr;
  static inline std::vector<record::JobRecord> records_;
  const plan::Profile local_ = plan::default_local_profile();
  serve::CalibrationPolicy policy_;
};

}  // namespace

TEST_F(OnlineCalibration, TheJudgeReproducesThePlansTheJobsWereMadeWith) {
  for (const auto& r : records_) {
    ASSERT_TRUE(r.plan);
    EXPECT_EQ(r.plan->profile_version, local_.version());
    EXPECT_NEAR(serve::predicted_seconds(local_, r) / r.plan->wall_mean_s, 1, 0.02) << r.endpoint << " " << r.chunks;
  }
}

// A job planned while the machine ran slower than profiled carries the factor its plan was
// multiplied by: the judge reproduces that plan at that speed, judges profiles at their own
// (the factor is the service's, not the profile's), and still refits from such records.
TEST_F(OnlineCalibration, PlansMadeAtAMeasuredLocalSpeedAreReproducedAndStillRefit) {
  std::vector<record::JobRecord> at_speed = scaled(1.6, 1.6);
  for (auto& r : at_speed) {
    const double sample = r.plan->breakdown_s.count("content_sample") ? r.plan->breakdown_s.at("content_sample") : 0.0;
    const double plain = serve::predicted_seconds(local_, r);
    r.plan->local_speed = 1.3;
    r.plan->wall_mean_s = sample + 1.3 * (plain - sample);
    EXPECT_NEAR(serve::predicted_seconds(local_, r, true) / r.plan->wall_mean_s, 1, 1e-9);
    EXPECT_DOUBLE_EQ(serve::predicted_seconds(local_, r), plain);
  }
  const auto d = serve::consider_recalibration(local_, local_, at_speed, policy_, "2026-12-05", 1);
  EXPECT_GT(d.fitted_records, 0) << d.reason;
  EXPECT_TRUE(d.switch_to_candidate) << d.reason;
}

TEST_F(OnlineCalibration, NoRefitFromAProfileTheJobsWereNotPlannedWith) {
  // The serverless profile charges a container's start-up: judged in it, short local jobs
  // look 30x off. That refit is refused.
  const plan::Profile serverless = plan::default_profile();
  const auto d = serve::consider_recalibration(serverless, serverless, scaled(1.3, 1.3), policy_, "2026-12-05", 1);
  EXPECT_FALSE(d.switch_to_candidate);
  EXPECT_EQ(d.fitted_records, 0);
  EXPECT_NE(d.reason.find("planned with the profile in use"), std::string::npos) << d.reason;
}

TEST_F(OnlineCalibration, ASlowerMachineIsLearnedAndTheRefitIsNamedByItsBase) {
  const auto records = scaled(1.6, 1.6);
  const auto d = serve::consider_recalibration(local_, local_, records, policy_, "2026-12-05", 3);
  ASSERT_TRUE(d.switch_to_candidate) << d.reason;
  EXPECT_GT(d.current_error, 0.3) << d.reason;
  EXPECT_LT(d.candidate_error, std::min(0.25, d.current_error / 2)) << d.reason;
  EXPECT_EQ(d.candidate.name, local_.name);
  EXPECT_EQ(d.candidate.version(), local_.version() + ".r3");
  // The next refit, from the records planned with this one, keeps the base's name and
  // numbers on: the name does not grow.
  std::vector<record::JobRecord> replanned = records;
  for (auto& r : replanned) {
    r.plan->profile_version = d.candidate.version();
    r.plan->wall_mean_s = serve::predicted_seconds(d.candidate, r);
  }
  const auto again = serve::consider_recalibration(d.candidate, local_, replanned, policy_, "2026-12-05", 4);
  EXPECT_GT(again.fitted_records, 0) << again.reason;
  EXPECT_EQ(again.candidate.name, local_.name);
  EXPECT_EQ(again.candidate.version(), local_.version() + ".r4");
}

TEST_F(OnlineCalibration, AMixOfEndpointsBiasedBothWaysImproves) {
  const auto d = serve::consider_recalibration(local_, local_, scaled(1.6, 0.7), policy_, "2026-12-05", 1);
  ASSERT_TRUE(d.switch_to_candidate) << d.reason;
  EXPECT_LT(d.candidate_error, d.current_error * 0.6) << d.reason;
}

TEST_F(OnlineCalibration, AProfileThatAlreadyPredictsWellIsKept) {
  const auto d = serve::consider_recalibration(local_, local_, scaled(1.0, 1.0), policy_, "2026-12-05", 1);
  EXPECT_FALSE(d.switch_to_candidate) << d.reason;
  EXPECT_LT(d.current_error, 0.02) << d.reason;
}

TEST_F(OnlineCalibration, ARefitPastTheStatedBoundIsNotTaken) {
  serve::CalibrationPolicy tight = policy_;
  tight.max_shift = 2;
  const auto d = serve::consider_recalibration(local_, local_, scaled(5, 5), tight, "2026-12-05", 1);
  EXPECT_FALSE(d.switch_to_candidate) << d.reason;
  EXPECT_NE(d.reason.find("past the bound"), std::string::npos) << d.reason;
  EXPECT_TRUE(serve::consider_recalibration(local_, local_, scaled(5, 5), policy_, "2026-12-05", 1).switch_to_candidate);
}

TEST_F(OnlineCalibration, ASwitchThatPredictsTheNextRecordsWorseIsRolledBack) {
  const auto d = serve::consider_recalibration(local_, local_, scaled(2, 2), policy_, "2026-12-05", 1);
  ASSERT_TRUE(d.switch_to_candidate) << d.reason;
  std::string why;
  // The machine went back to its usual speed: the base predicts the next records better.
  EXPECT_TRUE(serve::switch_made_things_worse(d.candidate, local_, scaled(1, 1), why)) << why;
  // It stayed slow: the switch holds.
  EXPECT_FALSE(serve::switch_made_things_worse(d.candidate, local_, scaled(2, 2), why)) << why;
}
