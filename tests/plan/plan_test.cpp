// tests/plan/plan_test.cpp — the planner's maths against hand-computed cases, its
// properties over many random inputs, bad input files, thresholds, the simulator and
// the report.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "common/error.h"
#include "plan/calibrate.h"
#include "plan/planner.h"
#include "plan/report.h"
#include "plan/simulator.h"
#include "plan/thresholds.h"
#include "infer/sr_architecture.h"
#include "test_media.h"

using namespace reelscale;
using namespace reelscale::plan;
using nlohmann::json;
namespace rt = reelscale::testing;

namespace {

// A small world with constant figures, so every number can be worked out by hand.
struct World {
  Profile profile;
  PriceTable prices;
  Platform platform;
  Policy policy;
  World() {
    Cell c;
    c.frame_time.ms_at_reference = 100;
    c.cold_start_s = Distribution::constant(10);
    c.warm_start_s = Distribution::constant(1);
    profile.cells["e"]["X"] = c;
    Cell fast = c;
    fast.frame_time.ms_at_reference = 25;
    profile.cells["e"]["Y"] = fast;
    profile.orchestrator_start_s = Distribution::constant(2);
    profile.request_latency_s = Distribution::constant(0.5);
    profile.download_mb_per_s = 100;
    profile.upload_mb_per_s = 50;
    profile.preroll_s = Distribution::constant(0.3);
    profile.join = {1, 0.5, 0, {}};
    profile.cleanup_s = Distribution::constant(0.2);
    profile.source_mbit_per_s = 8;
    profile.output_mbit_per_s_at_reference = 8;
    prices.gpu_per_second = {{"X", 0.001}, {"Y", 0.004}};
    prices.cpu_core_per_second = 0.0001;
    prices.memory_gib_per_second = 0;
    prices.gpu_container_cores = 0;
    prices.gpu_container_memory_gib = 0;
    prices.orchestrator_cores = 1;
    prices.orchestrator_memory_gib = 0;
  }
  JobShape job(int64_t frames) const {
    JobShape j;
    j.endpoint = "e";
    j.frames = frames;
    j.fps = 10;
    return j;
  }
};

std::string error_of(const std::function<void()>& f) { return reelscale::testing::error_message(f); }

}  // namespace

TEST(Distribution, QuantilesAndMaxima) {
  const Distribution ln = Distribution::lognormal(10, 25);
  EXPECT_NEAR(ln.quantile(0.5), 10, 1e-6);
  EXPECT_NEAR(ln.quantile(0.9), 25, 1e-4);
  EXPECT_NEAR(ln.cdf(ln.quantile(0.3)), 0.3, 1e-6);
  const Distribution u = Distribution::uniform(0, 1);
  for (int n : {1, 2, 4, 8, 16}) {
    // Max of n uniforms: mean n/(n+1), q-quantile q^(1/n).
    EXPECT_NEAR(max_mean(u, 0, u, n), n / (n + 1.0), 1e-3) << n;
    EXPECT_NEAR(max_quantile(u, 0, u, n, 0.9), std::pow(0.9, 1.0 / n), 1e-9) << n;
    const MaxOfDraws table(u, u, 16);
    EXPECT_NEAR(table.mean(0, n), n / (n + 1.0), 2e-3) << n;
  }
  // The tabulated lognormal maxima agree with a Monte Carlo estimate.
  const MaxOfDraws table(Distribution::constant(0.3), ln, 16);
  std::mt19937_64 rng(5);
  for (int n : {1, 4, 16}) {
    std::vector<double> maxima;
    for (int s = 0; s < 40000; ++s) {
      double m = 0;
      for (int i = 0; i < n; ++i) m = std::max(m, ln.sample(rng));
      maxima.push_back(m);
    }
    double mean = 0;
    for (double m : maxima) mean += m;
    mean /= maxima.size();
    std::sort(maxima.begin(), maxima.end());
    EXPECT_NEAR(table.mean(0, n) / mean, 1.0, 0.02) << n;
    EXPECT_NEAR(table.p90(0, n) / maxima[static_cast<size_t>(0.9 * maxima.size())], 1.0, 0.03) << n;
  }
  // Warm draws mixed in lower the slowest start.
  EXPECT_LT(table.mean(3, 1), table.mean(0, 4));
}

TEST(CostModel, HandComputedCase) {
  const World w;
  const Estimate e = estimate(w.profile, w.prices, w.platform, w.job(100), "X", 2, false);
  // 100 frames at 10 fps = 10 s; 10 MB in, 10 MB out; two chunks of 50 frames.
  EXPECT_EQ(e.largest_chunk, 50);
  EXPECT_NEAR(e.transfer_s, 0.5 + 0.05 + 0.1, 1e-9);
  EXPECT_NEAR(e.preroll_s, 0.3, 1e-9);
  EXPECT_NEAR(e.compute_s, 5.0, 1e-9);
  EXPECT_NEAR(e.join_s, 1 + 0.5 * 2, 1e-9);
  EXPECT_NEAR(e.final_upload_s, 0.5 + 0.2, 1e-9);
  EXPECT_NEAR(e.wall_mean_s, 2 + 10 + 5.95 + 2 + 0.7 + 0.2, 1e-9);
  EXPECT_NEAR(e.wall_p90_s, e.wall_mean_s, 1e-9);  // nothing random
  // Containers: 10 s start + busy (5.65 s and 5.95 s) + 60 s idle tail, rounded up to whole
  // seconds: 76 + 76; the orchestrator its 20.85 s -> 21 s at $0.0001/s.
  EXPECT_NEAR(e.container_seconds, 152, 1e-9);
  EXPECT_NEAR(e.cost, 152 * 0.001 + 21 * 0.0001, 1e-12);
  EXPECT_NEAR(e.cost_idle_tail, 2 * 60 * 0.001, 1e-12);
  // One chunk: no pre-roll, no join, no separate final upload.
  const Estimate one = estimate(w.profile, w.prices, w.platform, w.job(100), "X", 1, false);
  EXPECT_EQ(one.join_s, 0);
  EXPECT_EQ(one.preroll_s, 0);
  EXPECT_EQ(one.final_upload_s, 0);
  EXPECT_NEAR(one.wall_mean_s, 2 + 10 + (0.5 + 0.1 + 0.2 + 10) + 0.2, 1e-9);
}

