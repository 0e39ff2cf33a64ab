// job/machine_check.cpp — a few built-in frames timed at start, and the built-in local
// profile scaled by them.
#include "job/machine_check.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/cores.h"
#include "common/error.h"
#include "common/files.h"
#include "common/stopwatch.h"
#include "job/job_flow.h"
#include "job/profile_media.h"
#include "plan/calibrate.h"
#include "process/processors.h"
#include "record/job_record.h"

namespace reelscale::job {

namespace {

constexpr int kClipWidth = 1280;
constexpr int kClipHeight = 720;
constexpr int kFrames = 15;  // the clip's, each run's
constexpr int kRuns = 3;     // the fastest counts: the least disturbed by anything beside it
constexpr double kBudgetS = 1.5;  // no run starts past this (a slow machine makes fewer)

// A panning 9:16 crop of the whole clip's height, scaled to 810x1440 with x264 veryfast.
process::JobSpec check_job(const std::string& clip, const std::string& out) {
  const double last = (kFrames - 1) / 30.0;
  const nlohmann::json j = {
      {"endpoint", "framing"}, {"input", clip}, {"output", out}, {"fps", 30}, {"audio", "drop"}, {"preset", "veryfast"},
      {"output_width", 810}, {"output_height", 1440},
      {"crop_keyframes", nlohmann::json::array({{{"time", 0}, {"x", 300}, {"y", 0}, {"width", 404}, {"height", kClipHeight}},
                                                {{"time", last}, {"x", 560}, {"y", 0}, {"width", 404}, {"height", kClipHeight}}})}};
  return process::parse_job_spec(j);
}

// One run of the check's job as one chunk on every core, planned with the built-in local
// profile: its steady frames' measured / predicted time, and their ms per frame.
struct Timed {
  double ratio = 0;
  double measured_ms = 0;
  int frames = 0;
};
// The built-in local profile without its content references: the check's clip is the
// profiler's own drawn pattern, so its jobs take no content sample.
plan::Profile unsampled_built_in() {
  plan::Profile p = plan::default_local_profile();
  for (auto& [endpoint, cells] : p.cells) {
    for (auto& [hardware, cell] : cells) cell.frame_time.stages.content_reference = {};
  }
  return p;
}

Timed run_once(const plan::Profile& built_in, const std::string& clip, const std::filesystem::path& folder, int n) {
  store::ObjectStore store;
  exec::LocalExecutorOptions local;
  local.slots = 1;
  local.scratch = folder;
  exec::LocalExecutor executor(local, [](const process::JobSpec& s) { return process::make_basic_factory(s); }, store);
  JobOptions options;
  options.chunks = 1;
  options.scratch = folder;
  options.planning.local_profile = built_in;
  const std::string out = (folder / ("check" + std::to_string(n) + ".mp4")).string();
  const record::JobRecord r = run_job(check_job(clip, out), executor, store, options);
  throw_if_failed(r);
  Timed t;
  t.ratio = plan::steady_frame_ratio(built_in, r);
  double steady = 0;
  for (const record::ChunkRecord& c : r.chunk_results) {
    steady += c.timings_s.chunk - c.timings_s.open - c.timings_s.preroll;
    t.frames += static_cast<int>(c.frames);
  }
  t.measured_ms = t.frames > 0 ? 1000 * steady / t.frames : 0;
  std::filesystem::remove(out);
  return t;
}

std::string fmt(const char* format, double v) {
  char text[32];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

}  // namespace

std::string MachineCheck::describe() const {
  if (frames == 0) return "not measured";
  return "a start-up check on " + std::to_string(machine_cores()) + " cores ran " + std::to_string(frames) +
         " built-in frames (1280x720, a 9:16 crop to 810x1440, veryfast, one chunk) at " +
         fmt("%.2f", measured_ms_per_frame) + " ms a frame against " + fmt("%.2f", predicted_ms_per_frame) +
         " ms built in: x" + fmt("%.3g", factor) + " (" + date + ", " + fmt("%.2f", seconds) + " s)";
}

MachineCheck check_machine_speed(const std::filesystem::path& scratch) {
  const Stopwatch clock;
  const ScopedTempDir folder(scratch, "reelscale-machine-check-");
  const std::string clip = (folder.path() / "clip.mp4").string();
  make_synthetic_frames(clip, kFrames, kClipWidth, kClipHeight);
  const plan::Profile built_in = unsampled_built_in();
  Timed best;
  for (int n = 0; n < kRuns && (n == 0 || clock.seconds() < kBudgetS); ++n) {
    const Timed t = run_once(built_in, clip, folder.path(), n);
    if (t.ratio > 0 && (best.ratio == 0 || t.ratio < best.ratio)) best = t;
  }
  MachineCheck check;
  check.date = record::utc_today();
  check.seconds = clock.seconds();
  if (best.ratio <= 0) return check;
  check.frames = best.frames;
  check.measured_ms_per_frame = best.measured_ms;
  check.predicted_ms_per_frame = best.measured_ms / best.ratio;
  check.factor = std::clamp(best.ratio, kMachineCheckMinFactor, kMachineCheckMaxFactor);
  return check;
}

plan::Profile local_profile_fitted(const MachineCheck& check) {
  plan::Profile p = plan::default_local_profile();
  if (check.frames == 0) return p;
  const std::string why = "fitted to this machine by " + check.describe();
  plan::scale_frame_times(p, "CPU", check.factor, why + " (framing_ai and detect scaled alike, their networks not timed)",
                          check.date);
  plan::scale_process_overheads(p, "CPU", check.factor, why, check.date);
  p.provenance.source += "; CPU frame figures fitted to this machine: " + check.describe();
  return p;
}

}  // namespace reelscale::job
