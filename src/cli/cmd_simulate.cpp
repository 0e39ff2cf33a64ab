// cli/cmd_simulate.cpp — `reelscale simulate` (a day of jobs against the platform
// model, one decider or the adaptive-versus-fixed comparison) and `reelscale report`
// (cost at usage levels as CSV, SVG and Markdown).
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <set>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "plan/record_report.h"
#include "serve/submission.h"
#include "serve/job_store.h"
#include "cli/plan_options.h"
#include "common/error.h"
#include "common/files.h"
#include "plan/report.h"
#include "plan/simulator.h"

namespace reelscale::cli {

namespace {

nlohmann::json result_json(const plan::SimulationResult& r) {
  return {{"jobs", r.jobs}, {"tasks", r.tasks}, {"cold_starts", r.cold_starts}, {"warm_starts", r.warm_starts},
          {"latency_s", {{"mean", r.latency_mean_s}, {"p50", r.latency_p50_s}, {"p90", r.latency_p90_s},
                         {"p95", r.latency_p95_s}, {"p99", r.latency_p99_s}}},
          {"queue_wait_mean_s", r.queue_wait_mean_s}, {"billed_container_s", r.billed_container_s},
          {"gpu_billed_s", r.gpu_billed_s}, {"busy_container_s", r.busy_container_s}, {"idle_share", r.idle_share},
          {"cost_usd", r.cost_usd}, {"orchestrator_cost_usd", r.orchestrator_cost_usd},
          {"max_containers", r.max_containers_seen}, {"choices", r.jobs_by_choice}, {"simulation_seconds", r.wall_seconds}};
}

void print_result(const std::string& name, const plan::SimulationResult& r) {
  std::cout << std::fixed << std::setprecision(2) << name << ": " << r.jobs << " jobs, $" << r.cost_usd << " ($"
            << std::setprecision(4) << (r.jobs ? r.cost_usd / r.jobs : 0) << "/job), latency p50 " << std::setprecision(1)
            << r.latency_p50_s << " s, p95 " << r.latency_p95_s << " s, p99 " << r.latency_p99_s << " s\n"
            << "  " << r.billed_container_s / 3600 << " container-hours billed (" << r.gpu_billed_s / 3600
            << " GPU), idle share " << std::setprecision(0) << 100 * r.idle_share << "%, " << r.cold_starts
            << " cold / " << r.warm_starts << " warm starts, at most " << r.max_containers_seen << " containers; simulated in "
            << std::setprecision(3) << r.wall_seconds << " s\n  choices:";
  for (const auto& [k, v] : r.jobs_by_choice) std::cout << " " << k << "=" << v;
  std::cout << "\n";
}

struct WorkloadOptions {
  std::string lengths = "lognormal:20,60";
  double jobs_per_day = 1000;
  uint64_t seed = 1;
  void add_to(CLI::App* app) {
    app->add_option("--lengths", lengths, "Clip lengths: lognormal:MEDIAN,P90 | uniform:A,B | list:5,10,30 | FILE");
    app->add_option("--seed", seed, "Random seed");
  }
  plan::Workload make(const PlanOptions& o) const {
    plan::Workload w;
    w.endpoint = o.endpoint;
    w.model = o.model;
    w.jobs_per_day = jobs_per_day;
    w.hourly = plan::Workload::default_hourly();
    w.length_s = plan::parse_lengths(lengths);
    w.fps = o.fps;
    w.output_pixels = o.pixels();
    w.seed = seed;
    return w;
  }
};

// Interpolated cost of a (p95, cost) curve at a given p95; NaN outside it.
double cost_at_p95(std::vector<std::pair<double, double>> curve, double p95) {
  std::sort(curve.begin(), curve.end());
  for (size_t i = 1; i < curve.size(); ++i) {
    if (p95 >= curve[i - 1].first && p95 <= curve[i].first) {
      const double t = (p95 - curve[i - 1].first) / std::max(1e-9, curve[i].first - curve[i - 1].first);
      return curve[i - 1].second + t * (curve[i].second - curve[i - 1].second);
    }
  }
  return NAN;
}

class SimulateCommand final : public Command {
 public:
  explicit SimulateCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("simulate", "Replay a day of jobs against the platform model");
    options_.add_to(app_);
    workload_.add_to(app_);
    app_->add_option("--jobs-per-day", workload_.jobs_per_day, "Arrivals per day");
    app_->add_option("--decider", decider_, "planner | thresholds | old-table");
    app_->add_flag("--adaptive", adaptive_, "The planner sees the warm pool, queue and arrival rate");
    app_->add_flag("--compare", compare_,
                  "Adaptive planner against the best fixed threshold table, across deadlines; with a --policy that has a "
                  "schedule: the scheduled policy against the load-adaptive one (its base) over the day");
    app_->add_flag("--json", json_, "JSON output");
  }
  CLI::App* app() const override { return app_; }
  int run() override {
    PlanInputs in = options_.load();
    const plan::Workload w = workload_.make(options_);
    if (compare_ && in.scheduled.scheduled()) return compare_schedule(in, w);
    if (compare_) return compare(in, w);
    in.policy.adaptive = adaptive_;
    const plan::Planner planner{in.profile, in.prices, in.platform, in.policy};
    plan::ThresholdTable table;
    plan::Decider decide;
    if (decider_ == "planner") {
      decide = plan::planner_decider(planner);
    } else if (decider_ == "thresholds") {
      table = plan::sweep_thresholds(planner, w.endpoint, 0.5, 600, w.fps, w.output_pixels, w.model);
      decide = plan::table_decider(table);
    } else if (decider_ == "old-table") {
      table = plan::old_system_table();
      decide = plan::table_decider(table);
    } else {
      fail(ErrorKind::kBadInput, "--decider '" + decider_ + "' is not planner, thresholds or old-table");
    }
    const plan::SimulationResult r = plan::simulate(in.profile, in.prices, in.platform, w, decide);
    const plan::FigureNotes notes = plan::figure_notes(
        in.profile, plan::JobShape::of_length(w.endpoint, 1, w.fps, w.output_pixels, w.model), planner.hardware(w.endpoint));
    if (json_) {
      nlohmann::json j = result_json(r);
      j["notes"] = notes.lines;
      j["mixed_provenance"] = notes.mixed;
      std::cout << j.dump(2) << "\n";
    } else {
      for (const std::string& n : notes.lines) std::cout << n << "\n";
      print_result(decider_ + (adaptive_ ? " (adaptive)" : "") + ", " + in.policy.describe(), r);
    }
    return 0;
  }