TEST(CostModel, MonteCarloAgreesWithTheAnalyticModel) {
  const Profile profile = default_profile();
  const PriceTable prices = default_prices();
  const Platform platform;
  for (int n : {1, 4, 12}) {
    const JobShape job = JobShape::of_length("framing_ai", 30);
    const Estimate a = estimate(profile, prices, platform, job, "T4", n, false);
    const Estimate mc = estimate_monte_carlo(profile, prices, platform, job, "T4", n, false, 20000, 3);
    EXPECT_NEAR(mc.wall_mean_s / a.wall_mean_s, 1.0, 0.03) << n;
    EXPECT_NEAR(mc.cost / a.cost, 1.0, 0.02) << n;
    // The analytic p90 adds the parts' p90s: an upper bound, not far above.
    EXPECT_LE(mc.wall_p90_s, a.wall_p90_s * 1.01) << n;
    EXPECT_GE(mc.wall_p90_s, a.wall_p90_s * 0.85) << n;
  }
}

TEST(CostModel, WarmIdleContainersCutTimeAndCost) {
  const World w;
  Platform warm = w.platform;
  warm.warm_idle["X"] = 2;
  const Estimate cold = estimate(w.profile, w.prices, w.platform, w.job(100), "X", 2, true);
  const Estimate hot = estimate(w.profile, w.prices, warm, w.job(100), "X", 2, true);
  EXPECT_EQ(hot.warm_chunks, 2);
  EXPECT_NEAR(cold.wall_mean_s - hot.wall_mean_s, 10 - 1, 1e-9);  // cold start 10 s against warm 1 s
  EXPECT_LT(hot.cost, cold.cost);
  EXPECT_EQ(hot.cost_idle_tail, 0);
}

TEST(CostModel, Properties) {
  const Profile profile = default_profile();
  const PriceTable prices = default_prices();
  const Platform platform;
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> length(0.5, 300), factor(1.01, 3);
  for (int trial = 0; trial < 200; ++trial) {
    const JobShape job = JobShape::of_length(trial % 2 ? "framing_ai" : "overlay", length(rng));
    for (const std::string hw : {"T4", "H100", "CPU"}) {
      double previous_seconds = 0;
      for (int n = 1; n <= std::min<int64_t>(16, job.frames); ++n) {
        const Estimate e = estimate(profile, prices, platform, job, hw, n, false);
        if (n == 1) {
          EXPECT_EQ(e.join_s, 0);
        }
        // Total billed container-seconds never fall as N grows.
        EXPECT_GE(e.container_seconds, previous_seconds - 1e-9) << hw << " n=" << n;
        previous_seconds = e.container_seconds;
        // Cost never falls when a price rises.
        PriceTable dearer = prices;
        const double k = factor(rng);
        if (hw == "CPU") dearer.cpu_core_per_second *= k;
        else dearer.gpu_per_second[hw] *= k;
        EXPECT_GE(estimate(profile, dearer, platform, job, hw, n, false).cost, e.cost) << hw << " n=" << n;
        dearer = prices;
        dearer.memory_gib_per_second *= k;
        EXPECT_GE(estimate(profile, dearer, platform, job, hw, n, false).cost, e.cost);
      }
    }
  }
}

TEST(Planner, FeasibleDeadlinesAreMetAndInfeasibleOnesSaySo) {
  const Profile profile = default_profile();
  const PriceTable prices = default_prices();
  const Platform platform;
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<double> length(0.5, 200), deadline(5, 400), budget(0.001, 2);
  int feasible = 0, infeasible = 0;
  for (int trial = 0; trial < 150; ++trial) {
    Policy policy;
    policy.deadline_s = deadline(rng);
    const Planner planner(profile, prices, platform, policy);
    const JobShape job = JobShape::of_length("framing_ai", length(rng));
    const PlanResult r = planner.plan(job);
    bool any = false;
    for (const Estimate& e : r.candidates) any = any || e.time(true) <= policy.deadline_s;
    EXPECT_EQ(r.feasible, any);
    if (r.feasible) {
      ++feasible;
      EXPECT_LE(r.chosen.time(true), policy.deadline_s);
      for (const Estimate& e : r.candidates) {
        if (e.time(true) <= policy.deadline_s) {
          EXPECT_GE(e.cost, r.chosen.cost - 1e-12);
        }
      }
    } else {
      ++infeasible;
      EXPECT_NE(r.reason.find("infeasible"), std::string::npos);
      for (const Estimate& e : r.candidates) EXPECT_GE(e.time(true), r.chosen.time(true));
    }
    // choose() agrees with plan().
    const Estimate c = planner.choose(job);
    EXPECT_EQ(c.label(), r.chosen.label());
    // Fastest within a budget.
    Policy money = policy;
    money.objective = Objective::kFastestWithinBudget;
    money.budget_usd = budget(rng);
    const PlanResult b = Planner(profile, prices, platform, money).plan(job);
    if (b.feasible) {
      EXPECT_LE(b.chosen.cost, money.budget_usd);
      for (const Estimate& e : b.candidates) {
        if (e.cost <= money.budget_usd) {
          EXPECT_GE(e.time(true), b.chosen.time(true));
        }
      }
    }
  }
  EXPECT_GT(feasible, 10);
  EXPECT_GT(infeasible, 10);
}

TEST(Planner, DetectIsOneFrameWhateverTheClipLength) {
  const Profile profile = default_profile();
  const PriceTable prices = default_prices();
  const Platform platform;
  const Policy policy;
  const Planner planner(profile, prices, platform, policy);  // it keeps references
  for (double seconds : {1.0, 30.0, 600.0}) {
    const JobShape job = JobShape::of_length("detect", seconds);
    EXPECT_EQ(job.frames, 1);
    const PlanResult r = planner.plan(job);
    EXPECT_EQ(r.chosen.chunks, 1);
    const double frame_ms = profile.cells.at("detect").at(r.chosen.hardware).frame_time.fixed_ms;
    EXPECT_NEAR(r.chosen.compute_s, frame_ms / 1000, 1e-9);
  }
  EXPECT_EQ(JobShape::of_length("framing", 30).frames, 900);
}

