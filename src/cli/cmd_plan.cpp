// cli/cmd_plan.cpp — `reelscale plan` and `reelscale thresholds`: the planner's choice
// for one job with its breakdown and alternatives, and the clip-length threshold table.
#include <cmath>
#include <ctime>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

#include "cli/commands.h"
#include "cli/plan_options.h"
#include "common/error.h"
#include "common/files.h"
#include "common/json_fields.h"
#include "plan/calibrate.h"
#include "record/job_record.h"
#include "plan/planner.h"
#include "plan/thresholds.h"

namespace reelscale::cli {

namespace {

nlohmann::json estimate_json(const plan::Estimate& e) {
  return {{"platform_model", e.platform_model}, {"hardware", e.hardware}, {"chunks", e.chunks},
          {"concurrent", e.concurrent}, {"threads_per_chunk", e.threads_per_chunk}, {"core_seconds", e.core_seconds},
          {"cloud_equivalent_usd", e.cloud_equivalent_usd}, {"warm_chunks", e.warm_chunks},
          {"largest_chunk_frames", e.largest_chunk},
          {"time_s", {{"mean", e.wall_mean_s}, {"p90", e.wall_p90_s}}},
          {"breakdown_s",
           {{"orchestrator_start", e.orchestrator_mean_s}, {"slowest_startup_mean", e.startup_mean_s},
            {"slowest_startup_p90", e.startup_p90_s}, {"queue", e.queue_s}, {"transfer", e.transfer_s},
            {"preroll", e.preroll_s}, {"compute", e.compute_s}, {"join", e.join_s}, {"final_upload", e.final_upload_s},
            {"cleanup", e.cleanup_mean_s}}},
          {"cost_usd",
           {{"total", e.cost}, {"startup", e.cost_startup}, {"work", e.cost_work}, {"idle_tail", e.cost_idle_tail},
            {"orchestrator", e.cost_orchestrator}}},
          {"container_seconds", e.container_seconds}, {"compute_seconds", e.compute_seconds},
          {"container_cores", e.container_cores}, {"cores_chosen", e.cores_chosen},
          {"cpu_side_share", e.cpu_side_share}, {"cost_cores_usd", e.cost_cores}, {"encoder", e.nvenc ? "nvenc" : "x264"}};
}

// A grid row: the hardware, the cores its containers hold where the plan chose them, and
// NVENC where it encodes.
std::string grid_row_name(const plan::Estimate& e) {
  std::ostringstream os;
  os << e.hardware;
  if (e.cores_chosen) os << " " << e.container_cores << "c";
  if (e.nvenc) os << " nv";
  return os.str();
}

std::string f(double v, int p = 3) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(p) << v;
  return os.str();
}

class PlanCommand final : public Command {
 public:
  explicit PlanCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("plan", "Choose hardware and chunk count for a job, with the breakdown and alternatives");
    options_.add_to(app_);
    CLI::Option* length = app_->add_option("--length", length_s_, "Clip length in seconds (output)");
    CLI::Option* like = app_->add_option(
        "--like", like_record_,
        "A job record (run --json): plan that job as it was (its endpoint, frames, sizes, source, preset, content "
        "sample, key frames), under these inputs");
    length->excludes(like);
    like->excludes(length);
    app_->add_option("--input-mb", input_mb_, "Input size in MB (default: from the profile's source bitrate)");
    app_->add_flag("--all", all_, "List every candidate, not only the Pareto front and the grid");
    app_->add_flag("--json", json_, "Machine-readable output");
  }
  CLI::App* app() const override { return app_; }
  int run() override {
    if (like_record_.empty() && length_s_ <= 0) fail(ErrorKind::kBadInput, "plan needs --length SECONDS or --like RECORD");
    plan::JobShape job;
    if (!like_record_.empty()) {
      job = plan::job_shape_of(record::record_from_json(plan::read_json_file(like_record_)));
      options_.endpoint = job.endpoint;
    } else {
      job = plan::JobShape::of_length(options_.endpoint, length_s_, options_.fps, options_.pixels(), options_.model);
      options_.describe_work(job);
    }
    if (input_mb_ > 0) job.input_bytes = input_mb_ * 1e6;
    const PlanInputs in = options_.load();
    for (const std::string& warning : in.warnings) std::cerr << "plan: " << warning << "\n";
    const plan::Planner planner{in.profile, in.prices, in.platform, in.policy};
    const plan::PlanResult r = planner.plan(job);
    if (json_) {
      nlohmann::json pareto = nlohmann::json::array(), all = nlohmann::json::array();
      for (const auto& e : r.pareto) pareto.push_back(estimate_json(e));
      for (const auto& e : r.candidates) all.push_back(estimate_json(e));
      std::cout << nlohmann::json{{"job", {{"endpoint", job.endpoint}, {"frames", job.frames}, {"fps", job.fps},
                                           {"seconds", job.seconds()}, {"output_pixels", job.output_pixels}}},
                                  {"policy", plan::to_json(in.policy)}, {"policy_entry", in.policy_entry}, {"profile", in.profile.name},
                                  {"feasible", r.feasible}, {"reason", r.reason}, {"notes", r.notes},
                                  {"mixed_provenance", r.mixed_provenance}, {"chosen", estimate_json(r.chosen)},
                                  {"pareto", pareto}, {"candidates", all}, {"planning_ms", r.planning_ms}}
                       .dump(2)
                << "\n";
      return 0;
    }
    const bool p90 = in.policy.use_p90;
    std::cout << job.endpoint << ", " << f(job.seconds(), 2) << " s (" << job.frames << " frames at " << job.fps
              << " fps, " << options_.width << "x" << options_.height << "), profile '" << in.profile.name << "'\n"
              << "policy: " << in.policy.describe()
              << (in.scheduled.scheduled() ? " (schedule entry '" + in.policy_entry + "', " + in.scheduled.time_zone() + ")" : "")
              << "\n\n"
              << (r.feasible ? "choice: " : "INFEASIBLE — closest: ") << r.chosen.label() << "  (" << r.reason << ")\n";
    for (const std::string& note : r.notes) std::cout << "  " << note << "\n";
    print_breakdown(r.chosen);
    // Grid: time and cost for every hardware and N.
    std::cout << "\n" << (p90 ? "p90" : "mean") << " time s / cost $ for every hardware and chunk count:\n";
    std::map<std::tuple<std::string, double, bool>, std::map<int, const plan::Estimate*>> grid;
    int n_max = 0;
    for (const auto& e : r.candidates) {
      grid[{e.hardware, e.container_cores, e.nvenc}][e.chunks] = &e;
      n_max = std::max(n_max, e.chunks);
    }
    std::cout << std::left << std::setw(11) << "hardware";
    for (int n = 1; n <= n_max; ++n) std::cout << std::setw(15) << ("N=" + std::to_string(n));
    std::cout << "\n";
    for (const auto& [key, row] : grid) {
      std::cout << std::left << std::setw(11) << grid_row_name(*row.begin()->second);
      for (int n = 1; n <= n_max; ++n) {
        auto it = row.find(n);
        std::string cell = it == row.end() ? "-" : f(it->second->time(p90), 1) + "/" + f(it->second->cost, 4);
        const plan::Estimate& chosen = r.chosen;
        if (it != row.end() && it->second->hardware == chosen.hardware && n == chosen.chunks &&
            it->second->container_cores == chosen.container_cores && it->second->nvenc == chosen.nvenc) {
          cell = "*" + cell;
        }
        std::cout << std::setw(15) << cell;
      }
      std::cout << "\n";
    }
    std::cout << "\nPareto front (no other choice is both faster and cheaper):\n";
    for (const auto& e : r.pareto) {
      std::cout << "  " << std::left << std::setw(34) << e.label() << f(e.time(p90), 1) << " s  $" << f(e.cost, 4) << "\n";
    }
    if (all_) {
      std::cout << "\nall candidates:\n";
      for (const auto& e : r.candidates) {
        std::cout << "  " << std::left << std::setw(34) << e.label() << "mean " << f(e.wall_mean_s, 1) << " s, p90 "
                  << f(e.wall_p90_s, 1) << " s, $" << f(e.cost, 4) << "\n";
      }
    }
    std::cout << "\nplanned in " << f(r.planning_ms, 3) << " ms (" << r.candidates.size() << " candidates)\n";
    return 0;
  }

