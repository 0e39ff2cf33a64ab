// cli/cmd_profile.cpp — `reelscale profile --out DIR`: the flags of the profiler
// (job/profiler.h); writes profile.json, profile-raw.json and profile.md and prints the report.
// The orchestrator's start-up is timed on fresh runs of this binary (the hidden
// `startup-age`, which prints how long its process had run when it got to work).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <vector>

#include "cli/commands.h"
#include "common/cores.h"
#include "common/files.h"
#include "common/json_fields.h"
#include "exec/slurm_cluster.h"
#include "exec/slurm_control.h"
#include "job/cpu_side_profile.h"
#include "job/node_profile.h"
#include "job/profiler.h"
#include "record/job_record.h"

namespace reelscale::cli {

namespace {

constexpr int kStartupRuns = 5;

// The median age of `kStartupRuns` fresh processes of this binary when they reach their
// command; `fallback` (this process's own) when they cannot be run.
double measure_process_startup(double fallback) {
  const std::filesystem::path self = this_executable();
  if (self.empty()) return fallback;
  std::vector<double> ages;
  for (int i = 0; i < kStartupRuns; ++i) {
    const std::string command = "'" + self.string() + "' startup-age 2>/dev/null";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    double age = -1;
    if (pipe && std::fscanf(pipe.get(), "%lf", &age) == 1 && age >= 0) ages.push_back(age);
  }
  if (ages.empty()) return fallback;
  std::sort(ages.begin(), ages.end());
  return ages[ages.size() / 2];
}

class StartupAgeCommand final : public Command {
 public:
  explicit StartupAgeCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("startup-age", "Print this process's age in seconds (the profiler's probe)");
    app_->group("");
  }
  CLI::App* app() const override { return app_; }
  int run() override {
    std::cout << seconds_since_process_start() << "\n";
    return 0;
  }

 private:
  CLI::App* app_;
};

// `reelscale cores`: what a chunk here runs on (a quota node's share rounds up).
class CoresCommand final : public Command {
 public:
  explicit CoresCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("cores", "Print the cores this process may use: its CPU affinity, bounded by its "
                                          "cgroup's CPU quota rounded up (what chunks and profiles here run on)");
  }
  CLI::App* app() const override { return app_; }
  int run() override {
    const double quota = cgroup_cpu_quota();
    std::cout << "cores " << machine_cores();
    if (quota > 0) std::cout << " (quota " << quota << ")";
    std::cout << "\n";
    return 0;
  }

 private:
  CLI::App* app_;
};

