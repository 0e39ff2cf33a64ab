// plan/calibrate.cpp — profile updates from job records.
#include "plan/calibrate.h"

#include "plan/stage_fit.h"

#include <cmath>
#include <map>
#include <optional>
#include <sstream>

namespace reelscale::plan {

namespace {
std::string fmt(double v) {
  std::ostringstream os;
  os.precision(4);
  os << v;
  return os.str();
}
}  // namespace

std::optional<JoinCost> fit_join(const std::vector<std::pair<double, double>>& points, const Provenance& provenance) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& [x, y] : points) {
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const double k = static_cast<double>(points.size());
  const double denom = k * sxx - sx * sx;
  if (points.size() < 2 || denom <= 1e-12) return std::nullopt;
  const double slope = std::max(0.0, (k * sxy - sx * sy) / denom);
  return JoinCost{std::max(0.0, (sy - slope * sx) / k), slope, 0, provenance};
}

namespace {

// A cell's whole-frame figure is refit as fixed + per-size x size factor (least squares
// over the chunks, weighted by frames) when the records span sizes at least 2x apart and
// both parts come out non-negative; otherwise it is corrected by one factor (the frames'
// measured time over what the cell predicts for them), keeping its shape as measured, so
// records of small outputs, mostly fixed cost, cannot inflate the per-pixel figure.
struct FrameSum {
  double measured_ms = 0;   // steady per-frame ms, times frames
  double predicted_ms = 0;  // what the cell says for the same frames
  double frames = 0;
  int records = 0;
  // Weighted sums for the line ms = fixed + per_size x, x the cell's size factor.
  double sw = 0, swx = 0, swy = 0, swxx = 0, swxy = 0;
  double min_x = 1e300, max_x = 0;

