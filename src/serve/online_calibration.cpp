// serve/online_calibration.cpp — refitting the profile from records and judging the refit.
#include "serve/online_calibration.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "plan/calibrate.h"
#include "plan/cost_model.h"

namespace reelscale::serve {

namespace {

double measured_seconds(const record::JobRecord& r) {
  auto it = r.timings_s.find("total");
  return it == r.timings_s.end() ? 0 : it->second;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The records of each cell with enough of them, the extremes (by measured / predicted
// under `current`) trimmed off.
std::vector<record::JobRecord> trimmed(const plan::Profile& current, const std::vector<record::JobRecord>& records,
                                       const CalibrationPolicy& policy) {
  std::map<std::pair<std::string, std::string>, std::vector<std::pair<double, const record::JobRecord*>>> cells;
  for (const auto& r : records) {
    if (!current.has(r.endpoint, r.hardware)) continue;
    const double predicted = predicted_seconds(current, r);
    if (predicted > 0) cells[{r.endpoint, r.hardware}].push_back({measured_seconds(r) / predicted, &r});
  }
  std::vector<record::JobRecord> out;
  for (auto& [cell, ratios] : cells) {
    std::sort(ratios.begin(), ratios.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    const size_t cut = static_cast<size_t>(std::floor(policy.trim_share * static_cast<double>(ratios.size())));
    if (ratios.size() < 2 * cut + static_cast<size_t>(policy.min_records_per_cell)) continue;
    for (size_t i = cut; i + cut < ratios.size(); ++i) out.push_back(*ratios[i].second);
  }
  return out;
}

}  // namespace

double predicted_seconds(const plan::Profile& profile, const record::JobRecord& r, bool at_planned_speed) {
  if (!profile.has(r.endpoint, r.hardware) || r.chunks < 1) return 0;
  plan::Platform platform = plan::default_platform();
  if (r.plan && r.plan->platform_model == "local" && r.plan->concurrent > 0) {
    platform = plan::Platform::local(r.plan->concurrent, r.plan->concurrent * std::max(1, r.plan->threads_per_chunk));
    if (at_planned_speed) platform.local_speed = r.plan->local_speed;
  }
  // Billed: the chunks the plan started warm, as the warm pool it saw.
  const bool warm_pool = r.plan && !platform.is_local() && r.plan->warm_chunks > 0;
  if (warm_pool) platform.warm_idle[r.hardware] = r.plan->warm_chunks;
  const plan::PriceTable prices = plan::default_prices();
  double sample_s = 0;
  if (r.plan) {
    const auto it = r.plan->breakdown_s.find("content_sample");
    if (it != r.plan->breakdown_s.end()) sample_s = it->second;
  }
  return plan::estimate(profile, prices, platform, plan::job_shape_of(r), r.hardware, r.chunks, warm_pool).wall_mean_s + sample_s;
}

double prediction_error(const plan::Profile& profile, const std::vector<record::JobRecord>& records) {
  std::vector<double> errors;
  for (const auto& r : records) {
    const double predicted = predicted_seconds(profile, r), measured = measured_seconds(r);
    if (predicted > 0 && measured > 0) errors.push_back(std::abs(measured / predicted - 1));
  }
  return median(errors);
}

// A typical move, not the largest: the largest also counts a refit's own error on one
// record, so a right 25x refit read as 33x on a loaded machine (CI, 2026-12-08).
double typical_shift(const plan::Profile& a, const plan::Profile& b, const std::vector<record::JobRecord>& records) {
  double log_sum = 0;
  int counted = 0;
  for (const auto& r : records) {
    const double pa = predicted_seconds(a, r), pb = predicted_seconds(b, r);
    if (pa <= 0 || pb <= 0) continue;
    log_sum += std::abs(std::log(pa / pb));
    ++counted;
  }
  return counted == 0 ? 1.0 : std::exp(log_sum / counted);
}

// How far this view's predictions under `profile` are from the plans the records were made
// with under that same profile (median |reproduced / recorded - 1|), over how many.
struct Reproduction {
  int records = 0;
  double error = 0;
};
Reproduction reproduction(const plan::Profile& profile, const std::vector<record::JobRecord>& records) {
  std::vector<double> errors;
  for (const auto& r : records) {
    if (!r.plan || r.plan->profile_version != profile.version() || r.plan->wall_mean_s <= 0) continue;
    const double reproduced = predicted_seconds(profile, r, true);
    if (reproduced > 0) errors.push_back(std::abs(reproduced / r.plan->wall_mean_s - 1));
  }
  return {static_cast<int>(errors.size()), median(errors)};
}

// What the refit's figures still miss on the records it was fitted to, as one constant in
// the job set-up (never taking it below 0): of no change and each record's residual
// (measured less predicted), the one that leaves the smallest median relative error on
// those records, the measure the refit is judged by. A constant chosen by absolute
// residuals would follow the longest jobs and overcharge every short one. Returns the
// seconds added.
double remove_bias(plan::Profile& candidate, const std::vector<record::JobRecord>& fitted) {
  std::vector<std::pair<double, double>> timed;  // measured, predicted
  for (const auto& r : fitted) {
    const double predicted = predicted_seconds(candidate, r), measured = measured_seconds(r);
    if (predicted > 0 && measured > 0) timed.push_back({measured, predicted});
  }
  const double before = candidate.job_setup.base_s;
  const auto error_with = [&](double added) {
    std::vector<double> errors;
    for (const auto& [measured, predicted] : timed) errors.push_back(std::abs(measured / std::max(1e-9, predicted + added) - 1));
    return median(errors);
  };
  double best = 0, best_error = error_with(0);
  for (const auto& [measured, predicted] : timed) {
    const double added = std::max(-before, measured - predicted);
    const double e = error_with(added);
    if (e < best_error || (e == best_error && std::abs(added) < std::abs(best))) best = added, best_error = e;
  }
  candidate.job_setup.base_s = before + best;
  return best;
}

std::string percent(double share) { return std::to_string(static_cast<int>(std::lround(share * 100))) + " %"; }

std::string one_in(double chance) {
  return "1 in " + std::to_string(static_cast<long>(std::lround(1 / std::max(chance, 1e-12))));
}

std::string factor_text(double x) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1fx", x);
  return text;
}

double sign_test_chance(int wins, int n) {
  if (wins <= 0 || n <= 0) return 1;
  if (wins > n) return 0;
  // C(n, k) / 2^n summed for k >= wins, each term from the last (exact for any n here).
  double term = std::pow(0.5, n), sum = 0;
  for (int k = 0; k <= n; ++k) {
    if (k >= wins) sum += term;
    term = term * (n - k) / (k + 1);
  }
  return std::min(1.0, sum);
}

namespace {

// The held-back records a refit predicts better than the profile in use, of those where
// the two differ.
std::pair<int, int> wins_over(const plan::Profile& candidate, const plan::Profile& current,
                              const std::vector<record::JobRecord>& judge) {
  int wins = 0, decided = 0;
  for (const auto& r : judge) {
    const double measured = measured_seconds(r), a = predicted_seconds(candidate, r), b = predicted_seconds(current, r);
    if (measured <= 0 || a <= 0 || b <= 0) continue;
    const double ea = std::abs(measured / a - 1), eb = std::abs(measured / b - 1);
    if (ea == eb) continue;
    ++decided;
    if (ea < eb) ++wins;
  }
  return {wins, decided};
}

// The verdict: better than both profiles by the margin, and, the further it moves, won on
// more held-back records (the sign test's chance at most far_move_chance / shift).
void judge_refit(CalibrationDecision& d, const plan::Profile& current, const std::vector<record::JobRecord>& judge,
                 const CalibrationPolicy& policy) {
  const double bar = std::min(d.current_error, d.base_error) * (1 - policy.min_gain);
  d.shift = typical_shift(d.candidate, current, judge);
  const auto [wins, decided] = wins_over(d.candidate, current, judge);
  d.held_back_won = wins;
  d.chance = sign_test_chance(wins, decided);
  const double allowed = policy.far_move_chance / d.shift;
  const bool better = d.candidate_error < bar;
  const bool enough_evidence = d.chance <= allowed;
  d.switch_to_candidate = better && enough_evidence;
  d.reason = std::string(d.switch_to_candidate ? "switched to " : "kept the profile in use over ") +
             d.candidate.version() + ": median error on the " + std::to_string(judge.size()) +
             " most recent records " + percent(d.candidate_error) + " refit from " + std::to_string(d.fitted_records) +
             ", " + percent(d.current_error) + " in use, " + percent(d.base_error) + " base (a refit must be " +
             percent(policy.min_gain) + " better than both); it moves a typical held-back record's prediction " +
             factor_text(d.shift) + " and predicts " + std::to_string(wins) + " of " + std::to_string(decided) +
             " held-back records better than the profile in use (by chance: " + one_in(d.chance) + ")";
  if (better && !enough_evidence) {
    d.reason += ", a move that far needs " + one_in(allowed) + " or rarer: more held-back records will tell";
  }
}

}  // namespace

CalibrationDecision consider_recalibration(const plan::Profile& current, const plan::Profile& base,
                                           const std::vector<record::JobRecord>& recent, const CalibrationPolicy& policy,
                                           const std::string& date, int refit_number) {
  CalibrationDecision d;
  d.candidate = current;
  const size_t n = recent.size();
  const size_t held = std::min(n, std::max<size_t>(2, static_cast<size_t>(std::ceil(policy.held_back_share * n))));
  const std::vector<record::JobRecord> fit(recent.begin(), recent.end() - static_cast<std::ptrdiff_t>(held));
  const std::vector<record::JobRecord> judge(recent.end() - static_cast<std::ptrdiff_t>(held), recent.end());
  const Reproduction seen = reproduction(current, recent);
  if (seen.records == 0) {
    d.reason = "no refit: none of the " + std::to_string(n) + " recent records was planned with the profile in use (" +
               current.version() + ")";
    return d;
  }
  if (seen.error > policy.max_reproduction_error) {
    d.reason = "no refit: predicting the records under the profile in use (" + current.version() + ") is " +
               percent(seen.error) + " off the plans they were made with, so it is not the view they were planned in";
    return d;
  }
  const std::vector<record::JobRecord> used = trimmed(current, fit, policy);
  d.fitted_records = static_cast<int>(used.size());
  d.held_back_records = static_cast<int>(judge.size());
  if (used.empty()) {
    d.reason = "no cell has " + std::to_string(policy.min_records_per_cell) + " records to fit beyond those held back";
    return d;
  }
  d.changes = plan::calibrate(d.candidate, used, date).changes;
  const double bias = remove_bias(d.candidate, used);
  d.changes.push_back("job set-up corrected by " + std::to_string(bias) + " s (the constant that best centres the fitted records)");
  d.candidate.name = base.name;
  const std::string base_version = base.version();
  d.candidate.declared_version = base_version.substr(0, base_version.find(".r")) + ".r" + std::to_string(refit_number);
  d.current_error = prediction_error(current, judge);
  d.base_error = prediction_error(base, judge);
  d.candidate_error = prediction_error(d.candidate, judge);
  judge_refit(d, current, judge, policy);
  return d;
}

bool switch_made_things_worse(const plan::Profile& in_use, const plan::Profile& replaced,
                              const std::vector<record::JobRecord>& since_switch, std::string& why) {
  const double now = prediction_error(in_use, since_switch), before = prediction_error(replaced, since_switch);
  why = "on the " + std::to_string(since_switch.size()) + " records since the switch, median error " + percent(now) +
        " with " + in_use.version() + ", " + percent(before) + " with " + replaced.version();
  return now > before;
}

}  // namespace reelscale::serve
