// tests/job/machine_check_test.cpp — the built-in local profile fitted to the machine: the
// scaling of frames and the process's overheads with fixed figures (a machine 4x slower, and one 4x faster, than the built-in
// profile assumes), and the live start-up check through the real chunk runner, whose
// verdicts hold however fast this machine is.
#include <gtest/gtest.h>

#include <filesystem>

#include "job/machine_check.h"
#include "plan/cost_model.h"
#include "plan/inputs.h"
#include "test_media.h"

using namespace reelscale;
namespace rt = reelscale::testing;

namespace {

// A 10 s 1280x720 framing job to 404x720 on two local slots, as the planner predicts it.
plan::Estimate framing_on_slots(const plan::Profile& profile) {
  plan::JobShape shape = plan::JobShape::of_length("framing", 10, 30, 404.0 * 720.0);
  shape.source_pixels = 1280.0 * 720.0;
  return plan::estimate(profile, plan::default_prices(), plan::Platform::local(2, 2), shape, "CPU", 2, false);
}

job::MachineCheck check_with(double factor) {
  job::MachineCheck c;
  c.factor = factor;
  c.frames = 30;
  c.predicted_ms_per_frame = 8;
  c.measured_ms_per_frame = 8 * factor;
  c.date = "2026-12-07";
  return c;
}

}  // namespace

TEST(MachineCheck, AMachineFourTimesSlowerOrFasterIsPredictedSo) {
  const plan::Profile built_in = plan::default_local_profile();
  const plan::Estimate as_built = framing_on_slots(built_in);
  for (const double factor : {4.0, 0.25}) {
    const plan::Profile fitted = job::local_profile_fitted(check_with(factor));
    EXPECT_EQ(fitted.name, built_in.name);
    EXPECT_NE(fitted.version(), built_in.version());
    for (const std::string endpoint : {"framing", "overlay", "framing_ai", "detect"}) {
      const plan::FrameTime& a = built_in.cell(endpoint, "CPU").frame_time;
      const plan::FrameTime& b = fitted.cell(endpoint, "CPU").frame_time;
      EXPECT_DOUBLE_EQ(b.ms(810.0 * 1440.0), factor * a.ms(810.0 * 1440.0)) << endpoint;
      EXPECT_NE(b.provenance.source.find("start-up check"), std::string::npos) << b.provenance.source;
      EXPECT_EQ(b.provenance.date, "2026-12-07");
      // A GPU's cells are not this machine's.
      EXPECT_DOUBLE_EQ(fitted.cell(endpoint, "T4").frame_time.ms(810.0 * 1440.0),
                       built_in.cell(endpoint, "T4").frame_time.ms(810.0 * 1440.0));
    }
    EXPECT_NE(fitted.provenance.source.find("fitted to this machine"), std::string::npos);
    const plan::Estimate e = framing_on_slots(fitted);
    EXPECT_NEAR(e.compute_s, factor * as_built.compute_s, 1e-9);
    // The process's own overheads scale alike; local reads and writes do not.
    EXPECT_NEAR(e.startup_mean_s, factor * as_built.startup_mean_s, 1e-9);
    EXPECT_NEAR(e.preroll_s, factor * as_built.preroll_s, 1e-9);
    EXPECT_NEAR(e.join_s, factor * as_built.join_s, 1e-9);
    EXPECT_NEAR(e.orchestrator_mean_s, factor * as_built.orchestrator_mean_s, 1e-9);
    EXPECT_NEAR(e.cleanup_mean_s, factor * as_built.cleanup_mean_s, 1e-9);
    EXPECT_NEAR(e.transfer_s, as_built.transfer_s, 1e-9);
  }
  // Not measured: the built-in figures as they are.
  EXPECT_EQ(job::local_profile_fitted(job::MachineCheck{}).version(), built_in.version());
}

// The live check: its frames through the real chunk runner, planned with the built-in local
// profile; the factor is what they measured over what it predicted, within its bounds.
TEST(MachineCheck, TheStartUpCheckTimesItsFramesAgainstTheBuiltInPrediction) {
  const rt::TempDir scratch;
  const job::MachineCheck c = job::check_machine_speed(scratch.path());
  ASSERT_EQ(c.frames, 15) << c.describe();
  EXPECT_GT(c.measured_ms_per_frame, 0);
  EXPECT_GT(c.predicted_ms_per_frame, 0);
  EXPECT_NEAR(c.factor,
              std::clamp(c.measured_ms_per_frame / c.predicted_ms_per_frame, job::kMachineCheckMinFactor,
                         job::kMachineCheckMaxFactor),
              1e-9);
  EXPECT_NE(c.describe().find("ms a frame against"), std::string::npos) << c.describe();
  EXPECT_TRUE(std::filesystem::is_empty(scratch.path())) << "the check's clip and outputs are removed";
}
