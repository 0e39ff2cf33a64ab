// tests/plan/container_cores_test.cpp — cores as a planning dimension, on fixed figures: the
// CPU-side curve's fit, a GPU container's frame time and price by its cores, the planner
// choosing them (which the fixed-cores model cannot), the simulator running what was
// chosen, and the files that carry them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "plan/planner.h"
#include "plan/simulator.h"

using namespace reelscale;
using namespace reelscale::plan;
using nlohmann::json;

namespace {

// One GPU (T4) whose container's CPU side is 1 + 30 / cores ms per frame, at least 2 ms,
// beside a 3 ms network: CPU-bound on few cores, GPU-bound on many. No start-ups, no idle
// tail, free orchestrator: a container costs its busy seconds at its price.
struct CoresWorld {
  Profile profile;
  PriceTable prices;
  Platform platform;
  Policy policy;
  CoresWorld() {
    Cell c;
    c.frame_time.network_ms = 3;
    c.frame_time.cpu_side_ms = 16;  // the curve at the default 2 cores
    c.frame_time.ms_at_reference = 16;
    c.frame_time.cpu_curve.serial_ms = 1;
    c.frame_time.cpu_curve.parallel_ms = 30;
    c.frame_time.cpu_curve.floor_ms = 2;
    c.cold_start_s = Distribution::constant(0);
    c.warm_start_s = Distribution::constant(0);
    profile.cells["framing_ai"]["T4"] = c;
    profile.orchestrator_start_s = Distribution::constant(0);
    profile.request_latency_s = Distribution::constant(0);
    profile.preroll_s = Distribution::constant(0);
    profile.cleanup_s = Distribution::constant(0);
    profile.source_mbit_per_s = 0;
    profile.output_mbit_per_s_at_reference = 0;
    prices.gpu_per_second = {{"T4", 0.000164}};
    prices.cpu_core_per_second = 0.0000131;
    prices.memory_gib_per_second = 0;
    prices.orchestrator_cores = 0;
    prices.orchestrator_memory_gib = 0;
    prices.gpu_container_core_options = {2, 4, 8, 16};
    platform.scale_down_window_s = 0;
    platform.billing_granularity_s = 0.001;
    policy.objective = Objective::kCheapestWithinDeadline;
    policy.deadline_s = 1000;
    policy.max_parallel = 1;
  }
  // An H100 with the T4's figures and price: it differs only in having no NVENC.
  void add_h100_like_t4() {
    profile.cells["framing_ai"]["H100"] = profile.cells["framing_ai"]["T4"];
    prices.gpu_per_second["H100"] = prices.gpu_per_second["T4"];
  }
};

}  // namespace

TEST(ContainerCores, TheCurveFitsServesAndFloors) {
  const CpuCurve c = CpuCurve::fit({{1, 14}, {2, 8}, {4, 5}});  // 2 + 12 / cores
  EXPECT_NEAR(c.serial_ms, 2, 1e-9);
  EXPECT_NEAR(c.parallel_ms, 12, 1e-9);
  // All parallel runs fit through the origin; a negative serial part is not kept.
  const CpuCurve p = CpuCurve::fit({{0.5, 31}, {1, 14.5}, {2, 7.4}});
  EXPECT_EQ(p.serial_ms, 0);
  EXPECT_NEAR(p.ms(1), 15, 0.5);
  EXPECT_THROW(CpuCurve::fit({{2, 8}, {2, 9}}), Error);
  CpuCurve floored = c;
  floored.floor_ms = 4;
  EXPECT_DOUBLE_EQ(floored.ms(2), 8);
  EXPECT_DOUBLE_EQ(floored.ms(12), 4);  // 3 by the curve: the one-thread decoder holds it at 4
}

