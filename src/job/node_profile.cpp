// job/node_profile.cpp — the profiler as one Slurm task on a node of a class, and the
// profile built from what that node measured.
#include "job/node_profile.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/error.h"
#include "common/files.h"
#include "common/json_fields.h"
#include "common/random_hex.h"
#include "plan/node_starts.h"
#include "record/job_record.h"

namespace reelscale::job {

namespace {

constexpr double kPollS = 1.0;
constexpr double kUnlistedLimitS = 60;  // a task Slurm never lists is lost
constexpr int kTimeLimitMinutes = 120;

// What the submission saw of its task.
struct TaskWatch {
  std::string job_id;
  std::string node;
  std::string state;
  bool waited_for_boot = false;  // seen CONFIGURING: its node was powering up
  double submitted_unix_s = 0;
};

// The batch script: the node notes when it started, then runs the profiler.
std::string profiler_command(const NodeProfileOptions& o, const std::string& cluster_class,
                             const std::filesystem::path& node_dir) {
  using exec::batch_script_word;
  std::string command = "date +%s.%N > " + batch_script_word((node_dir / "started").string()) + " && exec " +
                        batch_script_word(o.binary) + " profile --hardware " + batch_script_word(cluster_class) +
                        " --out " + batch_script_word(node_dir.string());
  for (const std::string& a : o.profiler_args) command += " " + batch_script_word(a);
  return command;
}

std::string last_lines(const std::filesystem::path& file, int count) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string out;
  for (size_t i = lines.size() > static_cast<size_t>(count) ? lines.size() - count : 0; i < lines.size(); ++i) {
    out += lines[i] + "\n";
  }
  return out;
}

// Follows the task until it ends (or Slurm stops listing it).
void wait_for_task(exec::SlurmControl& control, const std::string& name, TaskWatch& watch) {
  double unlisted_s = 0;
  for (;;) {
    bool listed = false;
    for (const exec::ArrayTaskState& t : control.tasks(name)) {
      if (t.job_id != watch.job_id) continue;
      listed = true;
      watch.state = t.state;
      if (!t.node.empty()) watch.node = t.node;
      if (t.state == "CONFIGURING") watch.waited_for_boot = true;
    }
    if (listed) unlisted_s = 0;
    if (listed && exec::slurm_state_ended(watch.state)) return;
    if (!listed && !watch.state.empty()) return;  // it ran and Slurm has forgotten it
    if (!listed && (unlisted_s += kPollS) > kUnlistedLimitS) {
      fail(ErrorKind::kUnavailable, "Slurm does not list the profile task " + watch.job_id);
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(kPollS));
  }
}

// Submitted to started on an idle node, from the node's own note of its start.
double measured_dispatch(const TaskWatch& watch, const std::filesystem::path& node_dir) {
  if (watch.waited_for_boot) return -1;
  std::ifstream in(node_dir / "started");
  double started = 0;
  if (!(in >> started) || started < watch.submitted_unix_s) return -1;
  return started - watch.submitted_unix_s;
}

plan::NodeStarts starts_for(const exec::ClusterFile& cluster, double dispatch_s) {
  plan::NodeStarts s;
  s.boot_s = cluster.boot_s;
  s.controller_check_s = cluster.controller_check_s;
  if (dispatch_s >= 0) {
    s.dispatch_s = dispatch_s;
    s.dispatch_provenance.source = "submitted to running, measured when this profile was submitted";
  } else {
    s.dispatch_s = cluster.poll_s;
    s.dispatch_provenance.source = "not measured (the node was powered down): the executor's poll period";
  }
  return s;
}

// The host's figures with the node's: its CLASS cells (marked with the node, their starts
// rebuilt for the cluster), pre-roll and reads and writes.
plan::Profile merge(const plan::Profile& node, const std::string& cluster_class, const TaskWatch& watch,
                    const plan::NodeStarts& starts, int node_cores, double node_quota,
                    const std::string& date) {
  plan::Profile p = plan::default_local_profile();
  for (const auto& [endpoint, cells] : node.cells) {
    const auto it = cells.find(cluster_class);
    if (it == cells.end()) continue;
    plan::Cell cell = it->second;
    cell.measured_on = {cluster_class, watch.node, node_cores, node_quota};
    set_node_starts(cell, it->second.cold_start_s.mean(), starts, date);
    p.cells[endpoint][cluster_class] = cell;
  }
  p.preroll_s = node.preroll_s;
  p.request_latency_s = node.request_latency_s;
  p.download_mb_per_s = node.download_mb_per_s;
  p.upload_mb_per_s = node.upload_mb_per_s;
  p.transfer_provenance = node.transfer_provenance;
  p.name = "node-" + cluster_class + "-" + date;
  p.provenance = {"class " + cluster_class + " measured by `reelscale profile` on node " + watch.node + " (" +
                      std::to_string(node_cores) + " core(s)" +
                      (node_quota > 0 ? ", a CPU quota of " + format_number(node_quota) + " cores" : std::string()) +
                      "); the submitting host's own figures (start-up, joins, clean-up) as built in",
                  date, true};
  return p;
}

}  // namespace