 private:
  static void print_breakdown(const plan::Estimate& e) {
    if (e.platform_model == "local") {
      std::cout << "  time:  mean " << f(e.wall_mean_s, 1) << " s = start " << f(e.orchestrator_mean_s, 2)
                << " + opening the model " << f(e.startup_mean_s, 2) << " + transfer " << f(e.transfer_s, 2)
                << " + pre-roll " << f(e.preroll_s, 2) << " + compute " << f(e.compute_s, 2) << " (" << e.chunks
                << " chunks, " << e.concurrent << " at once on " << e.threads_per_chunk << " threads)\n         + join "
                << f(e.join_s, 2) << " + final write " << f(e.final_upload_s, 2) << " + cleanup " << f(e.cleanup_mean_s, 2)
                << "\n  cost:  " << f(e.core_seconds, 1) << " core-seconds of owned slots, nothing billed (cloud-equivalent $"
                << f(e.cloud_equivalent_usd, 5) << ")\n";
      return;
    }
    std::cout << "  time:  mean " << f(e.wall_mean_s, 1) << " s, p90 " << f(e.wall_p90_s, 1) << " s\n"
              << "         orchestrator start " << f(e.orchestrator_mean_s, 2) << " + slowest of " << e.chunks
              << " start-ups " << f(e.startup_mean_s, 2) << " (p90 " << f(e.startup_p90_s, 2) << ")"
              << (e.warm_chunks ? " [" + std::to_string(e.warm_chunks) + " warm]" : "") << " + queue " << f(e.queue_s, 2)
              << "\n         + transfer " << f(e.transfer_s, 2) << " + pre-roll " << f(e.preroll_s, 2) << " + compute "
              << f(e.compute_s, 2) << " (" << e.largest_chunk << " frames)\n         + join " << f(e.join_s, 2)
              << " + final upload " << f(e.final_upload_s, 2) << " + cleanup " << f(e.cleanup_mean_s, 2) << "\n"
              << "  cost:  $" << f(e.cost, 5) << " = start-up $" << f(e.cost_startup, 5) << " + work $" << f(e.cost_work, 5)
              << " + idle tail $" << f(e.cost_idle_tail, 5) << " + orchestrator $" << f(e.cost_orchestrator, 5) << "\n"
              << "         " << f(e.container_seconds, 1) << " container-seconds billed, " << f(e.compute_seconds, 1)
              << " s of frame compute\n";
    print_cores(e);
  }