TEST(Planner, ParetoFrontAndBalanced) {
  const Profile profile = default_profile();
  const PriceTable prices = default_prices();
  const Platform platform;
  Policy policy;
  policy.objective = Objective::kBalanced;
  const PlanResult r = Planner(profile, prices, platform, policy).plan(JobShape::of_length("framing_ai", 30));
  ASSERT_FALSE(r.pareto.empty());
  for (size_t i = 1; i < r.pareto.size(); ++i) {
    EXPECT_GT(r.pareto[i].time(true), r.pareto[i - 1].time(true));
    EXPECT_LT(r.pareto[i].cost, r.pareto[i - 1].cost);
  }
  for (const Estimate& c : r.candidates) {
    for (const Estimate& p : r.pareto) {
      EXPECT_FALSE(c.time(true) < p.time(true) && c.cost < p.cost) << c.label() << " beats " << p.label();
    }
  }
  // The balanced choice is on the front.
  bool on_front = false;
  for (const Estimate& p : r.pareto) on_front = on_front || p.label() == r.chosen.label();
  EXPECT_TRUE(on_front);
}

TEST(Planner, BadFilesNameTheField) {
  EXPECT_NE(error_of([] { parse_profile(json::object()); }).find("endpoints is required"), std::string::npos);
  EXPECT_NE(error_of([] { parse_profile({{"endpoints", {{"framing_ai", {{"T4", {{"ms_per_frame", -3}}}}}}}}); })
                .find("endpoints.framing_ai.T4.ms_per_frame is -3"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_profile({{"endpoints", {{"framing_ai", {{"T4", {{"ms_per_frame", 3}}}}}}}}); })
                .find("endpoints.framing_ai.T4.cold_start_s is required"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              parse_profile({{"endpoints", {{"e", {{"T4", {{"ms_per_frame", 3}, {"cold_start_s", {{"lognormal", {{"median", 5}, {"p90", 2}}}}}}}}}}}});
            }).find("endpoints.e.T4.cold_start_s lognormal needs 0 < median <= p90"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_profile({{"endpoints", {{"e", {{"T4", {{"ms_per_frame", 3}, {"cold_start_s", 1}, {"colour", 1}}}}}}}}); })
                .find("unknown field 'endpoints.e.T4.colour'"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_policy({{"objective", "cheapest"}}); }).find("objective 'cheapest' is not one of"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_policy({{"deadline_s", -5}}); }).find("deadline_s is -5"), std::string::npos);
  EXPECT_NE(error_of([] { parse_policy({{"max_parallel", 0}}); }).find("max_parallel is 0"), std::string::npos);
  EXPECT_NE(error_of([] { parse_prices({{"gpu_per_second", {{"T4", -1}}}, {"cpu_core_per_second", 0}, {"memory_gib_per_second", 0}}); })
                .find("gpu_per_second.T4 must be a number >= 0"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_prices({{"gpu_per_second", {{"T4", 1}}}}); }).find("cpu_core_per_second is required"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_platform({{"scale_down_window_s", "long"}}); }).find("scale_down_window_s must be a number"),
            std::string::npos);
  EXPECT_NE(error_of([] { read_json_file("/nonexistent/profile.json"); }).find("file not found"), std::string::npos);
  // Round trips.
  const Profile p = parse_profile(to_json(old_system_profile()));
  EXPECT_EQ(p.cells.at("framing_ai").at("T4").frame_time.ms_at_reference, 681);
  EXPECT_NEAR(p.cells.at("framing_ai").at("T4").cold_start_s.quantile(0.9), 25, 1e-6);
  const Profile ours = parse_profile(to_json(default_profile()));
  EXPECT_EQ(ours.cell("framing_ai", "T4").frame_time.ms_at_reference, default_profile().cell("framing_ai", "T4").frame_time.ms_at_reference);
  EXPECT_EQ(ours.cell("framing_ai", "T4").model, "realesr-animevideov3");
  EXPECT_EQ(parse_prices(to_json(default_prices())).gpu_per_second.at("H100"), 0.001097);
  EXPECT_EQ(parse_policy(to_json(default_policy())).deadline_s, 180);
}

TEST(Thresholds, ContiguousExactAndExplained) {
  const Profile profile = old_system_profile();  // slow T4 figures: several break-evens
  const PriceTable prices = default_prices();
  const Platform platform;
  Policy policy;
  policy.allowed_hardware = {"T4"};
  policy.deadline_s = 600;
  const Planner planner(profile, prices, platform, policy);
  const ThresholdTable t = sweep_thresholds(planner, "framing_ai", 0.5, 300);
  ASSERT_GE(t.rows.size(), 3u);
  EXPECT_EQ(t.rows.front().from_s, 0);
  EXPECT_TRUE(std::isinf(t.rows.back().to_s));
  for (size_t i = 1; i < t.rows.size(); ++i) {
    EXPECT_EQ(t.rows[i].from_s, t.rows[i - 1].to_s);
    // Longer clips never get fewer T4s under a deadline.
    EXPECT_GE(t.rows[i].chunks, t.rows[i - 1].chunks);
    EXPECT_FALSE(t.rows[i].why.empty());
    // Exact to the frame: the new choice at the break-even, the old one a frame earlier.
    const int64_t f = static_cast<int64_t>(std::llround(t.rows[i].from_s * 30));
    JobShape at = JobShape::of_length("framing_ai", 1);
    at.frames = f;
    EXPECT_EQ(planner.plan(at).chosen.chunks, t.rows[i].chunks);
    at.frames = f - 1;
    EXPECT_EQ(planner.plan(at).chosen.chunks, t.rows[i - 1].chunks);
  }
  EXPECT_NE(t.rows[1].why.find("would miss the 600 s deadline"), std::string::npos) << t.rows[1].why;
  // The Python form is valid Python holding the same table.
  rt::TempDir dir;
  std::ofstream(dir / "t.py") << to_python(t);
  const auto r = rt::run_command("python3 -c \"exec(open('" + (dir / "t.py").string() +
                                 "').read()); k = sorted(CHUNK_THRESHOLDS); print(len(k), CHUNK_THRESHOLDS[k[-1]]['chunks'], k[-1][1])\"");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output, std::to_string(t.rows.size()) + " " + std::to_string(t.rows.back().chunks) + " inf\n");
}