  void add(double x, double ms, double weight) {
    sw += weight, swx += weight * x, swy += weight * ms, swxx += weight * x * x, swxy += weight * x * ms;
    min_x = std::min(min_x, x), max_x = std::max(max_x, x);
  }
  // The refit line (fixed, per size), when the sizes spread and both parts are >= 0.
  std::optional<std::pair<double, double>> line() const {
    const double denom = sw * swxx - swx * swx;
    if (max_x < 2 * min_x || denom <= 1e-12 * sw * swxx) return std::nullopt;
    const double per_size = (sw * swxy - swx * swy) / denom, fixed = (swy - per_size * swx) / sw;
    if (per_size < 0 || fixed < 0) return std::nullopt;
    return std::make_pair(fixed, per_size);
  }
};

struct Sums {
  std::map<std::pair<std::string, std::string>, FrameSum> frames;
  std::map<std::pair<std::string, std::string>, std::vector<ChunkObservation>> stages;
  double preroll_sum = 0;
  int preroll_n = 0;
  double orchestrator_sum = 0;  // the process's start-up as the records saw it (0 in a running service)
  double cleanup_sum = 0;
  int overhead_n = 0;
  std::vector<std::pair<double, double>> join_points;  // chunks, seconds
  std::vector<std::pair<double, double>> setup_points;  // output frames, probe + plan less the content sample
  std::map<std::pair<std::string, std::string>, std::pair<double, int>> local_opens;  // slowest chunk open: sum, n
  std::map<std::pair<std::string, std::string>, std::pair<double, int>> warm_starts;  // slowest chunk overhead: sum, n
};

// Probing and planning as a record saw them (the content sample apart: plans count it).
std::optional<double> setup_seconds(const record::JobRecord& r) {
  const auto probe = r.timings_s.find("probe"), plan = r.timings_s.find("plan");
  if (probe == r.timings_s.end() || plan == r.timings_s.end()) return std::nullopt;
  double sample = 0;
  if (r.plan && r.plan->breakdown_s.count("content_sample")) sample = r.plan->breakdown_s.at("content_sample");
  return std::max(0.0, probe->second + plan->second - sample);
}

// Adds one finished record's chunks to the sums.
void add_record(const Cell& cell, const record::JobRecord& r, FrameSum& s, Sums& sums) {
  if (cell.frame_time.stages.known()) {
    auto& observed = sums.stages[{r.endpoint, r.hardware}];
    for (const ChunkObservation& o : chunk_observations(r, Profile::model_factor(cell, r.model))) observed.push_back(o);
  }
  const double predicted_per_frame = cell.frame_time.ms(r.output_pixels());
  const FrameTime& ft = cell.frame_time;
  const double size_factor = std::pow(std::max(1.0, r.output_pixels()) / ft.reference_pixels, ft.exponent);
  ++s.records;
  for (const record::ChunkRecord& c : r.chunk_results) {
    const double frames = static_cast<double>(c.frames);
    // Steady per-frame time: the chunk's run less opening and pre-roll (modelled apart).
    const double steady = c.timings_s.chunk - c.timings_s.open - c.timings_s.preroll;
    if (frames <= 0 || steady <= 0) continue;
    s.measured_ms += 1000 * steady;
    s.predicted_ms += predicted_per_frame * frames;
    s.frames += frames;
    s.add(size_factor, 1000 * steady / frames, frames);
    if (c.index > 0) {
      sums.preroll_sum += c.timings_s.preroll;
      ++sums.preroll_n;
    }
  }
  auto orchestrator = r.timings_s.find("orchestrator_start");
  auto cleanup = r.timings_s.find("cleanup");
  if (orchestrator != r.timings_s.end() && cleanup != r.timings_s.end()) {
    sums.orchestrator_sum += orchestrator->second;
    sums.cleanup_sum += cleanup->second;
    ++sums.overhead_n;
  }
  auto join = r.timings_s.find("join");
  if (r.chunks > 1 && join != r.timings_s.end()) sums.join_points.push_back({static_cast<double>(r.chunks), join->second});
  if (const auto setup = setup_seconds(r)) sums.setup_points.push_back({static_cast<double>(r.frames), *setup});
  // On owned local slots a chunk's start-up is opening its input, encoder and model in a
  // running process: what the slowest chunk's open took.
  if (r.plan && r.plan->platform_model == "local") {
    double slowest = 0;
    for (const record::ChunkRecord& c : r.chunk_results) slowest = std::max(slowest, c.timings_s.open);
    auto& [sum, n] = sums.local_opens[{r.endpoint, r.hardware}];
    sum += slowest;
    ++n;
  } else if (r.plan && r.plan->platform_model == "serverless") {
    // On workers that were up (a warm start): what a chunk's round trip added to its steady work.
    double slowest = -1;
    for (const record::ChunkRecord& c : r.chunk_results) {
      const double t = c.timings_s.round_trip;
      if (t > 0) slowest = std::max(slowest, std::max(0.0, t - (c.timings_s.chunk - c.timings_s.open)));
    }
    if (slowest >= 0) {
      auto& [sum, n] = sums.warm_starts[{r.endpoint, r.hardware}];
      sum += slowest;
      ++n;
    }
  }
}

// The learned figures beyond the frames: job set-up and the local chunk start-up.
void calibrate_overheads(Profile& profile, const Sums& sums, const std::string& date, CalibrationSummary& summary) {
  const Provenance setup_from{"calibrated from " + std::to_string(sums.setup_points.size()) + " job records", date, true};
  if (auto line = fit_join(sums.setup_points, setup_from)) {
    profile.job_setup = {line->base_s, line->per_chunk_s, setup_from};
  } else if (!sums.setup_points.empty()) {
    double sum = 0;
    for (const auto& [frames, s] : sums.setup_points) sum += s;
    profile.job_setup = {sum / static_cast<double>(sums.setup_points.size()), 0, setup_from};
  }
  if (!sums.setup_points.empty()) {
    summary.changes.push_back("job set-up (probe and plan): " + fmt(profile.job_setup.base_s) + " s + " +
                              fmt(profile.job_setup.per_frame_s * 1000) + " ms per output frame");
  }
  for (const auto& [key, opens] : sums.local_opens) {
    Cell& cell = profile.cells[key.first][key.second];
    const double open_s = opens.first / opens.second;
    const Provenance from{"calibrated from " + std::to_string(opens.second) + " local job records", date, true};
    cell.warm_start_s = Distribution::constant(open_s);
    cell.warm_start_s.provenance = from;
    cell.cold_start_s = Distribution::constant(profile.orchestrator_start_s.mean() + open_s);
    cell.cold_start_s.provenance = from;
    summary.changes.push_back(key.first + " on " + key.second + ": local chunk start-up " + fmt(open_s) + " s");
  }
  for (const auto& [key, starts] : sums.warm_starts) {
    Cell& cell = profile.cells[key.first][key.second];
    const double start_s = starts.first / starts.second;
    cell.warm_start_s = Distribution::constant(start_s);
    cell.warm_start_s.provenance = {"calibrated from " + std::to_string(starts.second) + " job records", date, true};
    summary.changes.push_back(key.first + " on " + key.second + ": warm start " + fmt(start_s) + " s");
  }
}

}  // namespace

