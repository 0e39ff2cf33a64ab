// plan/inputs.cpp — what the planner's input types compute of themselves: frame times,
// thread scaling, platforms, policies and profiles. Their JSON forms are in
// input_formats.cpp, the built-in profiles in builtin_profiles.cpp, the GPU table in
// gpu_specs.cpp and prices in prices.cpp.
#include "plan/inputs.h"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/error.h"
#include "infer/sr_architecture.h"

namespace reelscale::plan {

using nlohmann::json;

double FrameTime::ms(const FrameWork& work, int cores, int chunks_at_once) const {
  if (stages.known()) return stages.times(work, cores, chunks_at_once).frame_ms;
  return ms(work.output_pixels, work.network_factor, work.source_pixels / 1e6 * std::max(0.0, work.decoded_per_frame));
}

void FrameTime::scale(double k) {
  for (double* v : {&ms_at_reference, &fixed_ms, &ms_per_source_mpixel, &network_ms, &cpu_side_ms}) *v *= k;
  stages.scale(k);
}

double FrameTime::ms(double pixels, double network_factor, double source_mpixels_decoded) const {
  if (stages.known()) {
    FrameWork work;
    work.output_pixels = pixels;
    work.network_factor = network_factor;
    return stages.times(work).frame_ms;
  }
  const double ratio = std::max(1.0, pixels) / reference_pixels;
  const double scale = exponent == 1.0 ? ratio : exponent == 0.0 ? 1.0 : std::pow(ratio, exponent);
  if (network_ms > 0 && cpu_side_ms > 0) {
    return fixed_ms + scale * std::max(cpu_side_ms, network_ms * network_factor);
  }
  return fixed_ms + ms_at_reference * scale * network_factor + ms_per_source_mpixel * source_mpixels_decoded;
}

CpuCurve CpuCurve::fit(const std::vector<std::pair<double, double>>& points) {
  std::set<double> counts;
  for (const auto& [cores, ms] : points) counts.insert(cores);
  if (counts.size() < 2) fail(ErrorKind::kBadInput, "a CPU-side curve needs runs at two core counts or more");
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  const double n = static_cast<double>(points.size());
  for (const auto& [cores, ms] : points) {
    const double x = 1.0 / cores;
    sx += x, sy += ms, sxx += x * x, sxy += x * ms;
  }
  CpuCurve c;
  c.parallel_ms = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  c.serial_ms = (sy - c.parallel_ms * sx) / n;
  if (c.serial_ms < 0) {  // through the origin: all of it parallel
    c.serial_ms = 0;
    c.parallel_ms = sxy / sxx;
  }
  c.parallel_ms = std::max(1e-6, c.parallel_ms);
  return c;
}

FrameTime FrameTime::at_cores(double cores) const {
  if (!cpu_curve.known() || cores <= 0) return *this;
  FrameTime t = *this;
  const double cpu = cpu_curve.ms(cores);
  if (network_ms > 0) {
    t.cpu_side_ms = cpu;
    t.ms_at_reference = std::max(cpu, network_ms);
  } else {
    t.ms_at_reference = cpu;  // the whole frame is CPU side (framing)
  }
  return t;
}

double ThreadScaling::factor(int k, int threads, int machine_cores) const {
  k = std::max(1, k);
  threads = std::max(1, threads);
  const int measured_on = cores > 0 ? cores : std::max(1, machine_cores);
  const auto alone_at = [&](int t) {
    auto it = alone.find(t);
    return it != alone.end() ? it->second : static_cast<double>(measured_on) / std::min(t, measured_on);
  };
  double contention = 1.0;
  if (auto it = concurrent.find(k); it != concurrent.end()) {
    contention = it->second / alone_at(std::max(1, measured_on / k));
  }
  return alone_at(threads) * contention;
}

Platform Platform::local(int slots, int cores) {
  Platform p;
  p.kind = PlatformKind::kLocal;
  p.local_slots = std::max(1, slots);
  p.local_cores = std::max(1, cores);
  p.max_containers = p.local_slots * 16;  // more chunks than slots queue for them
  p.scale_down_window_s = 0;
  p.billing_granularity_s = 0.001;
  return p;
}

Objective Policy::objective_for(const Platform& platform) const {
  if (objective != Objective::kAuto) return objective;
  return platform.is_local() ? Objective::kFastest : Objective::kCheapestWithinDeadline;
}

double JoinCost::seconds(int chunks, double bytes) const {
  if (chunks <= 1) return 0;
  return base_s + per_chunk_s * chunks + per_gb_s * bytes / 1e9;
}

const Cell& Profile::cell(const std::string& endpoint, const std::string& hardware) const {
  auto e = cells.find(endpoint);
  if (e == cells.end()) fail(ErrorKind::kBadInput, "the profile has no figures for endpoint '" + endpoint + "'");
  auto h = e->second.find(hardware);
  if (h == e->second.end()) {
    fail(ErrorKind::kBadInput, "the profile has no figures for " + endpoint + " on '" + hardware + "'");
  }
  return h->second;
}

double Profile::model_factor(const Cell& cell, const std::string& model) {
  const std::string measured = cell.model.empty() ? "realesr-animevideov3" : cell.model;
  if (model.empty() || model == measured) return 1.0;
  if (!infer::is_known_architecture(model) || !infer::is_known_architecture(measured)) return 1.0;
  return infer::architecture_by_name(model).macs_per_output_pixel() /
         infer::architecture_by_name(measured).macs_per_output_pixel();
}

std::string Profile::version() const {
  if (!declared_version.empty()) return declared_version;
  json j = to_json(*this);
  j.erase("version");
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char ch : j.dump()) h = (h ^ ch) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return std::string(buf).substr(0, 12);
}

bool Profile::has(const std::string& endpoint, const std::string& hardware) const {
  auto e = cells.find(endpoint);
  return e != cells.end() && e->second.count(hardware);
}

std::vector<std::string> Profile::hardware_for(const std::string& endpoint) const {
  std::vector<std::string> out;
  if (auto e = cells.find(endpoint); e != cells.end()) {
    for (const auto& [hw, c] : e->second) out.push_back(hw);
  }
  return out;
}

double Platform::billed(double seconds) const {
  const double g = billing_granularity_s > 0 ? billing_granularity_s : 1e-9;
  return std::max(minimum_billed_s, std::ceil(seconds / g - 1e-9) * g);
}

std::string Policy::describe() const {
  std::ostringstream os;
  switch (objective) {
    case Objective::kAuto:
      os << "fastest on local slots, else cheapest within a " << deadline_s << " s deadline";
      break;
    case Objective::kFastest:
      os << "fastest";
      break;
    case Objective::kCheapestWithinDeadline:
      os << "cheapest within a " << deadline_s << " s deadline";
      break;
    case Objective::kFastestWithinBudget:
      os << "fastest within a $" << budget_usd << " budget";
      break;
    case Objective::kBalanced:
      os << "balanced (cost weight " << weight << ")";
      break;
  }
  os << (use_p90 ? ", time judged at p90" : ", time judged at the mean") << ", at most " << max_parallel
     << " containers, >= " << min_frames_per_chunk << " frames per chunk";
  if (adaptive) os << ", adaptive to the warm pool";
  if (reserve_cores > 0) os << ", " << reserve_cores << " core(s) left free on local slots";
  return os.str();
}

Platform default_platform() {
  return Platform{};
}

Policy default_policy() {
  return Policy{};
}

}  // namespace reelscale::plan