  // A container's cores: how many, how much of a frame waits on them, and what they cost.
  static void print_cores(const plan::Estimate& e) {
    std::cout << "  cores: " << format_number(e.container_cores) << " per container"
              << (e.cores_chosen ? " (chosen by the plan)" : " (fixed by the price table)");
    if (e.cpu_side_share > 0) {
      std::cout << ", the CPU side " << f(100 * e.cpu_side_share, 0) << " % of a frame's time"
                << (e.cpu_side_share >= 0.999 ? " (CPU-bound: the GPU waits)" : "");
    }
    std::cout << ", $" << f(e.cost_cores, 5) << " of the cost\n";
  }

  CLI::App* app_;
  PlanOptions options_;
  double length_s_ = 0;
  std::string like_record_;
  double input_mb_ = 0;
  bool all_ = false;
  bool json_ = false;
};

class ThresholdsCommand final : public Command {
 public:
  explicit ThresholdsCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("thresholds", "Clip-length thresholds: which hardware and chunk count, with break-evens");
    options_.add_to(app_);
    app_->add_option("--min", min_s_, "Shortest clip, seconds");
    app_->add_option("--max", max_s_, "Longest clip, seconds");
    app_->add_flag("--json", json_, "JSON output");
    app_->add_flag("--python", python_, "A Python dict literal shaped like the old system's table");
  }
  CLI::App* app() const override { return app_; }
  int run() override {
    const PlanInputs in = options_.load();
    const plan::Planner planner{in.profile, in.prices, in.platform, in.policy};
    const plan::ThresholdTable t =
        plan::sweep_thresholds(planner, options_.endpoint, min_s_, max_s_, options_.fps, options_.pixels(), options_.model);
    if (json_) std::cout << plan::to_json(t).dump(2) << "\n";
    else if (python_) std::cout << plan::to_python(t);
    else std::cout << plan::to_text(t);
    return 0;
  }

 private:
  CLI::App* app_;
  PlanOptions options_;
  double min_s_ = 0.5, max_s_ = 600;
  bool json_ = false, python_ = false;
};

class CalibrateCommand final : public Command {
 public:
  explicit CalibrateCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("calibrate", "Update a profile from job records (reelscale run --json output)");
    app_->add_option("records", records_, "Job record JSON files")->required();
    app_->add_option("--profile", profile_, "Profile to start from: reelscale (default), old-system, or a profile JSON");
    app_->add_option("--out", out_, "Where to write the updated profile")->required();
  }
  CLI::App* app() const override { return app_; }
  int run() override {
    plan::Profile p = plan::named_profile(profile_);
    std::vector<record::JobRecord> records;
    for (const std::string& f : records_) {
      try {
        records.push_back(record::record_from_json(plan::read_json_file(f)));
      } catch (const Error& e) {
        fail(ErrorKind::kBadInput, f + ": " + e.what());
      }
    }
    const plan::CalibrationSummary summary = plan::calibrate(p, records, record::utc_today());
    if (summary.records == 0) fail(ErrorKind::kBadInput, "no usable job records among the " + std::to_string(records.size()));
    p.name += "+calibrated";
    check_output_path(out_, "");
    write_file_atomically(out_, plan::to_json(p).dump(2) + "\n");
    std::cout << "calibrated " << p.name << " from " << summary.records << " record(s):\n";
    for (const auto& c : summary.changes) std::cout << "  " << c << "\n";
    return 0;
  }

 private:
  CLI::App* app_;
  std::vector<std::string> records_;
  std::string profile_, out_;
};

}  // namespace

std::unique_ptr<Command> make_calibrate_command(CLI::App& parent) { return std::make_unique<CalibrateCommand>(parent); }

std::unique_ptr<Command> make_plan_command(CLI::App& parent) { return std::make_unique<PlanCommand>(parent); }
std::unique_ptr<Command> make_thresholds_command(CLI::App& parent) { return std::make_unique<ThresholdsCommand>(parent); }

}  // namespace reelscale::cli