CalibrationSummary calibrate(Profile& profile, const std::vector<record::JobRecord>& records, const std::string& date) {
  CalibrationSummary summary;
  Sums sums;
  for (const record::JobRecord& r : records) {
    if (!r.ok() || r.chunk_results.empty()) {
      summary.changes.push_back("skipped record " + r.job_id + ": " + (r.ok() ? "no per-chunk timings" : "the job " + r.outcome));
      continue;
    }
    if (!profile.has(r.endpoint, r.hardware)) {
      summary.changes.push_back("skipped a record for " + r.endpoint + " on '" + r.hardware + "': not in the profile");
      continue;
    }
    add_record(profile.cell(r.endpoint, r.hardware), r, sums.frames[{r.endpoint, r.hardware}], sums);
    ++summary.records;
  }
  for (const auto& [key, s] : sums.frames) {
    if (s.frames <= 0 || s.predicted_ms <= 0 || sums.stages.count(key)) continue;  // stages: corrected per stage
    Cell& cell = profile.cells[key.first][key.second];
    const double before = cell.frame_time.ms_at_reference;
    const bool plain = cell.frame_time.network_ms <= 0 && cell.frame_time.cpu_side_ms <= 0;
    if (const auto line = s.line(); plain && line) {
      cell.frame_time.fixed_ms = line->first;
      cell.frame_time.ms_at_reference = line->second;
    } else {
      cell.frame_time.scale(s.measured_ms / s.predicted_ms);
    }
    cell.frame_time.provenance = {"calibrated from " + std::to_string(s.records) + " job record(s), " +
                                      std::to_string(static_cast<long long>(s.frames)) + " frames",
                                  date, true};
    summary.changes.push_back(key.first + " on " + key.second + ": " + fmt(before) + " -> " +
                              fmt(cell.frame_time.ms_at_reference) + " ms per frame at the reference size, " +
                              fmt(cell.frame_time.fixed_ms) + " ms fixed");
  }
  for (auto& [key, samples] : sums.stages) {
    if (samples.empty()) continue;
    FrameStages& stages = profile.cells[key.first][key.second].frame_time.stages;
    for (const std::string& change : calibrate_stages(stages, samples)) {
      summary.changes.push_back(key.first + " on " + key.second + ": " + change);
    }
    stages.provenance = {"calibrated from " + std::to_string(samples.size()) + " timed chunk(s)", date, true};
  }
  if (sums.preroll_n > 0) {
    const double before = profile.preroll_s.mean();
    profile.preroll_s = Distribution::constant(sums.preroll_sum / sums.preroll_n);
    profile.preroll_s.provenance = {"calibrated from " + std::to_string(sums.preroll_n) + " chunks", date, true};
    summary.changes.push_back("pre-roll per chunk: " + fmt(before) + " -> " + fmt(profile.preroll_s.mean()) + " s");
  }
  if (sums.overhead_n > 0) {
    const Provenance from{"calibrated from " + std::to_string(sums.overhead_n) + " job record(s)", date, true};
    summary.changes.push_back("orchestrator start: " + fmt(profile.orchestrator_start_s.mean()) + " -> " +
                              fmt(sums.orchestrator_sum / sums.overhead_n) + " s; cleanup: " +
                              fmt(profile.cleanup_s.mean()) + " -> " + fmt(sums.cleanup_sum / sums.overhead_n) + " s");
    profile.orchestrator_start_s = Distribution::constant(sums.orchestrator_sum / sums.overhead_n);
    profile.orchestrator_start_s.provenance = from;
    profile.cleanup_s = Distribution::constant(sums.cleanup_sum / sums.overhead_n);
    profile.cleanup_s.provenance = from;
  }
  calibrate_overheads(profile, sums, date, summary);
  const auto& join_points = sums.join_points;
  if (auto fit = fit_join(join_points, {"calibrated from " + std::to_string(join_points.size()) + " joined jobs", date, true})) {
    summary.changes.push_back("join: " + fmt(profile.join.base_s) + " + " + fmt(profile.join.per_chunk_s) + " N -> " +
                              fmt(fit->base_s) + " + " + fmt(fit->per_chunk_s) + " N s");
    fit->per_gb_s = profile.join.per_gb_s;
    profile.join = *fit;
  }
  return summary;
}

}  // namespace reelscale::plan
