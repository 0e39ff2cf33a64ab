// plan/planner.cpp — candidate search, objectives and the Pareto front.
#include "plan/planner.h"

#include "common/stopwatch.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>

#include "common/error.h"
#include "infer/sr_architecture.h"

namespace reelscale::plan {

namespace {
std::string money(double v) {
  std::ostringstream os;
  os.precision(v < 0.01 ? 3 : 4);
  os << "$" << v;
  return os.str();
}
std::string secs(double v) {
  std::ostringstream os;
  os.precision(3);
  os << v << " s";
  return os.str();
}
}  // namespace

class StartupTables {
 public:
  // The table for a cell, built on first use. Thread-safe.
  const MaxOfDraws& get(const std::string& endpoint, const std::string& hardware, const Cell& cell, int max_count) {
    std::lock_guard lock(mutex_);
    auto& slot = tables_[endpoint + "/" + hardware];
    if (!slot || slot->max_count() < max_count) {
      slot = std::make_unique<MaxOfDraws>(cell.warm_start_s, cell.cold_start_s, std::max(max_count, 16));
    }
    return *slot;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<MaxOfDraws>> tables_;
};

namespace {

// Calls f with the estimate of every (hardware, chunks, container cores, encoder) the
// planner may choose for `job`: hardware by hardware, 1..n_max chunks, each core count a GPU
// container may hold where the cell knows its CPU side by cores, and for an "auto" encoder
// x264 and, where the GPU has one, NVENC.
template <class F>
void each_candidate(const Planner& planner, StartupTables& tables, const JobShape& job,
                    const std::vector<std::string>& hws, int n_max, F&& f) {
  for (const std::string& hw : hws) {
    const Cell& cell = planner.profile.cell(job.endpoint, hw);
    const MaxOfDraws& startups = tables.get(job.endpoint, hw, cell, n_max);
    const std::vector<double> core_options = container_core_options(planner.prices, cell, hw);
    for (const std::string& encoder : encoder_options(job, hw)) {
      JobShape shape = job;
      shape.encoder = encoder;
      for (int n = 1; n <= n_max; ++n) {
        for (const double cores : core_options) {
          f(estimate(planner.profile, planner.prices, planner.platform, shape, hw, n, planner.policy.adaptive,
                     &startups, cores));
        }
      }
    }
  }
}

}  // namespace

Planner::Planner(const Profile& profile, const PriceTable& prices, const Platform& platform, const Policy& policy)
    : Planner(profile, prices, platform, policy, std::make_shared<StartupTables>()) {}

Planner::Planner(const Profile& profile, const PriceTable& prices, const Platform& platform, const Policy& policy,
                 std::shared_ptr<StartupTables> tables)
    : profile(profile), prices(prices), platform(platform), policy(policy), tables_(std::move(tables)) {}

Planner Planner::with_platform(const Platform& other) const {
  return Planner(profile, prices, other, policy, tables_);
}

std::vector<std::string> Planner::hardware(const std::string& endpoint) const {
  std::vector<std::string> out;
  for (const std::string& hw : profile.hardware_for(endpoint)) {
    if (!prices.known(hw)) continue;
    if (!policy.allowed_hardware.empty() && std::find(policy.allowed_hardware.begin(), policy.allowed_hardware.end(),
                                                      hw) == policy.allowed_hardware.end()) {
      continue;
    }
    out.push_back(hw);
  }
  return out;
}

int Planner::max_chunks(const JobShape& job) const {
  const int64_t by_frames = std::max<int64_t>(1, job.frames / std::max(1, policy.min_frames_per_chunk));
  return static_cast<int>(std::min<int64_t>({by_frames, policy.max_parallel, platform.max_containers, job.frames}));
}

namespace {

// Orders by the policy's time, then cost, then fewer chunks.
struct Faster {
  bool p90;
  bool operator()(const Estimate& a, const Estimate& b) const {
    if (a.time(p90) != b.time(p90)) return a.time(p90) < b.time(p90);
    if (a.cost != b.cost) return a.cost < b.cost;
    return a.chunks < b.chunks;
  }
};
// Orders by cost, then the policy's time, then fewer chunks.
struct Cheaper {
  bool p90;
  bool operator()(const Estimate& a, const Estimate& b) const {
    if (a.cost != b.cost) return a.cost < b.cost;
    if (a.time(p90) != b.time(p90)) return a.time(p90) < b.time(p90);
    return a.chunks < b.chunks;
  }
};

}  // namespace

Estimate Planner::choose(const JobShape& job) const {
  const std::vector<std::string> hws = hardware(job.endpoint);
  if (hws.empty()) fail(ErrorKind::kBadInput, "no hardware is allowed for " + job.endpoint);
  const int n_max = max_chunks(job);
  const bool p90 = policy.use_p90;
  const Objective objective = policy.objective_for(platform);
  // The fastest rule prefers fewer chunks within 1 % of the fastest: plan() has it whole.
  if (objective == Objective::kFastest || objective == Objective::kAuto) return plan(job).chosen;
  // Track the objective's best and, for infeasible policies, the closest (ties broken as
  // plan() breaks them: time then cost, or cost then time).
  Estimate best, closest;
  bool have_best = false, have_closest = false;
  double min_cost = INFINITY, min_time = INFINITY;
  std::vector<Estimate> all;
  if (objective == Objective::kBalanced) all.reserve(hws.size() * n_max);
  each_candidate(*this, *tables_, job, hws, n_max, [&](Estimate e) {
    const double t = e.time(p90);
    switch (objective) {
      case Objective::kAuto:
      case Objective::kFastest:
        break;  // handled above
      case Objective::kCheapestWithinDeadline:
        if (t <= policy.deadline_s &&
            (!have_best || e.cost < best.cost || (e.cost == best.cost && t < best.time(p90)))) {
          best = e;
          have_best = true;
        }
        if (!have_closest || Faster{p90}(e, closest)) {
          closest = e;
          have_closest = true;
        }
        break;
      case Objective::kFastestWithinBudget:
        if (e.cost <= policy.budget_usd &&
            (!have_best || t < best.time(p90) || (t == best.time(p90) && e.cost < best.cost))) {
          best = e;
          have_best = true;
        }
        if (!have_closest || Cheaper{p90}(e, closest)) {
          closest = e;
          have_closest = true;
        }
        break;
      case Objective::kBalanced:
        min_cost = std::min(min_cost, e.cost);
        min_time = std::min(min_time, t);
        all.push_back(std::move(e));
        break;
    }
  });
  if (objective == Objective::kBalanced) {
    auto score = [&](const Estimate& e) {
      return policy.weight * e.cost / std::max(min_cost, 1e-12) +
             (1 - policy.weight) * e.time(p90) / std::max(min_time, 1e-9);
    };
    const Estimate* b = &all.front();
    for (const Estimate& e : all) {
      if (score(e) < score(*b) - 1e-12) b = &e;
    }
    return *b;
  }
  return have_best ? best : closest;
}

namespace {

// Sorted by time, each candidate cheaper than everything faster.
std::vector<Estimate> pareto_front(const std::vector<Estimate>& candidates, bool p90) {
  std::vector<Estimate> by_time = candidates;
  std::sort(by_time.begin(), by_time.end(), Faster{p90});
  std::vector<Estimate> front;
  double best_cost = INFINITY;
  for (const Estimate& e : by_time) {
    if (e.cost < best_cost - 1e-12) {
      front.push_back(e);
      best_cost = e.cost;
    }
  }
  return front;
}

// The fastest; among choices within 1 % of it, the one with fewer chunks (less join and
// pre-roll risk for no real gain).
void choose_fastest(const Policy& policy, PlanResult& r) {
  const bool p90 = policy.use_p90;
  const Estimate* fastest = &*std::min_element(r.candidates.begin(), r.candidates.end(), Faster{p90});
  const Estimate* best = fastest;
  for (const Estimate& e : r.candidates) {
    if (e.time(p90) <= fastest->time(p90) * 1.01 && e.chunks < best->chunks) best = &e;
  }
  r.feasible = true;
  r.chosen = *best;
  r.reason = "fastest (" + std::string(p90 ? "p90 " : "mean ") + secs(best->time(p90)) + ")";
  if (best != fastest) r.reason += ", with fewer chunks than " + fastest->label() + " for under 1 % more time";
}

// Which platform model the estimate came from, in words, before the objective's reason.
std::string platform_text(const Platform& platform, const Estimate& e) {
  if (!platform.is_local()) {
    return "serverless price model (per-second billing, cold starts, a " + secs(platform.scale_down_window_s) +
           " idle tail x " + std::to_string(platform.idle_tail_share).substr(0, 4) + "): ";
  }
  std::ostringstream os;
  os.precision(3);
  os << "local model: " << platform.local_slots << " owned slot(s) on " << platform.local_cores
     << " core(s), already running — no billing, no idle tail, no cold start beyond opening the "
        "model ("
     << secs(e.startup_mean_s) << "); " << e.chunks << " chunk(s), " << e.concurrent << " at once on "
     << e.threads_per_chunk << " thread(s) each; " << e.core_seconds << " core-seconds (cloud-equivalent "
     << money(e.cloud_equivalent_usd) << "): ";
  return os.str();
}

void choose_cheapest_within_deadline(const Policy& policy, PlanResult& r) {
  const bool p90 = policy.use_p90;
  const std::string metric = p90 ? "p90" : "mean";
  const Estimate* best = nullptr;
  for (const Estimate& e : r.candidates) {
    if (e.time(p90) <= policy.deadline_s && (!best || Cheaper{p90}(e, *best))) best = &e;
  }
  if (best) {
    r.feasible = true;
    r.chosen = *best;
    r.reason = "cheapest (" + money(best->cost) + ") of the choices that finish within the " + secs(policy.deadline_s) +
               " deadline (" + metric + " " + secs(best->time(p90)) + ")";
    return;
  }
  r.chosen = *std::min_element(r.candidates.begin(), r.candidates.end(), Faster{p90});
  r.reason = "infeasible: nothing finishes within the " + secs(policy.deadline_s) + " deadline; the fastest, " +
             r.chosen.label() + ", takes " + secs(r.chosen.time(p90)) + " (" + metric + ")";
}

void choose_fastest_within_budget(const Policy& policy, PlanResult& r) {
  const bool p90 = policy.use_p90;
  const std::string metric = p90 ? "p90" : "mean";
  const Estimate* best = nullptr;
  for (const Estimate& e : r.candidates) {
    if (e.cost <= policy.budget_usd && (!best || Faster{p90}(e, *best))) best = &e;
  }
  if (best) {
    r.feasible = true;
    r.chosen = *best;
    r.reason = "fastest (" + metric + " " + secs(best->time(p90)) + ") of the choices within the " +
               money(policy.budget_usd) + " budget (" + money(best->cost) + ")";
    return;
  }
  r.chosen = *std::min_element(r.candidates.begin(), r.candidates.end(), Cheaper{p90});
  r.reason = "infeasible: nothing fits the " + money(policy.budget_usd) + " budget; the cheapest, " + r.chosen.label() +
             ", costs " + money(r.chosen.cost);
}

void choose_balanced(const Policy& policy, PlanResult& r) {
  const bool p90 = policy.use_p90;
  double min_cost = INFINITY, min_time = INFINITY;
  for (const Estimate& e : r.candidates) {
    min_cost = std::min(min_cost, e.cost);
    min_time = std::min(min_time, e.time(p90));
  }
  auto score = [&](const Estimate& e) {
    return policy.weight * e.cost / std::max(min_cost, 1e-12) +
           (1 - policy.weight) * e.time(p90) / std::max(min_time, 1e-9);
  };
  const Estimate* best = &r.candidates.front();
  for (const Estimate& e : r.candidates) {
    if (score(e) < score(*best) - 1e-12) best = &e;
  }
  r.feasible = true;
  r.chosen = *best;
  std::ostringstream os;
  os.precision(3);
  os << "best balance (score " << score(*best) << " = " << policy.weight << " x cost/cheapest + " << 1 - policy.weight
     << " x time/fastest)";
  r.reason = os.str();
}

}  // namespace

namespace {

std::string provenance_kind(const Provenance& p) {
  if (p.measured_by_us) return "measured by us";
  if (p.source.rfind("old system", 0) == 0) return "the old system's";
  return "estimated";
}

}  // namespace

FigureNotes figure_notes(const Profile& profile, const JobShape& job, const std::vector<std::string>& hardware) {
  FigureNotes notes;
  if (job.endpoint == "framing_ai") {
    const std::string model = !job.model.empty() ? job.model : "realesr-animevideov3";
    std::ostringstream os;
    os.precision(3);
    os << "model: " << model;
    if (infer::is_known_architecture(model)) {
      const infer::SrArchitecture a = infer::architecture_by_name(model);
      os << " (" << a.describe() << ", " << a.macs_per_input_pixel() / 1e3 << " k multiply-adds per input pixel)";
    }
    notes.lines.push_back(os.str());
  }
  std::map<std::string, std::vector<std::string>> by_kind;
  for (const std::string& hw : hardware) {
    const Cell& c = profile.cell(job.endpoint, hw);
    by_kind[provenance_kind(c.frame_time.provenance)].push_back(hw);
    notes.lines.push_back("figures for " + hw + ": " + c.frame_time.provenance.source +
                          (c.frame_time.provenance.date.empty() ? "" : " (" + c.frame_time.provenance.date + ")"));
    if (c.frame_time.stages.known()) {
      const std::string fallback = c.frame_time.stages.fallback_note(frame_work(job, c));
      notes.lines.push_back("per-stage frame cost for " + hw + " (decode, process, encode: " +
                            c.frame_time.stages.provenance.source + ")" + (fallback.empty() ? "" : "; " + fallback));
    }
  }
  if (by_kind.size() > 1) {
    notes.mixed = true;
    std::string warning = "WARNING: the candidates rest on figures of different provenance:";
    for (const auto& [kind, hws] : by_kind) {
      warning += " " + kind + " (";
      for (size_t i = 0; i < hws.size(); ++i) warning += (i ? ", " : "") + hws[i];
      warning += ");";
    }
    warning.back() = '.';
    notes.lines.insert(notes.lines.begin(), warning + " Measure with `reelscale profile` to compare like with like.");
  }
  return notes;
}

PlanResult Planner::plan(const JobShape& job) const {
  const Stopwatch clock;
  PlanResult r;
  const std::vector<std::string> hws = hardware(job.endpoint);
  if (hws.empty()) {
    fail(ErrorKind::kBadInput, "no hardware is allowed for " + job.endpoint +
                                   " (check the policy's allowed_hardware, "
                                   "the profile and the price table)");
  }
  const int n_max = max_chunks(job);
  r.candidates.reserve(hws.size() * n_max);
  each_candidate(*this, *tables_, job, hws, n_max, [&](Estimate e) { r.candidates.push_back(std::move(e)); });
  r.pareto = pareto_front(r.candidates, policy.use_p90);
  switch (policy.objective_for(platform)) {
    case Objective::kAuto:
    case Objective::kFastest:
      choose_fastest(policy, r);
      break;
    case Objective::kCheapestWithinDeadline:
      choose_cheapest_within_deadline(policy, r);
      break;
    case Objective::kFastestWithinBudget:
      choose_fastest_within_budget(policy, r);
      break;
    case Objective::kBalanced:
      choose_balanced(policy, r);
      break;
  }
  r.reason = platform_text(platform, r.chosen) + r.reason;
  const FigureNotes notes = figure_notes(profile, job, hws);
  r.notes = notes.lines;
  r.mixed_provenance = notes.mixed;
  r.planning_ms = 1000 * clock.seconds();
  return r;
}

}  // namespace reelscale::plan