TEST(Simulator, MatchesTheCostModelForALonelyJobAndCountsReuse) {
  World w;
  Workload load;
  load.endpoint = "e";
  load.length_s = Distribution::constant(10);
  load.fps = 10;
  load.hourly = Workload::default_hourly();
  load.jobs_per_day = 3;  // hours apart: every job alone, every container cold
  const auto fixed = [](const JobShape&, const LoadView&) { return Decision{"X", 2}; };
  const SimulationResult alone = simulate(w.profile, w.prices, w.platform, load, fixed);
  ASSERT_GT(alone.jobs, 0);
  const Estimate e = estimate(w.profile, w.prices, w.platform, w.job(100), "X", 2, false);
  EXPECT_NEAR(alone.latency_p50_s, e.wall_mean_s, 1e-6);
  EXPECT_EQ(alone.warm_starts, 0);
  EXPECT_NEAR(alone.billed_container_s / alone.jobs, e.container_seconds, 1e-6);
  EXPECT_NEAR(alone.cost_usd / alone.jobs, e.cost, 1e-6);
  // Busy: later jobs reuse warm containers, and idle time is billed.
  load.jobs_per_day = 20000;
  const SimulationResult busy = simulate(w.profile, w.prices, w.platform, load, fixed);
  EXPECT_NEAR(static_cast<double>(busy.jobs), 20000, 5 * std::sqrt(20000.0));
  EXPECT_GT(busy.warm_starts, busy.cold_starts);
  EXPECT_GT(busy.idle_share, 0);
  EXPECT_LT(busy.idle_share, 1);
  EXPECT_GE(busy.billed_container_s, busy.busy_container_s);
  EXPECT_LT(busy.cost_usd / busy.jobs, e.cost);  // reuse shares the idle tails
  // Deterministic for a seed.
  EXPECT_EQ(simulate(w.profile, w.prices, w.platform, load, fixed).cost_usd, busy.cost_usd);
}

TEST(Report, RowsCsvSvgAndMarkdown) {
  const Profile profile = default_profile();
  const PriceTable prices = default_prices();
  const Platform platform;
  Policy policy;
  policy.deadline_s = 300;
  const Planner planner(profile, prices, platform, policy);
  Workload w;
  w.hourly = Workload::default_hourly();
  w.length_s = parse_lengths("list:5,12,30,60");
  const ThresholdTable old = old_system_table();
  const auto rows = usage_report(profile, prices, platform, w, {100, 1000},
                                 {{"planner", planner_decider(planner)}, {"old table", table_decider(old)}});
  ASSERT_EQ(rows.size(), 4u);
  for (const auto& r : rows) {
    EXPECT_GT(r.usd_per_month, 0);
    EXPECT_GT(r.p95_s, 0);
  }
  EXPECT_GT(rows[1].usd_per_month, rows[0].usd_per_month);  // more videos cost more
  const std::string csv = report_csv(rows);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 5);
  const std::string svg = report_svg(rows);
  EXPECT_EQ(svg.find("<svg"), 0u);
  size_t lines = 0;
  for (size_t p = svg.find("<polyline"); p != std::string::npos; p = svg.find("<polyline", p + 1)) ++lines;
  EXPECT_EQ(lines, 2u);
  EXPECT_NE(report_markdown(rows, "ctx").find("| old table | 1000 |"), std::string::npos);
  EXPECT_NE(error_of([] { parse_lengths("gamma:1,2"); }).find("neither"), std::string::npos);
  EXPECT_NE(error_of([] { parse_lengths("list:5,-1"); }).find("'-1' is not a positive number"), std::string::npos);
}

TEST(Calibrate, JobRecordsUpdateFrameTimePrerollAndJoin) {
  World w;
  // Two records of endpoint e on X at half the reference size: steady 20 ms/frame there,
  // i.e. 40 ms at the reference size (pixel exponent 1).
  // Records go through the real writer and reader (record::to_json, record_from_json).
  auto record = [](int chunks, double join_s, const std::string& hardware = "X") {
    record::JobRecord r;
    r.job_id = "job" + std::to_string(chunks);
    r.endpoint = "e";
    r.hardware = hardware;
    r.output_width = 810;
    r.output_height = 720;  // half the reference size
    r.chunks = chunks;
    for (int i = 0; i < chunks; ++i) {
      record::ChunkRecord c;
      c.index = i;
      c.frames = 50;
      c.timings_s.open = 0.1;
      c.timings_s.preroll = i ? 0.3 : 0.0;
      c.timings_s.chunk = 0.1 + c.timings_s.preroll + 50 * 0.02;
      r.chunk_results.push_back(c);
    }
    r.timings_s["join"] = join_s;
    r.timings_s["orchestrator_start"] = 0.0;  // a service already running
    r.timings_s["cleanup"] = 0.01 * chunks;
    return record::record_from_json(json::parse(record::to_json(r).dump()));
  };
  record::JobRecord failed = record(2, 9.9);
  failed.outcome = "failed";
  std::vector<record::JobRecord> records = {record(2, 0.2), record(4, 0.4), record(1, 0, "nowhere"), failed};
  const CalibrationSummary s = calibrate(w.profile, records, "2026-11-27");
  EXPECT_EQ(s.records, 2);
  const Cell& cell = w.profile.cell("e", "X");
  EXPECT_NEAR(cell.frame_time.ms_at_reference, 40.0, 1e-9);
  EXPECT_TRUE(cell.frame_time.provenance.measured_by_us);
  EXPECT_NEAR(w.profile.preroll_s.mean(), 0.3, 1e-9);
  EXPECT_NEAR(w.profile.join.per_chunk_s, 0.1, 1e-9);  // 0.2 s at 2 chunks, 0.4 s at 4
  EXPECT_NEAR(w.profile.join.base_s, 0.0, 1e-9);
  EXPECT_NEAR(w.profile.orchestrator_start_s.mean(), 0.0, 1e-9) << "what the records saw";
  EXPECT_NEAR(w.profile.cleanup_s.mean(), 0.03, 1e-9);
  bool said_skipped = false;
  bool said_failed = false;
  for (const auto& c : s.changes) {
    said_skipped = said_skipped || c.find("'nowhere'") != std::string::npos;
    said_failed = said_failed || c.find("the job failed") != std::string::npos;
  }
  EXPECT_TRUE(said_skipped);
  EXPECT_TRUE(said_failed);
  // The other hardware is untouched.
  EXPECT_EQ(w.profile.cell("e", "Y").frame_time.ms_at_reference, 25);
}

