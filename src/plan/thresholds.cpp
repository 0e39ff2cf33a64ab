// plan/thresholds.cpp — the length sweep, exact break-evens and their explanations.
#include "plan/thresholds.h"

#include <cmath>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

namespace reelscale::plan {

namespace {

struct Choice {
  std::string hardware;
  int chunks = 0;
  bool feasible = false;
  bool operator==(const Choice& o) const { return hardware == o.hardware && chunks == o.chunks && feasible == o.feasible; }
};

std::string fmt(double v, int precision = 3) {
  std::ostringstream os;
  os << std::setprecision(precision) << v;
  return os.str();
}

std::string explain(const Planner& planner, const JobShape& job, const PlanResult& before_plan, const PlanResult& now) {
  const Policy& policy = planner.policy;
  const bool p90 = policy.use_p90;
  const std::string metric = p90 ? "p90 " : "mean ";
  // The previous choice evaluated at this length.
  const Estimate old = estimate(planner.profile, planner.prices, planner.platform, job, before_plan.chosen.hardware,
                                std::min(before_plan.chosen.chunks, static_cast<int>(job.frames)), policy.adaptive);
  const Estimate& neu = now.chosen;
  std::ostringstream os;
  if (!now.feasible) {
    os << "nothing meets the policy from here; " << neu.label() << " comes closest";
    return os.str();
  }
  switch (policy.objective_for(planner.platform)) {
    case Objective::kAuto:
    case Objective::kFastest:
      os << neu.label() << " becomes faster than " << old.label() << " (" << metric << fmt(neu.time(p90)) << " s vs "
         << fmt(old.time(p90)) << " s)";
      break;
    case Objective::kCheapestWithinDeadline:
      if (old.time(p90) > policy.deadline_s) {
        os << old.label() << " would miss the " << fmt(policy.deadline_s) << " s deadline (" << metric
           << fmt(old.time(p90)) << " s); " << neu.label() << " meets it (" << metric << fmt(neu.time(p90)) << " s) for $"
           << fmt(neu.cost, 4);
      } else {
        os << neu.label() << " becomes cheaper than " << old.label() << " ($" << fmt(neu.cost, 4) << " vs $"
           << fmt(old.cost, 4) << ")";
      }
      break;
    case Objective::kFastestWithinBudget:
      if (old.cost > policy.budget_usd) {
        os << old.label() << " would exceed the $" << fmt(policy.budget_usd) << " budget ($" << fmt(old.cost, 4) << "); "
           << neu.label() << " fits ($" << fmt(neu.cost, 4) << ")";
      } else {
        os << neu.label() << " becomes faster than " << old.label() << " (" << metric << fmt(neu.time(p90)) << " s vs "
           << fmt(old.time(p90)) << " s) within the budget";
      }
      break;
    case Objective::kBalanced:
      os << neu.label() << " balances cost and time better than " << old.label() << " ($" << fmt(neu.cost, 4) << ", "
         << fmt(neu.time(p90)) << " s vs $" << fmt(old.cost, 4) << ", " << fmt(old.time(p90)) << " s)";
      break;
  }
  return os.str();
}

}  // namespace

ThresholdTable sweep_thresholds(const Planner& planner, const std::string& endpoint, double min_s, double max_s,
                                double fps, double pixels, const std::string& model) {
  ThresholdTable t;
  t.endpoint = endpoint;
  const std::vector<std::string> hws = planner.hardware(endpoint);
  if (!hws.empty()) {
    const FigureNotes notes = figure_notes(planner.profile, JobShape::of_length(endpoint, 1, fps, pixels, model), hws);
    t.notes = notes.lines;
    t.mixed_provenance = notes.mixed;
  }
  t.policy = planner.policy.describe();
  t.fps = fps;
  auto job_of = [&](int64_t frames) {
    JobShape j = JobShape::of_length(endpoint, 1, fps, pixels, model);
    j.frames = frames;
    return j;
  };
  auto choice_of = [&](const PlanResult& r) { return Choice{r.chosen.hardware, r.chosen.chunks, r.feasible}; };
  // Geometric grid over frame counts, then bisection between grid points that differ.
  const int64_t f_min = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(min_s * fps)));
  const int64_t f_max = std::max<int64_t>(f_min, static_cast<int64_t>(std::ceil(max_s * fps)));
  std::vector<int64_t> grid;
  for (double f = static_cast<double>(f_min); f < f_max; f *= 1.06) {
    const int64_t v = static_cast<int64_t>(std::llround(f));
    if (grid.empty() || v > grid.back()) grid.push_back(v);
  }
  grid.push_back(f_max);

  PlanResult prev = planner.plan(job_of(grid.front()));
  ThresholdRow row{grid.front() / fps, INFINITY, prev.chosen.hardware, prev.chosen.chunks, prev.feasible, prev.chosen.cost,
                   prev.chosen.time(planner.policy.use_p90), "shortest clips"};
  int64_t prev_frames = grid.front();
  for (size_t g = 1; g < grid.size(); ++g) {
    PlanResult cur = planner.plan(job_of(grid[g]));
    if (choice_of(cur) == choice_of(prev)) {
      prev = std::move(cur);
      prev_frames = grid[g];
      continue;
    }
    // Bisect (prev_frames, grid[g]] for the first frame count where the choice changes.
    int64_t lo = prev_frames, hi = grid[g];
    PlanResult at_hi = cur;
    while (hi - lo > 1) {
      const int64_t mid = lo + (hi - lo) / 2;
      PlanResult m = planner.plan(job_of(mid));
      if (choice_of(m) == choice_of(prev)) {
        lo = mid;
      } else {
        hi = mid;
        at_hi = std::move(m);
      }
    }
    row.to_s = hi / fps;
    t.rows.push_back(row);
    row = ThresholdRow{hi / fps, INFINITY, at_hi.chosen.hardware, at_hi.chosen.chunks, at_hi.feasible, at_hi.chosen.cost,
                       at_hi.chosen.time(planner.policy.use_p90), explain(planner, job_of(hi), prev, at_hi)};
    prev = std::move(at_hi);
    prev_frames = hi;
    // Re-scan from the break-even: the grid point may hide more changes.
    while (g < grid.size() && grid[g] <= hi) ++g;
    --g;
  }
  t.rows.push_back(row);
  if (!t.rows.empty()) t.rows.front().from_s = 0;
  return t;
}

