// job/cpu_side_profile.cpp — framing under CPU quotas, fitted.
#include "job/cpu_side_profile.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/cpu_quota_group.h"
#include "common/error.h"
#include "common/subprocess.h"
#include "job/profile_media.h"
#include "record/job_record.h"

namespace reelscale::job {

namespace {

using nlohmann::json;

constexpr int kSourceWidth = 1920, kSourceHeight = 1080, kSourceSeconds = 4;

// ms per frame of a framing run's steady part (its chunk less opening and pre-roll).
double steady_frame_ms(const std::string& record_json) {
  const record::JobRecord r = record::record_from_json(json::parse(record_json));
  if (r.chunk_results.empty() || r.chunk_results.front().frames <= 0) {
    fail(ErrorKind::kInternal, "a CPU-side run recorded no chunk");
  }
  const record::ChunkRecord& c = r.chunk_results.front();
  return 1000 * (c.timings_s.chunk - c.timings_s.open - c.timings_s.preroll) / static_cast<double>(c.frames);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The framing job every run does: a 9:16 crop of the 1080p clip, enlarged to 810x1440.
std::filesystem::path write_job(const std::filesystem::path& scratch, const std::string& clip) {
  const json spec = {{"endpoint", "framing"}, {"input", clip}, {"output", (scratch / "cpu-side.mp4").string()},
                     {"output_width", 810}, {"output_height", 1440}, {"fps", 30}, {"audio", "drop"},
                     {"crop_keyframes", {{{"time", 0}, {"x", 656}, {"y", 0}, {"width", 608}, {"height", 1080}}}}};
  const std::filesystem::path job = scratch / "cpu-side.json";
  std::ofstream(job) << spec.dump();
  return job;
}

std::string report_of(const std::vector<double>& cores, const std::map<double, std::vector<double>>& runs,
                      const plan::CpuCurve& c) {
  std::ostringstream os;
  os.precision(3);
  os << "\n## CPU side by cores (framing 1920x1080 to 810x1440 in a CPU-quota cgroup)\n\n"
     << "| cores | ms per frame (median) | runs |\n|---|---|---|\n";
  for (const double k : cores) {
    os << "| " << k << " | " << median(runs.at(k)) << " | " << runs.at(k).size() << " |\n";
  }
  os << "\nFitted: " << c.serial_ms << " + " << c.parallel_ms << " / cores ms, never below " << c.floor_ms
     << " ms (the source decoded on one thread).\n";
  return os.str();
}

}  // namespace

CpuSideResult measure_cpu_side(const CpuSideOptions& options, const std::filesystem::path& scratch) {
  std::vector<double> cores = options.cores;
  std::sort(cores.begin(), cores.end());
  cores.erase(std::unique(cores.begin(), cores.end()), cores.end());
  if (cores.size() < 2) fail(ErrorKind::kBadInput, "--cpu-side-cores needs two core counts or more, e.g. 0.5,1,2");
  CpuQuotaGroup group("reelscale-cpu-side-" + std::to_string(getpid()));
  const std::string clip = (scratch / "cpu-side-1080p.mp4").string();
  make_synthetic_clip(clip, kSourceSeconds, kSourceWidth, kSourceHeight);
  const std::filesystem::path job = write_job(scratch, clip);
  CpuSideResult out;
  std::map<double, std::vector<double>> runs;
  for (int run = 0; run < std::max(1, options.runs); ++run) {
    for (const double k : cores) {
      group.set_cores(k);
      const CommandResult r =
          run_command(group.inside({options.binary, "process", "framing", "--job", job.string(), "--json"}));
      if (r.exit_code != 0) fail(ErrorKind::kInternal, "a CPU-side run on " + std::to_string(k) + " cores failed: " + r.err);
      runs[k].push_back(steady_frame_ms(r.out));
      out.raw["runs"].push_back({{"cores", k}, {"frame_ms", runs[k].back()}});
    }
  }
  std::vector<std::pair<double, double>> points;
  for (const double k : cores) points.push_back({k, median(runs[k])});
  out.curve = plan::CpuCurve::fit(points);
  out.curve.floor_ms = measure_decode(clip).cpu_ms;
  out.curve.provenance = {"measured by `reelscale profile --cpu-side-cores`: framing 1080p to 810x1440 in a CPU-quota "
                          "cgroup, median of " + std::to_string(options.runs) + " runs per core count",
                          options.date, true};
  out.raw["fit"] = {{"serial_ms", out.curve.serial_ms}, {"parallel_ms", out.curve.parallel_ms},
                    {"floor_ms", out.curve.floor_ms}};
  out.report = report_of(cores, runs, out.curve);
  return out;
}

int apply_cpu_side(plan::Profile& profile, const plan::CpuCurve& measured, double default_cores) {
  int applied = 0;
  const double at_default = measured.serial_ms + measured.parallel_ms / std::max(0.01, default_cores);
  for (auto& [endpoint, cells] : profile.cells) {
    for (auto& [hardware, cell] : cells) {
      plan::FrameTime& t = cell.frame_time;
      if (hardware == "CPU" || t.cpu_side_ms <= 0) continue;
      const double k = t.cpu_side_ms / at_default;
      t.cpu_curve = measured;
      t.cpu_curve.serial_ms *= k;
      t.cpu_curve.parallel_ms *= k;
      t.cpu_curve.provenance.source += "; scaled x" + std::to_string(k).substr(0, 5) + " to this cell's " +
                                       std::to_string(t.cpu_side_ms).substr(0, 5) + " ms on " +
                                       std::to_string(default_cores).substr(0, 4) + " cores";
      ++applied;
    }
  }
  return applied;
}

}  // namespace reelscale::job