// Each timed chunk upload is one request's latency and its bytes: the latency is refit as
// their median once five are timed. A chunk written in place made no request (0); one with
// neither a time nor a place says nothing.
TEST(Calibrate, RequestLatencyIsRefitFromChunkUploads) {
  auto records_with = [](int chunks, const std::string& output, double latency_s, double bytes_per_s) {
    record::JobRecord r;
    r.endpoint = "e";
    r.hardware = "X";
    r.chunks = chunks;
    for (int i = 0; i < chunks; ++i) {
      record::ChunkRecord c;
      c.index = i;
      c.frames = 50;
      c.bytes = 2'000'000 * (i + 1);
      c.output = output.empty() ? "" : output + std::to_string(i);
      c.timings_s.chunk = 1;
      c.timings_s.upload = latency_s < 0 ? 0 : latency_s + static_cast<double>(c.bytes) / bytes_per_s;
      r.chunk_results.push_back(c);
    }
    return std::vector<record::JobRecord>{r};
  };
  World w;
  w.profile.request_latency_s = Distribution::constant(0.5);
  const double rate = w.profile.upload_mb_per_s * 1e6;
  Profile stored = w.profile;
  calibrate(stored, records_with(6, "s3://bucket/job/chunk", 0.04, rate), "2026-12-07");
  EXPECT_NEAR(stored.request_latency_s.mean(), 0.04, 1e-9);
  EXPECT_TRUE(stored.request_latency_s.provenance.measured_by_us);
  Profile in_place = w.profile;
  calibrate(in_place, records_with(6, "/work/out/chunk", -1, rate), "2026-12-07");
  EXPECT_EQ(in_place.request_latency_s.mean(), 0);
  Profile unknown = w.profile;
  calibrate(unknown, records_with(6, "", -1, rate), "2026-12-07");
  EXPECT_EQ(unknown.request_latency_s.mean(), 0.5) << "no upload timed, no place known";
  Profile few = w.profile;
  calibrate(few, records_with(4, "s3://bucket/job/chunk", 0.04, rate), "2026-12-07");
  EXPECT_EQ(few.request_latency_s.mean(), 0.5) << "four uploads are too few";
}

// ---- local slots: owned capacity, planned for time ----------------------------------

namespace {
// The hand-computable world on 2 owned slots of 2 cores, where the endpoint gains little
// from a second thread (1.2x) and two chunks at once barely slow each other (1.25x).
World local_world() {
  World w;
  Cell& c = w.profile.cells["e"]["X"];
  c.scaling.cores = 2;
  c.scaling.alone = {{1, 1.2}, {2, 1.0}};
  c.scaling.concurrent = {{1, 1.0}, {2, 1.5}};
  w.platform = Platform::local(2, 2);
  w.policy.allowed_hardware = {"X"};  // the machine the slots are on
  return w;
}
}  // namespace

TEST(LocalSlots, NoBillingNoIdleTailNoColdStartBeyondTheModel) {
  const World w = local_world();
  const Estimate one = estimate(w.profile, w.prices, w.platform, w.job(100), "X", 1, false);
  EXPECT_EQ(one.platform_model, "local");
  EXPECT_EQ(one.cost_idle_tail, 0);
  EXPECT_EQ(one.cost_startup, 0);
  EXPECT_EQ(one.container_seconds, 0);
  // Start-up is opening the model: the cell's cold start (10 s) less the process start (2 s).
  EXPECT_NEAR(one.startup_mean_s, 8, 1e-9);
  EXPECT_EQ(one.concurrent, 1);
  EXPECT_EQ(one.threads_per_chunk, 2) << "a chunk alone gets every core";
  EXPECT_NEAR(one.compute_s, 100 * 0.1, 1e-9);
  // Two chunks at once, one thread each: each frame 1.5x slower, half the frames each.
  const Estimate two = estimate(w.profile, w.prices, w.platform, w.job(100), "X", 2, false);
  EXPECT_EQ(two.concurrent, 2);
  EXPECT_EQ(two.threads_per_chunk, 1);
  EXPECT_NEAR(two.compute_s, 50 * 0.1 * 1.5, 1e-9);
  // Four chunks on two slots: two waves of 25 frames.
  const Estimate four = estimate(w.profile, w.prices, w.platform, w.job(100), "X", 4, false);
  EXPECT_NEAR(four.compute_s, 2 * 25 * 0.1 * 1.5, 1e-9);
  // Cost: core-seconds, priced at the per-core rate only for reference.
  EXPECT_GT(two.core_seconds, 2 * two.compute_s);
  EXPECT_NEAR(two.cloud_equivalent_usd, two.core_seconds * w.prices.cpu_core_per_second, 1e-12);
  EXPECT_EQ(two.cost, two.cloud_equivalent_usd);
}