nlohmann::json to_json(const ThresholdTable& t) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : t.rows) {
    rows.push_back({{"from_s", r.from_s}, {"to_s", std::isinf(r.to_s) ? nlohmann::json(nullptr) : nlohmann::json(r.to_s)},
                    {"hardware", r.hardware}, {"chunks", r.chunks}, {"feasible", r.feasible},
                    {"cost_usd_at_from", r.cost_at_from}, {"time_s_at_from", r.time_at_from}, {"why", r.why}});
  }
  return {{"endpoint", t.endpoint}, {"policy", t.policy}, {"fps", t.fps}, {"rows", rows}, {"notes", t.notes},
          {"mixed_provenance", t.mixed_provenance}};
}

std::string to_python(const ThresholdTable& t) {
  std::ostringstream os;
  os << "# reelscale thresholds for " << t.endpoint << ": " << t.policy << "\n";
  os << "# clip seconds [from, to) -> hardware and number of chunks (parallel containers)\n";
  os << "CHUNK_THRESHOLDS = {\n";
  for (const auto& r : t.rows) {
    os << "    (" << fmt(r.from_s, 6) << ", " << (std::isinf(r.to_s) ? "float(\"inf\")" : fmt(r.to_s, 6)) << "): {\"gpu\": \""
       << r.hardware << "\", \"chunks\": " << r.chunks << (r.feasible ? "" : ", \"meets_policy\": False") << "},\n";
  }
  os << "}\n";
  return os.str();
}

std::string to_text(const ThresholdTable& t) {
  std::ostringstream os;
  os << "thresholds for " << t.endpoint << " (" << t.policy << ")\n";
  for (const std::string& n : t.notes) os << "  " << n << "\n";
  os << "\n";
  os << std::left << std::setw(22) << "clip length" << std::setw(14) << "hardware" << std::setw(8) << "chunks"
     << std::setw(12) << "cost $" << std::setw(10) << "time s" << "break-even\n";
  for (const auto& r : t.rows) {
    std::string range = fmt(r.from_s, 4) + " - " + (std::isinf(r.to_s) ? std::string("...") : fmt(r.to_s, 4)) + " s";
    os << std::left << std::setw(22) << range << std::setw(14) << r.hardware << std::setw(8) << r.chunks << std::setw(12)
       << fmt(r.cost_at_from, 4) << std::setw(10) << fmt(r.time_at_from, 4) << (r.feasible ? "" : "[infeasible] ")
       << r.why << "\n";
  }
  return os.str();
}

}  // namespace reelscale::plan