 private:
  int compare(PlanInputs in, const plan::Workload& w) {
    std::vector<std::pair<double, double>> fixed_curve, adaptive_curve;
    nlohmann::json out = nlohmann::json::array();
    const std::vector<double> deadlines = {30, 45, 60, 90, 120, 180, 300, 600};
    std::cout << "deadline | fixed table: p95 s, $/day | adaptive planner: p95 s, $/day\n";
    for (double d : deadlines) {
      in.policy.deadline_s = d;
      in.policy.adaptive = false;
      const plan::Planner fixed_planner{in.profile, in.prices, in.platform, in.policy};
      const plan::ThresholdTable table = plan::sweep_thresholds(fixed_planner, w.endpoint, 0.5, 600, w.fps, w.output_pixels, w.model);
      const auto fixed = plan::simulate(in.profile, in.prices, in.platform, w, plan::table_decider(table));
      plan::Policy ap = in.policy;
      ap.adaptive = true;
      const plan::Planner adaptive_planner{in.profile, in.prices, in.platform, ap};
      const auto adaptive = plan::simulate(in.profile, in.prices, in.platform, w, plan::planner_decider(adaptive_planner));
      fixed_curve.push_back({fixed.latency_p95_s, fixed.cost_usd});
      adaptive_curve.push_back({adaptive.latency_p95_s, adaptive.cost_usd});
      std::cout << std::fixed << std::setprecision(0) << std::setw(8) << d << " | " << std::setprecision(1)
                << std::setw(8) << fixed.latency_p95_s << ", " << std::setprecision(2) << std::setw(8) << fixed.cost_usd
                << " | " << std::setprecision(1) << std::setw(8) << adaptive.latency_p95_s << ", " << std::setprecision(2)
                << std::setw(8) << adaptive.cost_usd << "\n";
      out.push_back({{"deadline_s", d}, {"fixed", result_json(fixed)}, {"adaptive", result_json(adaptive)}});
    }
    std::cout << "\ncost per day at equal p95 latency (interpolated on the fixed table's curve):\n";
    for (const auto& [p95, cost] : adaptive_curve) {
      const double fixed_cost = cost_at_p95(fixed_curve, p95);
      if (std::isnan(fixed_cost)) {
        std::cout << "  p95 " << std::setprecision(1) << p95 << " s: adaptive $" << std::setprecision(2) << cost
                  << ", outside the fixed table's range\n";
      } else {
        std::cout << "  p95 " << std::setprecision(1) << p95 << " s: adaptive $" << std::setprecision(2) << cost
                  << " vs fixed $" << fixed_cost << " (" << std::showpos << std::setprecision(1)
                  << 100 * (cost / fixed_cost - 1) << std::noshowpos << "%)\n";
      }
    }
    if (json_) std::cout << out.dump(2) << "\n";
    return 0;
  }

