// job/cpu_side_profile.h — a container's CPU side by the cores it holds, measured:
// framing (decode, crop and scale, x264: the CPU work of a GPU container's frame) run as
// this program in a CPU-quota cgroup of each core count, the runs' steady time per frame
// fitted as serial + parallel / cores (plan::CpuCurve), its floor the source decoded on one
// thread. `reelscale profile --cpu-side-cores` puts the curve on the profile's GPU cells.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "plan/inputs.h"

namespace reelscale::job {

struct CpuSideOptions {
  std::string binary;          // this program, run as `process framing` in each group
  std::vector<double> cores;   // two core counts or more, e.g. 0.5, 1, 2
  int runs = 3;                // per core count, in turn; the median counts
  std::string date;            // YYYY-MM-DD the figures are dated
};

struct CpuSideResult {
  plan::CpuCurve curve;        // this machine's, from its own runs
  nlohmann::json raw;          // every run
  std::string report;          // Markdown
};

// Error(kUnavailable) when no CPU cgroup can be made here, Error(kBadInput) for fewer than
// two core counts.
CpuSideResult measure_cpu_side(const CpuSideOptions& options, const std::filesystem::path& scratch);

// The measured curve's shape on every GPU cell with a CPU side: scaled so that it gives the
// cell's own figure on `default_cores` (what the cell was measured or estimated at), with
// the measured floor. Returns how many cells took it.
int apply_cpu_side(plan::Profile& profile, const plan::CpuCurve& measured, double default_cores);

}  // namespace reelscale::job