TEST(ContainerCores, AGpuContainersFrameAndPriceFollowItsCores) {
  const CoresWorld w;
  const FrameTime& t = w.profile.cells.at("framing_ai").at("T4").frame_time;
  EXPECT_DOUBLE_EQ(t.at_cores(2).ms(810.0 * 1440.0), 16);  // CPU-bound
  EXPECT_DOUBLE_EQ(t.at_cores(8).ms(810.0 * 1440.0), 4.75);
  EXPECT_DOUBLE_EQ(t.at_cores(16).ms(810.0 * 1440.0), 3);  // 2.875 on the CPU: the GPU's 3 ms now
  EXPECT_DOUBLE_EQ(w.prices.container_per_second("T4", 8), 0.000164 + 8 * 0.0000131);
  EXPECT_DOUBLE_EQ(w.prices.container_per_second("T4"), 0.000164 + 2 * 0.0000131);
  const JobShape job = JobShape::of_length("framing_ai", 100);  // 3000 frames
  const Estimate on2 = estimate(w.profile, w.prices, w.platform, job, "T4", 1, false, nullptr, 2);
  const Estimate on16 = estimate(w.profile, w.prices, w.platform, job, "T4", 1, false, nullptr, 16);
  EXPECT_NEAR(on2.compute_s, 3000 * 0.016, 1e-9);
  EXPECT_NEAR(on16.compute_s, 3000 * 0.003, 1e-9);
  EXPECT_NEAR(on16.cost, 3000 * 0.003 * (0.000164 + 16 * 0.0000131), 1e-9);
  EXPECT_NEAR(on16.cost_cores, 3000 * 0.003 * 16 * 0.0000131, 1e-9);
  EXPECT_DOUBLE_EQ(on2.cpu_side_share, 1.0);
  EXPECT_NEAR(on16.cpu_side_share, 2.875 / 3, 1e-9);
  EXPECT_EQ(on16.label(), "T4 x1 on 16 cores");
}

// The fixed-cores model holds every container at 2 cores; the planner that chooses them
// finds the job 5x faster and 2.8x cheaper on 16.
TEST(ContainerCores, ThePlanChoosesTheCoresThatPayForThemselves) {
  const CoresWorld w;
  const JobShape job = JobShape::of_length("framing_ai", 100);
  const PlanResult chosen = Planner(w.profile, w.prices, w.platform, w.policy).plan(job);
  EXPECT_TRUE(chosen.chosen.cores_chosen);
  EXPECT_EQ(chosen.chosen.container_cores, 16);
  EXPECT_EQ(chosen.candidates.size(), 4u);
  PriceTable fixed_prices = w.prices;
  fixed_prices.gpu_container_core_options.clear();
  const PlanResult fixed = Planner(w.profile, fixed_prices, w.platform, w.policy).plan(job);
  EXPECT_FALSE(fixed.chosen.cores_chosen);
  EXPECT_EQ(fixed.chosen.container_cores, 2);
  EXPECT_LT(chosen.chosen.cost * 2.5, fixed.chosen.cost);
  EXPECT_LT(chosen.chosen.wall_mean_s * 5, fixed.chosen.wall_mean_s + 1e-9);
  // With cores dear, the fewest pay best: the choice follows the price, not a rule.
  PriceTable dear = w.prices;
  dear.cpu_core_per_second = 0.001;
  EXPECT_EQ(Planner(w.profile, dear, w.platform, w.policy).plan(job).chosen.container_cores, 2);
}

TEST(ContainerCores, TheSimulatorRunsAndBillsTheChosenCores) {
  const CoresWorld w;
  const Planner planner(w.profile, w.prices, w.platform, w.policy);
  Workload one;
  one.jobs_per_day = 1;
  one.hourly.fill(1.0);
  one.length_s = Distribution::constant(100);
  const SimulationResult r = simulate(w.profile, w.prices, w.platform, one, planner_decider(planner));
  ASSERT_GE(r.jobs, 1);
  EXPECT_EQ(r.jobs_by_choice.begin()->first, "T4 on 16 cores x1");
  EXPECT_NEAR(r.cost_usd, r.jobs * 3000 * 0.003 * (0.000164 + 16 * 0.0000131), 1e-6);
}

TEST(ContainerCores, FilesCarryTheCurveAndTheOptionsAndBadOnesNameTheField) {
  const CoresWorld w;
  Profile file = w.profile;  // a file's transfer figures are positive
  file.source_mbit_per_s = 10;
  file.output_mbit_per_s_at_reference = 8;
  const Profile back = parse_profile(to_json(file));
  const CpuCurve& c = back.cells.at("framing_ai").at("T4").frame_time.cpu_curve;
  EXPECT_EQ(c.serial_ms, 1);
  EXPECT_EQ(c.parallel_ms, 30);
  EXPECT_EQ(c.floor_ms, 2);
  EXPECT_EQ(parse_prices(to_json(w.prices)).gpu_container_core_options, (std::vector<double>{2, 4, 8, 16}));
  json prices = to_json(w.prices);
  prices["gpu_container_core_options"] = json::array({2, "many"});
  try {
    parse_prices(prices);
    FAIL() << "accepted a core count that is not a number";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gpu_container_core_options"), std::string::npos) << e.what();
  }
  json profile = to_json(file);
  profile["endpoints"]["framing_ai"]["T4"]["cpu_side_by_cores"] = {{"serial_ms", 1}};
  try {
    parse_profile(profile);
    FAIL() << "accepted a curve without its parallel part";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cpu_side_by_cores.parallel_ms"), std::string::npos) << e.what();
  }
}