TEST(LocalSlots, AMachineRunningSlowerThanProfiledStretchesEveryTimeAndTheCoresHeld) {
  const World w = local_world();
  Platform slower = w.platform;
  slower.local_speed = 1.25;
  for (int chunks : {1, 2, 4}) {
    const Estimate as_profiled = estimate(w.profile, w.prices, w.platform, w.job(100), "X", chunks, false);
    const Estimate now = estimate(w.profile, w.prices, slower, w.job(100), "X", chunks, false);
    EXPECT_NEAR(now.wall_mean_s, 1.25 * as_profiled.wall_mean_s, 1e-9) << chunks;
    EXPECT_NEAR(now.wall_p90_s, 1.25 * as_profiled.wall_p90_s, 1e-9) << chunks;
    EXPECT_NEAR(now.compute_s, 1.25 * as_profiled.compute_s, 1e-9) << chunks;
    EXPECT_NEAR(now.startup_mean_s, 1.25 * as_profiled.startup_mean_s, 1e-9) << chunks;
    EXPECT_NEAR(now.core_seconds, 1.25 * as_profiled.core_seconds, 1e-9) << chunks;
    EXPECT_NEAR(now.cost, 1.25 * as_profiled.cost, 1e-12) << chunks;
  }
  // The same choice: every local option is stretched alike.
  EXPECT_EQ(Planner(w.profile, w.prices, slower, w.policy).plan(w.job(300)).chosen.chunks,
            Planner(w.profile, w.prices, w.platform, w.policy).plan(w.job(300)).chosen.chunks);
  // A serverless platform is not this machine: the factor is not read there.
  World billed = local_world();
  billed.platform = Platform{};
  Platform billed_slower = billed.platform;
  billed_slower.local_speed = 1.25;
  EXPECT_EQ(estimate(billed.profile, billed.prices, billed_slower, billed.job(100), "X", 2, false).wall_mean_s,
            estimate(billed.profile, billed.prices, billed.platform, billed.job(100), "X", 2, false).wall_mean_s);
}