std::string node_profile_warning(const plan::Profile& profile, const std::string& endpoint,
                                 const std::string& cluster_class, double cpu_quota) {
  if (!profile.has(endpoint, cluster_class)) return "";  // the planner says it has no such cell
  const plan::Cell& cell = profile.cell(endpoint, cluster_class);
  const plan::NodeOrigin& on = cell.measured_on;
  const std::string how = "; `reelscale profile --cluster FILE --hardware " + cluster_class + "` measures it there";
  if (!on.known()) {
    return "the profile's " + cluster_class + " figures for " + endpoint + " were not measured on a node of class " +
           cluster_class + " (" + cell.frame_time.provenance.source + "): a node of another size may run it faster or slower" +
           how;
  }
  if (on.cluster_class != cluster_class || (cpu_quota > 0 && std::abs(on.cpu_quota - cpu_quota) > 1e-6)) {
    return "the profile's " + cluster_class + " figures for " + endpoint + " were measured on node " + on.node +
           " of class " + on.cluster_class + " (CPU quota " + format_number(on.cpu_quota) + "), not on class " +
           cluster_class + " as it is now (CPU quota " + format_number(cpu_quota) + ")" + how;
  }
  return "";
}

NodeProfile profile_on_node(const exec::ClusterFile& cluster, const NodeProfileOptions& options,
                            exec::SlurmControl& control) {
  const auto& [cluster_class, cls] = cluster.pick(options.cluster_class);
  const std::string mismatch = exec::class_mismatch(cluster_class, cls.partition, cls.gres, cls.cores, control.partitions());
  if (!mismatch.empty()) fail(ErrorKind::kBadInput, mismatch);
  const std::filesystem::path node_dir = std::filesystem::path(options.out_dir) / "node";
  std::filesystem::create_directories(node_dir);
  std::filesystem::remove(node_dir / "profile.json");
  exec::ArraySubmission s;
  s.name = "reelscale-profile-" + random_hex(4);
  s.indexes = {0};
  s.partition = cls.partition;
  s.gres = cls.gres;
  s.cores = cls.cores;
  s.time_limit_minutes = kTimeLimitMinutes;
  s.command = profiler_command(options, cluster_class, node_dir);
  s.output = (node_dir / "task.log").string();
  TaskWatch watch;
  watch.submitted_unix_s = record::unix_now();
  watch.job_id = control.submit(s);
  try {
    wait_for_task(control, s.name, watch);
  } catch (...) {
    control.cancel(watch.job_id);
    throw;
  }
  if (!std::filesystem::exists(node_dir / "profile.json")) {
    fail(ErrorKind::kUnavailable, "the profile task on node " + (watch.node.empty() ? "(none)" : watch.node) + " ended " +
                                      watch.state + " without a profile; the end of its log (" + s.output + "):\n" +
                                      last_lines(s.output, 10));
  }
  const plan::Profile node = plan::named_profile((node_dir / "profile.json").string());
  const nlohmann::json raw = plan::read_json_file((node_dir / "profile-raw.json").string());
  NodeProfile result;
  result.node = watch.node;
  result.dispatch_s = measured_dispatch(watch, node_dir);
  result.profile = merge(node, cluster_class, watch, starts_for(cluster, result.dispatch_s),
                         raw.value("cores", cls.cores), raw.value("cpu_quota", 0.0), options.date);
  std::ifstream report(node_dir / "profile.md");
  std::ostringstream text;
  text << "Measured on node " << watch.node << " of class " << cluster_class << " (`reelscale profile --cluster`).\n\n"
       << report.rdbuf();
  result.report = text.str();
  return result;
}

}  // namespace reelscale::job
