// bench/plan_bench.cpp — how fast the planner decides (a plan must take under 1 ms) and
// how fast a simulated day runs (10,000 jobs in under 1 s). Prints Markdown rows.
#include <chrono>
#include <cstdio>

#include "plan/planner.h"
#include "plan/report.h"
#include "plan/simulator.h"
#include "plan/thresholds.h"

using namespace reelscale::plan;
using Clock = std::chrono::steady_clock;

namespace {
template <typename F>
double best_ms(int reps, int inner, F&& f) {
  double best = 1e18;
  for (int r = 0; r < reps; ++r) {
    const auto t = Clock::now();
    for (int i = 0; i < inner; ++i) f();
    best = std::min(best, std::chrono::duration<double, std::milli>(Clock::now() - t).count() / inner);
  }
  return best;
}
}  // namespace

int main() {
  const Profile profile = default_profile();
  const PriceTable prices = default_prices();
  const Platform platform;
  Policy policy;
  const Planner planner(profile, prices, platform, policy);
  const JobShape job = JobShape::of_length("framing_ai", 30);
  const size_t candidates = planner.plan(job).candidates.size();
  std::printf("| what | ms (best of 5) |\n|---|---|\n");
  std::printf("| plan(): 30 s framing_ai, %zu candidates (10 hardware types x N = 1..16), with Pareto front | %.3f |\n",
              candidates, best_ms(5, 200, [&] { planner.plan(job); }));
  std::printf("| choose(): the same decision without the candidate list | %.3f |\n",
              best_ms(5, 200, [&] { planner.choose(job); }));
  Policy adaptive_policy = policy;
  adaptive_policy.adaptive = true;
  Platform warm = platform;
  warm.warm_idle = {{"T4", 3}, {"CPU", 5}};
  const Planner adaptive = Planner(profile, prices, warm, adaptive_policy);
  std::printf("| choose(), adaptive, with a warm pool | %.3f |\n", best_ms(5, 200, [&] { adaptive.choose(job); }));
  std::printf("| thresholds sweep 0.5-600 s (exact break-evens) | %.1f |\n",
              best_ms(3, 1, [&] { sweep_thresholds(planner, "framing_ai"); }));
  Workload w;
  w.hourly = Workload::default_hourly();
  w.jobs_per_day = 10000;
  const ThresholdTable table = sweep_thresholds(planner, "framing_ai");
  SimulationResult r;
  std::printf("| simulate a day, 10,000 jobs, fixed threshold table | %.1f |\n",
              best_ms(3, 1, [&] { r = simulate(profile, prices, platform, w, table_decider(table)); }));
  std::printf("| simulate a day, 10,000 jobs, planner per job | %.1f |\n",
              best_ms(3, 1, [&] { r = simulate(profile, prices, platform, w, planner_decider(planner)); }));
  const Planner adaptive_planner(profile, prices, platform, adaptive_policy);
  std::printf("| simulate a day, 10,000 jobs, adaptive planner per job | %.1f (%lld jobs) |\n",
              best_ms(3, 1, [&] { r = simulate(profile, prices, platform, w, planner_decider(adaptive_planner)); }),
              static_cast<long long>(r.jobs));
  return 0;
}
