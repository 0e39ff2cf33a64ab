// plan/calibrate.cpp — profile updates from job records.
#include "plan/calibrate.h"

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
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

CalibrationSummary calibrate(Profile& profile, const std::vector<nlohmann::json>& records, const std::string& date) {
  CalibrationSummary summary;
  struct Sum {
    double ms_at_reference_weighted = 0;  // sum of per-frame ms scaled to the reference size, times frames
    double frames = 0;
    int records = 0;
  };
  std::map<std::pair<std::string, std::string>, Sum> frame_sums;
  double preroll_sum = 0;
  int preroll_n = 0;
  std::vector<std::pair<double, double>> join_points;  // chunks, seconds
  for (const nlohmann::json& r : records) {
    if (!r.contains("chunk_results") || !r.contains("endpoint") || !r.contains("output_pixels")) {
      summary.changes.push_back("skipped a record without per-chunk timings");
      continue;
    }
    const std::string endpoint = r["endpoint"].get<std::string>();
    const std::string hw = r.value("hardware", std::string());
    if (!profile.has(endpoint, hw)) {
      summary.changes.push_back("skipped a record for " + endpoint + " on '" + hw + "': not in the profile");
      continue;
    }
    const Cell& cell = profile.cell(endpoint, hw);
    const double pixels = r["output_pixels"].get<double>();
    const double scale = std::pow(cell.frame_time.reference_pixels / std::max(1.0, pixels), cell.frame_time.exponent);
    Sum& s = frame_sums[{endpoint, hw}];
    ++s.records;
    ++summary.records;
    for (const auto& c : r["chunk_results"]) {
      const double frames = c["frames"].get<double>();
      const auto& t = c["timings_s"];
      // Steady per-frame time: the chunk's run less opening and pre-roll (modelled apart).
      const double steady = t["chunk"].get<double>() - t["open"].get<double>() - t["preroll"].get<double>();
      if (frames <= 0 || steady <= 0) continue;
      s.ms_at_reference_weighted += (1000 * steady / frames - cell.frame_time.fixed_ms) * scale * frames;
      s.frames += frames;
      if (c["index"].get<int>() > 0) {
        preroll_sum += t["preroll"].get<double>();
        ++preroll_n;
      }
    }
    const int chunks = r.value("chunks", 1);
    if (chunks > 1) join_points.push_back({static_cast<double>(chunks), r["timings_s"]["join"].get<double>()});
  }
  for (const auto& [key, s] : frame_sums) {
    if (s.frames <= 0) continue;
    Cell& cell = profile.cells[key.first][key.second];
    const double before = cell.frame_time.ms_at_reference;
    cell.frame_time.ms_at_reference = std::max(0.0, s.ms_at_reference_weighted / s.frames);
    cell.frame_time.provenance = {"calibrated from " + std::to_string(s.records) + " job record(s), " +
                                      std::to_string(static_cast<long long>(s.frames)) + " frames",
                                  date, true};
    summary.changes.push_back(key.first + " on " + key.second + ": " + fmt(before) + " -> " +
                              fmt(cell.frame_time.ms_at_reference) + " ms per frame at the reference size");
  }
  if (preroll_n > 0) {
    const double before = profile.preroll_s.mean();
    profile.preroll_s = Distribution::constant(preroll_sum / preroll_n);
    profile.preroll_s.provenance = {"calibrated from " + std::to_string(preroll_n) + " chunks", date, true};
    summary.changes.push_back("pre-roll per chunk: " + fmt(before) + " -> " + fmt(profile.preroll_s.mean()) + " s");
  }
  if (auto fit = fit_join(join_points, {"calibrated from " + std::to_string(join_points.size()) + " joined jobs", date, true})) {
    summary.changes.push_back("join: " + fmt(profile.join.base_s) + " + " + fmt(profile.join.per_chunk_s) + " N -> " +
                              fmt(fit->base_s) + " + " + fmt(fit->per_chunk_s) + " N s");
    fit->per_gb_s = profile.join.per_gb_s;
    profile.join = *fit;
  }
  return summary;
}

}  // namespace reelscale::plan