// NVENC takes x264's share off the CPU side where the GPU has an encoder (T4), not where it
// has none (H100); the floor, decoding, stays.
TEST(ContainerCores, NvencTakesX264OffTheCpuSideOnGpusThatHaveIt) {
  CoresWorld w;
  w.add_h100_like_t4();
  JobShape job = JobShape::of_length("framing_ai", 100);
  job.encoder = "nvenc";
  EXPECT_TRUE(encodes_on_gpu(job, "T4"));
  EXPECT_FALSE(encodes_on_gpu(job, "H100"));
  const double keep = 1 - kX264ShareOfCpuSide;
  const Estimate t4 = estimate(w.profile, w.prices, w.platform, job, "T4", 1, false, nullptr, 2);
  const Estimate h100 = estimate(w.profile, w.prices, w.platform, job, "H100", 1, false, nullptr, 2);
  EXPECT_TRUE(t4.nvenc);
  EXPECT_FALSE(h100.nvenc);
  EXPECT_NEAR(t4.compute_s, 3000 * 16 * keep / 1000, 1e-9);
  EXPECT_NEAR(h100.compute_s, 3000 * 0.016, 1e-9);
  EXPECT_EQ(t4.label(), "T4 x1 on 2 cores with NVENC");
  // On 16 cores the CPU side would be 2.875 x 0.35 ms: decoding's 2 ms floor, under the GPU's 3.
  const Estimate many = estimate(w.profile, w.prices, w.platform, job, "T4", 1, false, nullptr, 16);
  EXPECT_NEAR(many.compute_s, 3000 * 0.003, 1e-9);
  job.encoder = "x264";
  EXPECT_NEAR(estimate(w.profile, w.prices, w.platform, job, "T4", 1, false, nullptr, 2).compute_s, 3000 * 0.016, 1e-9);
}

// "auto": the planner weighs x264 and, on a GPU with an encoder, NVENC. On a T4 NVENC takes
// x264's share off the CPU-bound side, so both the cheapest and the fastest plans take it; on
// an H100 (no encoder) only x264 is weighed. A job that says x264 is never moved to NVENC.
TEST(ContainerCores, AnAutoEncoderIsChosenByThePlanWhereTheGpuHasOne) {
  CoresWorld w;
  w.add_h100_like_t4();
  JobShape job = JobShape::of_length("framing_ai", 100);
  job.encoder = "auto";
  EXPECT_EQ(encoder_options(job, "T4"), (std::vector<std::string>{"x264", "nvenc"}));
  EXPECT_EQ(encoder_options(job, "H100"), (std::vector<std::string>{"x264"}));
  for (const Objective objective : {Objective::kCheapestWithinDeadline, Objective::kFastest}) {
    w.policy.objective = objective;
    w.policy.allowed_hardware = {"T4"};
    const PlanResult on_t4 = Planner(w.profile, w.prices, w.platform, w.policy).plan(job);
    EXPECT_TRUE(on_t4.chosen.nvenc) << on_t4.chosen.label();
    bool weighed_x264 = false;
    for (const Estimate& e : on_t4.candidates) weighed_x264 |= !e.nvenc;
    EXPECT_TRUE(weighed_x264) << "both encoders are candidates";
    w.policy.allowed_hardware = {"H100"};
    EXPECT_FALSE(Planner(w.profile, w.prices, w.platform, w.policy).plan(job).chosen.nvenc);
  }
  job.encoder = "x264";
  w.policy.allowed_hardware = {"T4"};
  const PlanResult x264 = Planner(w.profile, w.prices, w.platform, w.policy).plan(job);
  for (const Estimate& e : x264.candidates) EXPECT_FALSE(e.nvenc);
}
