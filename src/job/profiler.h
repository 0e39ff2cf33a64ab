// job/profiler.h — `reelscale profile`: runs the old system's experiments on the
// machine at hand through the real job flow and builds a profile in the planner's format
// (every figure marked measured, with the date) plus a Markdown report: per-frame time
// per endpoint on clips of several lengths, process start-up and model load, read and
// write throughput, per-chunk overhead and join time for N = 1, 2, 4, 8, one detect call,
// and the break-even table the planner derives from it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "plan/inputs.h"
#include "process/processors.h"
#include "store/store.h"

namespace reelscale::job {

struct ProfilerOptions {
  std::string hardware = "CPU";      // the name of this machine's hardware in the profile
  std::vector<int> lengths = {5, 30, 120};  // clip lengths to measure, seconds
  int ai_frames = 30;                // frames of each clip framing_ai processes (slow on CPUs)
  std::string store_url;             // an s3:// prefix to measure transfer against (optional)
  double process_startup_s = 0;      // the process's own start-up, measured by the caller
  std::string date;                  // YYYY-MM-DD the figures are dated
};

struct ProfileResult {
  plan::Profile profile;
  nlohmann::json raw;                // every measurement, for profile-raw.json
  std::string report;                // Markdown
};

ProfileResult profile_machine(const ProfilerOptions& options, process::Processors& processors, store::ObjectStore& store);

}  // namespace reelscale::job