  // The 95th percentile latency of the jobs that arrived in the hours `entry` covers.
  static double p95_of_entry(const plan::SimulationResult& r, const plan::ScheduledPolicy& s, const std::string& entry,
                             int64_t& jobs) {
    std::vector<double> l;
    for (const auto& [arrival, latency] : r.job_latencies) {
      if (s.at_local_hour(static_cast<int>(arrival / 3600) % 24).entry == entry) l.push_back(latency);
    }
    jobs = static_cast<int64_t>(l.size());
    if (l.empty()) return 0;
    std::sort(l.begin(), l.end());
    return l[static_cast<size_t>(0.95 * static_cast<double>(l.size() - 1))];
  }

  // The scheduled policy (each hour's entry) against the load-adaptive planner on the
  // base policy, over the same simulated day; the p95 latency per schedule entry.
  int compare_schedule(const PlanInputs& in, const plan::Workload& w) {
    std::vector<plan::Policy> policies;  // the planners hold references: these outlive them
    for (int h = 0; h < 24; ++h) policies.push_back(in.scheduled.at_local_hour(h).policy);
    std::vector<plan::Planner> by_hour;
    for (const plan::Policy& p : policies) by_hour.emplace_back(in.profile, in.prices, in.platform, p);
    const auto scheduled = plan::simulate(in.profile, in.prices, in.platform, w, plan::scheduled_decider(by_hour));
    plan::Policy adaptive_policy = in.scheduled.base();
    adaptive_policy.adaptive = true;
    const plan::Planner adaptive_planner{in.profile, in.prices, in.platform, adaptive_policy};
    const auto adaptive = plan::simulate(in.profile, in.prices, in.platform, w, plan::planner_decider(adaptive_planner));
    std::set<std::string> entries;
    for (int h = 0; h < 24; ++h) entries.insert(in.scheduled.at_local_hour(h).entry);
    nlohmann::json out = {{"scheduled", result_json(scheduled)}, {"load_adaptive", result_json(adaptive)},
                          {"policy", in.scheduled.to_json()}, {"entries", nlohmann::json::array()}};
    std::cout << "scheduled policy (" << in.scheduled.time_zone() << " hours) against the load-adaptive planner on its "
              << "base, " << scheduled.job_latencies.size() << " jobs arrived over the simulated day (" << w.jobs_per_day
              << " a day on average)\n\n"
              << "entry            | jobs | scheduled p95 s | load-adaptive p95 s\n";
    for (const std::string& e : entries) {
      int64_t jobs = 0, jobs_adaptive = 0;
      const double p_s = p95_of_entry(scheduled, in.scheduled, e, jobs);
      const double p_a = p95_of_entry(adaptive, in.scheduled, e, jobs_adaptive);
      std::cout << std::left << std::setw(16) << e << " | " << std::right << std::setw(4) << jobs << " | " << std::fixed
                << std::setprecision(1) << std::setw(15) << p_s << " | " << std::setw(19) << p_a << "\n";
      out["entries"].push_back({{"entry", e}, {"jobs", jobs}, {"scheduled_p95_s", p_s}, {"load_adaptive_p95_s", p_a}});
    }
    std::cout << std::setprecision(2) << "\nall day: scheduled p95 " << scheduled.latency_p95_s << " s, $"
              << scheduled.cost_usd << "/day; load-adaptive p95 " << adaptive.latency_p95_s << " s, $" << adaptive.cost_usd
              << "/day\n";
    if (json_) std::cout << out.dump(2) << "\n";
    return 0;
  }