TEST(LocalSlots, TheDefaultObjectiveIsTheShortestWallTime) {
  World w = local_world();
  const Planner planner(w.profile, w.prices, w.platform, w.policy);
  const PlanResult r = planner.plan(w.job(300));
  // 1 chunk: 30 s of compute; 2 at once: 22.5 s. Nothing billed, so time decides.
  EXPECT_EQ(r.chosen.chunks, 2) << r.reason;
  EXPECT_EQ(planner.choose(w.job(300)).chunks, 2) << "choose() agrees with plan()";
  EXPECT_NE(r.reason.find("local model"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("no idle tail"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("core-seconds"), std::string::npos) << r.reason;
  // Perfect thread scaling and real contention: one chunk on both cores is faster.
  w.profile.cells["e"]["X"].scaling.alone = {{1, 2.0}, {2, 1.0}};
  w.profile.cells["e"]["X"].scaling.concurrent = {{1, 1.0}, {2, 2.4}};
  const PlanResult single = Planner(w.profile, w.prices, w.platform, w.policy).plan(w.job(300));
  EXPECT_EQ(single.chosen.chunks, 1) << single.reason;
  // The same world on a billed platform keeps the price model and its reason says so.
  World billed = local_world();
  billed.platform = Platform{};
  const PlanResult priced = Planner(billed.profile, billed.prices, billed.platform, billed.policy).plan(billed.job(300));
  EXPECT_EQ(priced.chosen.platform_model, "serverless");
  EXPECT_NE(priced.reason.find("serverless price model"), std::string::npos) << priced.reason;
  EXPECT_GT(priced.chosen.cost_idle_tail, 0);
}

TEST(LocalSlots, APolicyCanLeaveACoreFreeOrAskForTheCheapest) {
  World w = local_world();
  w.platform = Platform::local(2, 4 - 1);  // 4 cores, one left free
  const Estimate one = estimate(w.profile, w.prices, w.platform, w.job(100), "X", 1, false);
  EXPECT_EQ(one.threads_per_chunk, 3);
  w.policy.objective = Objective::kCheapestWithinDeadline;  // least core-seconds within the deadline
  w.platform = Platform::local(2, 2);
  const PlanResult r = Planner(w.profile, w.prices, w.platform, w.policy).plan(w.job(300));
  for (const Estimate& e : r.candidates) {
    if (e.time(true) <= w.policy.deadline_s) {
      EXPECT_LE(r.chosen.core_seconds, e.core_seconds + 1e-9) << e.label();
    }
  }
}

// One chunk on both cores or two chunks on one core each is chosen from the speeds the
// profile measured on this many cores (issue 30), not from the per-stage model's assumed
// sharing: the built-in framing_ai cell (fixed figures) on the held-out job, with
// two measured thread scalings that call for opposite choices. Planned from the stage model
// alone, both would get the same answer.
TEST(LocalSlots, PerStageCellsChooseTheChunkCountFromTheMeasuredThreadScaling) {
  Profile profile = default_local_profile();
  JobShape job = JobShape::of_length("framing_ai", 4, 30, 404.0 * 720.0);
  job.source_pixels = 1280.0 * 720.0;
  job.codec = "h264";
  job.preset = "veryfast";
  Policy policy;
  policy.allowed_hardware = {"CPU"};
  const Platform two_cores = Platform::local(2, 2);
  const auto plan_with = [&](std::map<int, double> alone, std::map<int, double> concurrent) {
    ThreadScaling& s = profile.cells["framing_ai"]["CPU"].scaling;
    s.cores = 2;
    s.alone = std::move(alone);
    s.concurrent = std::move(concurrent);
    return Planner(profile, default_prices(), two_cores, policy).plan(job);
  };
  // A second thread barely helps the network, and two chunks barely slow each other.
  const PlanResult split = plan_with({{1, 1.04}, {2, 1.0}}, {{1, 1.0}, {2, 1.12}});
  EXPECT_EQ(split.chosen.chunks, 2) << split.reason;
  const Estimate one = estimate(profile, default_prices(), two_cores, job, "CPU", 1, false);
  const Estimate two = estimate(profile, default_prices(), two_cores, job, "CPU", 2, false);
  EXPECT_NEAR(one.chunk_frame_factor, 1.0, 1e-9);
  EXPECT_NEAR(two.chunk_frame_factor, 1.12, 1e-9);
  EXPECT_NEAR(two.chunk_frame_ms, 1.12 * one.chunk_frame_ms, 1e-6) << "each of two chunks, as measured";
  EXPECT_NE(two.chunk_speed_from.find("measured: 2 chunk(s) at once on 1 thread(s) each"), std::string::npos)
      << two.chunk_speed_from;
  // Threads that scale and chunks that fight: one chunk on both cores.
  const PlanResult whole = plan_with({{1, 2.0}, {2, 1.0}}, {{1, 1.0}, {2, 2.3}});
  EXPECT_EQ(whole.chosen.chunks, 1) << whole.reason;
  // Measured on another core count, the stage model shares the cores, and says so.
  profile.cells["framing_ai"]["CPU"].scaling.cores = 8;
  const Estimate modelled = estimate(profile, default_prices(), two_cores, job, "CPU", 2, false);
  EXPECT_NE(modelled.chunk_speed_from.find("per-stage model"), std::string::npos) << modelled.chunk_speed_from;
}

TEST(LocalSlots, PlatformAndScalingFilesRoundTripAndBadOnesNameTheField) {
  const Platform p = parse_platform(json{{"kind", "local"}, {"slots", 3}, {"cores", 8}});
  EXPECT_TRUE(p.is_local());
  EXPECT_EQ(p.local_slots, 3);
  EXPECT_EQ(parse_platform(to_json(p)).local_cores, 8);
  EXPECT_EQ(parse_platform(json{{"kind", "local"}, {"slots", 1}, {"cores", 1}, {"local_speed", 1.5}}).local_speed, 1.5);
  EXPECT_NE(error_of([] { parse_platform(json{{"kind", "local"}, {"slots", 1}, {"cores", 1}, {"local_speed", 0}}); })
                .find("local_speed"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_platform(json{{"kind", "mine"}}); }).find("kind"), std::string::npos);
  EXPECT_NE(error_of([] { parse_platform(json{{"kind", "local"}, {"cores", 2}}); }).find("slots"), std::string::npos);
  World w = local_world();
  const Profile back = parse_profile(to_json(w.profile));
  const ThreadScaling& s = back.cell("e", "X").scaling;
  EXPECT_EQ(s.cores, 2);
  EXPECT_EQ(s.alone.at(1), 1.2);
  EXPECT_EQ(s.concurrent.at(2), 1.5);
  json bad = to_json(w.profile);
  bad["endpoints"]["e"]["X"]["thread_scaling"]["alone"]["one"] = 2;
  EXPECT_NE(error_of([&] { parse_profile(bad); }).find("thread_scaling.alone"), std::string::npos);
  EXPECT_NE(error_of([] { parse_policy(json{{"objective", "quickest"}}); }).find("objective"), std::string::npos);
  EXPECT_EQ(parse_policy(json{{"objective", "fastest"}, {"reserve_cores", 1}}).reserve_cores, 1);
}

TEST(LocalSlots, ScalingFactorComposesTheThreadCurveAndContention) {
  ThreadScaling s;
  s.cores = 4;
  s.alone = {{1, 3.0}, {2, 1.6}, {4, 1.0}};
  s.concurrent = {{2, 2.0}, {4, 3.5}};
  EXPECT_NEAR(s.factor(1, 4, 4), 1.0, 1e-12);
  EXPECT_NEAR(s.factor(1, 2, 4), 1.6, 1e-12);
  EXPECT_NEAR(s.factor(2, 2, 4), 2.0, 1e-12) << "measured directly";
  EXPECT_NEAR(s.factor(4, 1, 4), 3.5, 1e-12);
  // 2 chunks on 1 thread each (a core left free of 3): the 1-thread curve x the contention of 2.
  EXPECT_NEAR(s.factor(2, 1, 3), 3.0 * (2.0 / 1.6), 1e-12);
  // Unmeasured: ideal scaling, no contention.
  const ThreadScaling none;
  EXPECT_NEAR(none.factor(2, 1, 2), 2.0, 1e-12);
  EXPECT_NEAR(none.factor(1, 2, 2), 1.0, 1e-12);
}

// ---- model-aware frame cost ---------------------------------------------------------

TEST(ModelCost, MultiplyAddsComeFromTheLayerDefinitions) {
  using reelscale::infer::architecture_by_name;
  // SRVGGNetCompact x4: 3->64, 16 x (64->64), 64->48, all 3x3: 9 x (192 + 16 x 4096 + 3072).
  EXPECT_DOUBLE_EQ(architecture_by_name("realesr-animevideov3").macs_per_input_pixel(), 619200);
  EXPECT_DOUBLE_EQ(architecture_by_name("realesr-general-x4v3").macs_per_input_pixel(), 9.0 * (192 + 32 * 4096 + 3072));
  // RRDBNet x4: 23 blocks of 3 dense blocks (5 convs each) at the input size, then
  // upsampling convs at 4x and 16x the pixels: about 29 times the compact network.
  const double rrdb = architecture_by_name("RealESRGAN_x4plus").macs_per_input_pixel();
  EXPECT_NEAR(rrdb, 17.93e6, 0.01e6);
  EXPECT_NEAR(rrdb / 619200, 29.0, 0.1);
  // x2 runs its body on a quarter of the pixels (pixel-unshuffled input).
  EXPECT_LT(architecture_by_name("RealESRGAN_x2plus").macs_per_input_pixel(), rrdb / 3);
  EXPECT_DOUBLE_EQ(architecture_by_name("RealESRGAN_x2plus").macs_per_output_pixel(),
                   architecture_by_name("RealESRGAN_x2plus").macs_per_input_pixel() / 4);
}

TEST(ModelCost, TheJobsModelScalesTheCellsFrameTime) {
  World w;
  w.profile.cells["framing_ai"]["X"] = w.profile.cells["e"]["X"];  // 100 ms a frame, animevideov3
  JobShape job = w.job(100);
  job.endpoint = "framing_ai";
  const Estimate base = estimate(w.profile, w.prices, w.platform, job, "X", 1, false);
  job.model = "RealESRGAN_x4plus";
  const Estimate heavy = estimate(w.profile, w.prices, w.platform, job, "X", 1, false);
  const double ratio = reelscale::infer::architecture_by_name("RealESRGAN_x4plus").macs_per_output_pixel() / 38700.0;
  EXPECT_NEAR(heavy.compute_s / base.compute_s, ratio, 1e-6);
  // A cell measured with the heavy model needs no scaling for it.
  w.profile.cells["framing_ai"]["X"].model = "RealESRGAN_x4plus";
  EXPECT_NEAR(estimate(w.profile, w.prices, w.platform, job, "X", 1, false).compute_s, base.compute_s, 1e-9);
  EXPECT_NE(error_of([&] {
              json p = to_json(w.profile);
              p["endpoints"]["framing_ai"]["X"]["model"] = "my-net";
              parse_profile(p);
            }).find("endpoints.framing_ai.X.model"),
            std::string::npos);
}

// ---- one system's figures, with their sources --------------------------------------

TEST(Profiles, TheDefaultIsOurEngineAndTheOldSystemIsNeverMixedIn) {
  const Profile ours = default_profile();
  const Profile old = old_system_profile();
  EXPECT_EQ(ours.name, "reelscale");
  EXPECT_EQ(old.name, "old-system");
  EXPECT_FALSE(old.has("framing_ai", "CPU")) << "the old system had no CPU figure; ours is not mixed into its profile";
  for (const auto& [endpoint, cells] : ours.cells) {
    for (const auto& [hw, c] : cells) {
      EXPECT_EQ(c.frame_time.provenance.source.rfind("old system", 0), std::string::npos) << endpoint << " " << hw;
    }
  }
  // Our GPU estimate for animevideov3 at 810x1440 is CPU-bound (the network alone is a
  // few ms), two orders of magnitude below the old system's 681 ms on T4.
  EXPECT_LT(ours.cell("framing_ai", "T4").frame_time.ms_at_reference, 681.0 / 20);
  EXPECT_GE(ours.cell("framing_ai", "T4").frame_time.ms_at_reference, ours.cell("framing", "T4").frame_time.ms_at_reference);
  EXPECT_EQ(named_profile("old-system").name, "old-system");
  EXPECT_EQ(named_profile("").name, "reelscale");
  // The default plan for a 30 s framing_ai clip: a GPU, its model named, sources given, and
  // the mix of measured (CPU) and estimated (GPU) figures said out loud.
  const PriceTable prices = default_prices();
  const Platform platform;
  const Policy policy;
  const Planner planner(ours, prices, platform, policy);
  const PlanResult r = planner.plan(JobShape::of_length("framing_ai", 30));
  EXPECT_NE(r.chosen.hardware, "CPU") << r.reason;
  EXPECT_TRUE(r.mixed_provenance);
  bool model_named = false, warned = false, sourced = false;
  for (const std::string& n : r.notes) {
    model_named = model_named || n.find("model: realesr-animevideov3") != std::string::npos;
    warned = warned || n.find("different provenance") != std::string::npos;
    sourced = sourced || n.find("figures for T4: estimate") != std::string::npos;
  }
  EXPECT_TRUE(model_named && warned && sourced);
  // Only measured figures compared: no warning.
  Policy cpu_only = policy;
  cpu_only.allowed_hardware = {"CPU"};
  EXPECT_FALSE(Planner(ours, prices, platform, cpu_only).plan(JobShape::of_length("framing_ai", 30)).mixed_provenance);
}

TEST(ModelCost, AHeavierNetworkGrowsOnlyItsOwnStage) {
  FrameTime t;
  t.ms_at_reference = 16;
  t.network_ms = 2;
  t.cpu_side_ms = 16;
  EXPECT_DOUBLE_EQ(t.ms(810.0 * 1440.0), 16);
  EXPECT_DOUBLE_EQ(t.ms(810.0 * 1440.0, 4), 16) << "still CPU-bound";
  EXPECT_DOUBLE_EQ(t.ms(810.0 * 1440.0, 29), 58) << "now network-bound";
  EXPECT_DOUBLE_EQ(t.ms(405.0 * 720.0, 29), 58 / 4.0);
  FrameTime whole;
  whole.ms_at_reference = 600;
  EXPECT_DOUBLE_EQ(whole.ms(810.0 * 1440.0, 3), 1800) << "stages unknown: the factor scales the whole";
  // The default profile's T4 cell: animevideov3 is CPU-bound, RealESRGAN_x4plus is not.
  const Profile p = default_profile();
  const Cell& t4 = p.cell("framing_ai", "T4");
  const double heavy = Profile::model_factor(t4, "RealESRGAN_x4plus");
  EXPECT_DOUBLE_EQ(t4.frame_time.ms(810.0 * 1440.0), t4.frame_time.cpu_side_ms);
  EXPECT_NEAR(t4.frame_time.ms(810.0 * 1440.0, heavy), t4.frame_time.network_ms * heavy, 1e-9);
  EXPECT_GT(t4.frame_time.network_ms * heavy, t4.frame_time.cpu_side_ms);
}

// Found by fuzz/planner_inputs_fuzz: a field of the wrong JSON type ("kind": 2) escaped
// as a JSON-library exception.
TEST(Planner, FuzzFoundWrongTypesAreBadInput) {
  for (const auto& parse : std::vector<std::function<void()>>{
           [] { parse_platform(json{{"kind", 2}, {"cores", 4}}); },
           [] { parse_policy(json{{"objective", 2}}); },
           [] { parse_policy(json{{"time_percentile", false}}); },
           [] { parse_prices(json{{"currency", 1}, {"gpu_per_second", json::object()}, {"cpu_core_per_second", 0},
                                  {"memory_gib_per_second", 0}}); }}) {
    try {
      parse();
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kBadInput) << e.what();
    }
  }
}

TEST(Planner, JobSetupRoundTripsAndIsPartOfTheWallTime) {
  Profile p = default_local_profile();
  JobShape shape;
  shape.endpoint = "framing";
  shape.frames = 30;
  shape.fps = 30;
  shape.output_pixels = 1080.0 * 1920.0;
  const Platform local = Platform::local(2, 2);
  const double without = estimate(p, default_prices(), local, shape, "CPU", 1, false).wall_mean_s;
  p.job_setup = {0.5, 0.01, {"test", "2026-12-05", true}};
  const Estimate with = estimate(p, default_prices(), local, shape, "CPU", 1, false);
  EXPECT_NEAR(with.wall_mean_s - without, 0.5 + 30 * 0.01, 1e-9);
  EXPECT_NEAR(with.setup_s, 0.8, 1e-9);
  const Profile back = parse_profile(to_json(p));
  EXPECT_EQ(back.job_setup.base_s, 0.5);
  EXPECT_EQ(back.job_setup.per_frame_s, 0.01);
}
