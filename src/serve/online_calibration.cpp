// serve/online_calibration.cpp — refitting the profile from records and judging the refit.
#include "serve/online_calibration.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "plan/calibrate.h"
#include "plan/cost_model.h"

namespace reelscale::serve {

namespace {

plan::JobShape shape_of(const record::JobRecord& r) {
  plan::JobShape s;
  s.endpoint = r.endpoint;
  s.frames = std::max<int64_t>(1, r.frames);
  s.fps = record::rate_value(r.fps);
  s.output_pixels = r.output_pixels();
  s.input_bytes = static_cast<double>(r.source.bytes);
  s.model = r.model;
  s.network_input_factor = r.network_input_factor;
  s.network_share = r.network_share;
  s.source_pixels = static_cast<double>(r.source.width) * r.source.height;
  s.codec = r.source.codec;
  s.preset = r.preset;
  s.content = {r.content_decode_ms, r.content_encode_ms};
  s.preroll_frames = r.preroll_frames;
  int64_t decoded = 0;
  for (const auto& c : r.chunk_results) decoded += std::max<int64_t>(0, c.frames_decoded - c.frames_dropped);
  if (decoded > 0) s.decoded_per_frame = static_cast<double>(decoded) / static_cast<double>(s.frames);
  return s;
}

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

double predicted_seconds(const plan::Profile& profile, const record::JobRecord& r) {
  if (!profile.has(r.endpoint, r.hardware) || r.chunks < 1) return 0;
  plan::Platform platform = plan::default_platform();
  if (r.plan && r.plan->platform_model == "local" && r.plan->concurrent > 0) {
    platform = plan::Platform::local(r.plan->concurrent, r.plan->concurrent * std::max(1, r.plan->threads_per_chunk));
  }
  const plan::PriceTable prices = plan::default_prices();
  return plan::estimate(profile, prices, platform, shape_of(r), r.hardware, r.chunks, false).wall_mean_s;
}

double prediction_error(const plan::Profile& profile, const std::vector<record::JobRecord>& records) {
  std::vector<double> errors;
  for (const auto& r : records) {
    const double predicted = predicted_seconds(profile, r), measured = measured_seconds(r);
    if (predicted > 0 && measured > 0) errors.push_back(std::abs(measured / predicted - 1));
  }
  return median(errors);
}

CalibrationDecision consider_recalibration(const plan::Profile& current, const std::vector<record::JobRecord>& recent,
                                           const CalibrationPolicy& policy, const std::string& date) {
  CalibrationDecision d;
  d.candidate = current;
  const size_t n = recent.size();
  const size_t held = std::min(n, std::max<size_t>(2, static_cast<size_t>(std::ceil(policy.held_back_share * n))));
  const std::vector<record::JobRecord> fit(recent.begin(), recent.end() - static_cast<std::ptrdiff_t>(held));
  const std::vector<record::JobRecord> judge(recent.end() - static_cast<std::ptrdiff_t>(held), recent.end());
  const std::vector<record::JobRecord> used = trimmed(current, fit, policy);
  d.fitted_records = static_cast<int>(used.size());
  d.held_back_records = static_cast<int>(judge.size());
  if (used.empty()) {
    d.reason = "no cell has " + std::to_string(policy.min_records_per_cell) + " records to fit beyond those held back";
    return d;
  }
  d.changes = plan::calibrate(d.candidate, used, date).changes;
  d.candidate.declared_version.clear();
  d.candidate.name = current.name + "+calibrated";
  d.current_error = prediction_error(current, judge);
  d.candidate_error = prediction_error(d.candidate, judge);
  d.switch_to_candidate = d.candidate_error < d.current_error;
  d.reason = std::string(d.switch_to_candidate ? "switched" : "kept the profile in use") + ": median error on the " +
             std::to_string(judge.size()) + " most recent records " + std::to_string(d.current_error) + " in use, " +
             std::to_string(d.candidate_error) + " refit from " + std::to_string(used.size());
  return d;
}

}  // namespace reelscale::serve