class ProfileCommand final : public Command {
 public:
  explicit ProfileCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("profile", "Measure this machine, or a node of a Slurm cluster's class, and write a "
                                            "planner profile and a report");
    app_->add_option("--out", out_dir_, "Folder for profile.json and profile.md")->required();
    app_->add_option("--hardware", options_.hardware,
                     "Name of this hardware in the profile; with --cluster, the class whose node measures it");
    app_->add_option("--cluster", cluster_file_,
                     "A Slurm cluster file (deploy/slurm/README.md): run the profiler as a task on a node of the class "
                     "(--hardware) and write a profile whose class cells are what that node measured. OUT must be a "
                     "folder the nodes can write (a shared file system, or a cluster on this host)");
    app_->add_option("--lengths", options_.lengths, "Clip lengths to measure, seconds")->delimiter(',');
    app_->add_option("--ai-frames", options_.ai_frames,
                     "Frames of each clip framing_ai processes (it is slow on CPUs; at least 2, the fewest a run is timed by)")
        ->check(CLI::Range(2, 100000));
    app_->add_option("--store", options_.store_url, "An s3:// prefix to measure transfer throughput against (optional)");
    app_->add_flag("--quick", quick_, "Short clips and fewer runs (for tests)");
    app_->add_option("--cpu-side-cores", cpu_side_.cores,
                     "Also measure a GPU container's CPU side at these core counts under a CPU-quota cgroup "
                     "(e.g. 0.5,1,2; needs root) and put the fitted curve on the profile's GPU cells")
        ->delimiter(',')
        ->check(CLI::Range(0.05, 512.0));
    app_->add_option("--cpu-side-runs", cpu_side_.runs, "Runs per core count for --cpu-side-cores (median)")
        ->check(CLI::Range(1, 20));
    app_->add_option("--models", settings_.models_dir, "Models folder");
  }
  CLI::App* app() const override { return app_; }

  int run() override {
    if (!cluster_file_.empty()) return run_on_node();
    std::vector<double> distinct = cpu_side_.cores;
    std::sort(distinct.begin(), distinct.end());
    if (!distinct.empty() && std::unique(distinct.begin(), distinct.end()) - distinct.begin() < 2) {
      fail(ErrorKind::kBadInput, "--cpu-side-cores needs two core counts or more, e.g. 0.5,1,2");
    }
    options_.process_startup_s = measure_process_startup(seconds_since_process_start());
    options_.date = record::utc_today();
    if (quick_ && options_.lengths == std::vector<int>{5, 30, 120}) options_.lengths = {1, 2};
    if (quick_) options_.ai_frames = std::min(options_.ai_frames, 4);
    const std::filesystem::path out(out_dir_);
    make_output_folder(out);
    check_output_path(out / "profile.json", "");
    store::ObjectStore store;
    process::Processors processors(settings_);
    job::ProfileResult r = job::profile_machine(options_, processors, store);
    if (!cpu_side_.cores.empty()) add_cpu_side(r);
    write_file_atomically(out / "profile.json", plan::to_json(r.profile).dump(2) + "\n");
    write_file_atomically(out / "profile-raw.json", r.raw.dump(2) + "\n");
    write_file_atomically(out / "profile.md", r.report);
    std::cout << r.report;
    return 0;
  }

 private:
  // The CPU side by cores, measured on this machine, on the profile's GPU cells.
  void add_cpu_side(job::ProfileResult& r) {
    cpu_side_.binary = this_executable().string();
    cpu_side_.date = options_.date;
    const ScopedTempDir scratch(std::filesystem::temp_directory_path(), "reelscale-cpu-side-");
    const job::CpuSideResult c = job::measure_cpu_side(cpu_side_, scratch.path());
    const int cells = job::apply_cpu_side(r.profile, c.curve, plan::default_prices().gpu_container_cores);
    r.raw["cpu_side_by_cores"] = c.raw;
    r.report += c.report + "\nThe curve's shape is on " + std::to_string(cells) +
                " GPU cell(s), each at its own figure on the price table's default cores.\n";
  }

  // `profile --cluster`: this command again, as a Slurm task on a node of the class.
  int run_on_node() {
    const exec::ClusterFile cluster = exec::read_cluster_file(cluster_file_);
    job::NodeProfileOptions o;
    o.cluster_class = app_->count("--hardware") ? options_.hardware : "";
    o.out_dir = std::filesystem::absolute(out_dir_).string();
    o.binary = cluster.binary.empty() ? this_executable().string() : cluster.binary;
    o.date = record::utc_today();
    if (quick_) o.profiler_args.push_back("--quick");
    if (app_->count("--lengths")) {
      o.profiler_args.push_back("--lengths");
      for (int len : options_.lengths) o.profiler_args.push_back(std::to_string(len));
    }
    std::vector<std::string>& args = o.profiler_args;
    if (app_->count("--ai-frames")) args.insert(args.end(), {"--ai-frames", std::to_string(options_.ai_frames)});
    if (!settings_.models_dir.empty()) args.insert(args.end(), {"--models", settings_.models_dir});
    make_output_folder(o.out_dir);
    check_output_path(std::filesystem::path(o.out_dir) / "profile.json", "");
    exec::SlurmCli slurm;
    const job::NodeProfile r = job::profile_on_node(cluster, o, slurm);
    const std::filesystem::path out(o.out_dir);
    write_file_atomically(out / "profile.json", plan::to_json(r.profile).dump(2) + "\n");
    write_file_atomically(out / "profile.md", r.report);
    std::cout << "profile of class " << cluster.pick(o.cluster_class).first << " measured on node " << r.node
              << (r.dispatch_s >= 0 ? ", dispatch " + format_number(r.dispatch_s) + " s" : std::string()) << ": "
              << (out / "profile.json").string() << "\n";
    return 0;
  }

  CLI::App* app_;
  std::string out_dir_, cluster_file_;
  job::ProfilerOptions options_;
  job::CpuSideOptions cpu_side_;
  bool quick_ = false;
  process::ModelSettings settings_;
};

}  // namespace

std::unique_ptr<Command> make_profile_command(CLI::App& parent) { return std::make_unique<ProfileCommand>(parent); }
std::unique_ptr<Command> make_cores_command(CLI::App& parent) { return std::make_unique<CoresCommand>(parent); }
std::unique_ptr<Command> make_startup_age_command(CLI::App& parent) {
  return std::make_unique<StartupAgeCommand>(parent);
}

}  // namespace reelscale::cli