  CLI::App* app_;
  PlanOptions options_;
  WorkloadOptions workload_;
  std::string decider_ = "planner";
  bool adaptive_ = false, compare_ = false, json_ = false;
};

class ReportCommand final : public Command {
 public:
  explicit ReportCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("report", "Cost at usage levels: $/month, GPU-hours, latency per policy");
    options_.add_to(app_);
    workload_.add_to(app_);
    app_->add_option("--volumes", volumes_, "Videos per day")->delimiter(',');
    app_->add_option("--out", out_dir_, "Folder for report.csv, report.svg and report.md")->required();
    app_->add_option("--from-db", from_db_, "The job service's store (reelscale serve --db): the report from its real records");
    app_->add_option("--by", by_label_, "With --from-db: cost per value of this job label (e.g. user_id), to by_<label>.csv");
  }
  CLI::App* app() const override { return app_; }
  int run() override {
    if (!by_label_.empty() && from_db_.empty()) fail(ErrorKind::kBadInput, "--by needs --from-db");
    if (!by_label_.empty()) return report_by_label();
    if (!from_db_.empty()) return report_from_db();
    const PlanInputs in = options_.load();
    const plan::Workload w = workload_.make(options_);
    make_output_folder(out_dir_);
    check_output_path(std::filesystem::path(out_dir_) / "report.md", "");
    plan::Policy adaptive_policy = in.policy;
    adaptive_policy.adaptive = true;
    const plan::Planner planner{in.profile, in.prices, in.platform, in.policy};
    const plan::Planner adaptive{in.profile, in.prices, in.platform, adaptive_policy};
    const plan::ThresholdTable table = plan::sweep_thresholds(planner, w.endpoint, 0.5, 600, w.fps, w.output_pixels, w.model);
    const plan::ThresholdTable old = plan::old_system_table();
    std::vector<plan::Scenario> scenarios = {{"planner per job", plan::planner_decider(planner)},
                                             {"planner, adaptive", plan::planner_decider(adaptive)},
                                             {"fixed thresholds (planner's table)", plan::table_decider(table)}};
    if (w.endpoint == "framing_ai" && in.profile.has("framing_ai", "T4")) {
      scenarios.push_back({"old system's table (T4 x1/x2/x4)", plan::table_decider(old)});
    }
    const auto rows = plan::usage_report(in.profile, in.prices, in.platform, w, volumes_, scenarios);
    std::ostringstream context;
    context << "Endpoint " << w.endpoint << ", clip lengths " << workload_.lengths << " s, profile '" << in.profile.name
            << "', policy: " << in.policy.describe() << ". One simulated day per row (arrivals follow a time-of-day "
            << "curve), a month = 30 days. Generated by `reelscale report`.";
    const plan::FigureNotes notes = plan::figure_notes(
        in.profile, plan::JobShape::of_length(w.endpoint, 1, w.fps, w.output_pixels, w.model), planner.hardware(w.endpoint));
    for (const std::string& n : notes.lines) context << "\n\n" << n;
    const std::string md = plan::report_markdown(rows, context.str());
    write_file_atomically(std::filesystem::path(out_dir_) / "report.csv", plan::report_csv(rows));
    write_file_atomically(std::filesystem::path(out_dir_) / "report.svg", plan::report_svg(rows));
    write_file_atomically(std::filesystem::path(out_dir_) / "report.md", md);
    std::cout << md;
    return 0;
  }

 private:
  // Cost per value of one label over every finished job in the store (cancelled ones
  // included: what they ran was paid for), most costly first.
  int report_by_label() {
    if (!serve::valid_label_key(by_label_)) fail(ErrorKind::kBadInput, "--by '" + by_label_ + "' is not a label key");
    if (!std::filesystem::exists(from_db_)) fail(ErrorKind::kNotFound, "no job store at " + from_db_);
    make_output_folder(out_dir_);
    const std::filesystem::path csv_path = std::filesystem::path(out_dir_) / ("by_" + by_label_ + ".csv");
    check_output_path(csv_path, "");
    serve::JobStore store(from_db_);
    std::ostringstream csv, md;
    csv << by_label_ << ",jobs,done,failed,cost_usd,cloud_equivalent_usd,billed_seconds,clip_minutes,usd_per_clip_minute\n";
    md << "| " << by_label_ << " | jobs | done | failed | cost $ | cloud-equivalent $ | billed s | clip min | $ per clip min |\n"
       << "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const serve::LabelTotals& t : store.totals_by_label(by_label_, 0, 1000000)) {
      const std::string value = t.value.empty() ? "(no " + by_label_ + ")" : t.value;
      const double minutes = t.clip_s / 60, usd = t.cost_usd + t.cloud_equivalent_usd;
      csv << csv_field(value) << "," << t.jobs << "," << t.done << "," << t.failed << "," << t.cost_usd << ","
          << t.cloud_equivalent_usd << "," << t.billed_seconds << "," << minutes << "," << (minutes > 0 ? usd / minutes : 0)
          << "\n";
      md << "| " << value << " | " << t.jobs << " | " << t.done << " | " << t.failed << " | " << plan::money_text(t.cost_usd)
         << " | " << plan::money_text(t.cloud_equivalent_usd) << " | " << std::fixed << std::setprecision(1)
         << t.billed_seconds << " | " << minutes << " | " << plan::money_text(minutes > 0 ? usd / minutes : 0) << " |\n";
      md.unsetf(std::ios::fixed);
    }
    write_file_atomically(csv_path, csv.str());
    std::cout << "Cost per " << by_label_ << " from the job store `" << from_db_ << "` (every finished job; written to "
              << csv_path.string() << ")\n\n" << md.str();
    return 0;
  }

  static std::string csv_field(const std::string& v) {
    if (v.find_first_of(",\"\n") == std::string::npos) return v;
    std::string out = "\"";
    for (const char c : v) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
  }

  // The spreadsheet from real records: every finished job in the store.
  int report_from_db() {
    if (!std::filesystem::exists(from_db_)) fail(ErrorKind::kNotFound, "no job store at " + from_db_);
    make_output_folder(out_dir_);
    check_output_path(std::filesystem::path(out_dir_) / "report.md", "");
    serve::JobStore store(from_db_);
    serve::JobFilter all;
    all.limit = 100000000;
    std::vector<record::JobRecord> records;
    for (const serve::StoredJob& j : store.list(all)) {
      if (!j.finished() || j.record_json.empty() || j.state == "cancelled") continue;
      records.push_back(record::record_from_json(nlohmann::json::parse(j.record_json)));
    }
    const plan::RecordReport r = plan::report_from_records(records, volumes_);
    const std::string md = plan::record_report_markdown(
        r, "From the job records in `" + from_db_ + "` (finished jobs; cancelled ones left out). Usage levels repeat the "
           "observed mix of endpoints and clip lengths; a month is 30 days. Generated by `reelscale report --from-db`.");
    write_file_atomically(std::filesystem::path(out_dir_) / "report.csv", plan::record_report_csv(r));
    write_file_atomically(std::filesystem::path(out_dir_) / "report.svg", plan::record_report_svg(r));
    write_file_atomically(std::filesystem::path(out_dir_) / "report.md", md);
    std::cout << md;
    return 0;
  }

  CLI::App* app_;
  PlanOptions options_;
  WorkloadOptions workload_;
  std::vector<double> volumes_ = {100, 1000, 10000};
  std::string out_dir_, by_label_;
  std::string from_db_;
};

}  // namespace

std::unique_ptr<Command> make_simulate_command(CLI::App& parent) { return std::make_unique<SimulateCommand>(parent); }
std::unique_ptr<Command> make_report_command(CLI::App& parent) { return std::make_unique<ReportCommand>(parent); }

}  // namespace reelscale::cli
