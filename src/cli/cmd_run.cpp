// cli/cmd_run.cpp — `reelscale run job.json` (one job end to end, on local slots, on
// remote workers or on a Slurm cluster, with S3/R2 or local storage) and `reelscale worker --listen
// HOST:PORT` (the chunk-task service).
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/executor_options.h"
#include "cli/media_limit_options.h"
#include "cli/model_options.h"
#include "cli/plan_options.h"
#include "cli/progress.h"
#include "cli/signals.h"
#include "access/tokens.h"
#include "common/files.h"
#include "common/cores.h"
#include "exec/remote_executor.h"
#include "exec/worker.h"
#include "job/job_flow.h"
#include "job/machine_check.h"
#include "job/node_profile.h"
#include "process/processors.h"

namespace reelscale::cli {

namespace {

class RunCommand final : public Command {
 public:
  explicit RunCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("run", "Run a job end to end: plan, split, dispatch, join, store the output (detect: one frame, its JSON)");
    app_->add_option("job", job_file_, "Job spec JSON (input and output may be local paths or s3:// URLs)")->required();
    app_->add_option("--chunks", chunks_, "Force the chunk count (default: the planner's)");
    app_->add_option("--hardware", hardware_, "Force the hardware type the plan assumes (CPU for local slots)");
    app_->add_option("--workers", workers_, "Remote worker URLs (comma-separated); default: local slots")->delimiter(',');
    executor_.add_to(app_);
    app_->add_option("--slots", slots_, "Local slots (default: cores)");
    app_->add_option("--profile", profile_, "Profile: reelscale (default; on local slots its local variant), old-system, or a profile JSON");
    app_->add_flag("--no-machine-check", no_machine_check_,
                   "Local slots without --profile: plan with the built-in figures as they are, not fitted to this "
                   "machine by a start-up check (one or two seconds)");
    app_->add_option("--deadline", deadline_s_, "Policy deadline, seconds");
    app_->add_option("--task-deadline", task_deadline_s_, "Seconds before a remote attempt is given up");
    app_->add_option("--max-attempts", max_attempts_, "Failed attempts per chunk before the job fails");
    app_->add_flag("--no-speculate", no_speculate_, "Do not re-run stragglers on a second worker");
    app_->add_option("--temp-prefix", temp_prefix_, "Where chunk objects go (default: beside the output)");
    models_.add_to(app_);
    limits_.add_to(app_);
    app_->add_flag("--json", json_, "Print the job record as JSON");
    app_->add_option("--token-file", token_file_, "Bearer token for the workers (first line; also REELSCALE_TOKEN)");
  }
  CLI::App* app() const override { return app_; }
  int run() override {
    std::atomic<bool> cancel{false};
    SignalWatcher signals([&](int) { cancel = true; });
    const process::JobSpec spec = process::parse_job_spec(plan::read_json_file(job_file_));
    store::ObjectStore store;
    process::Processors processors(models_.resolve());
    if (spec.endpoint == process::Endpoint::kDetect) {
      const record::JobRecord r = job::run_detect_job(spec, store, [&processors](const auto& s, const auto& src, const auto& p) {
        return processors.detect(s, src, p);
      });
      job::throw_if_failed(r);
      std::cout << (json_ ? record::to_json(r) : r.result).dump(2) << "\n";
      return 0;
    }
    job::JobOptions options = job_options(&cancel);
    ProgressDisplay progress(std::string("run ") + process::endpoint_name(spec.endpoint));
    options.progress = [&](int64_t done, int64_t total) { progress.update(done, total); };
    const std::unique_ptr<exec::Executor> executor = make_executor(processors, store);
    job::apply_cluster_facts(options.planning, *executor);  // a Slurm cluster's nodes, window and price
    if (const exec::ClusterFacts facts = executor->cluster_facts(); facts.batch_cluster) {
      const std::string warning = job::node_profile_warning(options.planning.profile, process::endpoint_name(spec.endpoint),
                                                            executor->hardware(), facts.cpu_quota);
      if (!warning.empty()) std::cerr << "run: " << warning << "\n";
    }
    if (executor->owned_capacity().slots > 0 && profile_.empty() && !no_machine_check_) {
      const job::MachineCheck check = job::check_machine_speed(options.scratch);
      std::cerr << "run: the built-in local profile, fitted to this machine: " << check.describe() << "\n";
      options.planning.local_profile = job::local_profile_fitted(check);
    }
    const record::JobRecord r = job::run_job(spec, *executor, store, options);
    progress.finish();
    if (json_) {
      std::cout << record::to_json(r).dump(2) << "\n";
      if (!r.ok()) return error_exit_code(error_kind_from_name(r.error_kind));
      return 0;
    }
    job::throw_if_failed(r);
    print_summary(r);
    return 0;
  }

 private:
  job::JobOptions job_options(const std::atomic<bool>* cancel) const {
    job::JobOptions options;
    options.chunks = chunks_;
    options.hardware = hardware_;
    if (!profile_.empty()) {
      options.planning.profile = plan::named_profile(profile_);
      options.planning.profile_given = true;
    }
    if (deadline_s_ > 0) options.planning.policy.deadline_s = deadline_s_;
    options.temp_prefix = temp_prefix_;
    options.process_age_s = seconds_since_process_start();
    options.cancel = cancel;
    options.task_deadline_s = task_deadline_s_;
    options.media_limits = limits_.limits;
    return options;
  }

  std::unique_ptr<exec::Executor> make_executor(process::Processors& processors, store::ObjectStore& store) const {
    const std::string kind = executor_.chosen(!workers_.empty());
    if (kind == "slurm") {
      exec::AttemptPolicy attempts;
      attempts.max_attempts = max_attempts_;
      attempts.speculate = !no_speculate_;
      return executor_.make_slurm(hardware_, attempts, store);
    }
    if (kind == "local") {
      exec::LocalExecutorOptions local;
      local.slots = slots_;
      local.set_threads = processors.thread_setter();
      local.media_limits = limits_.limits;
      return std::make_unique<exec::LocalExecutor>(local, processors.maker(), store);
    }
    exec::RemoteOptions remote;
    remote.workers = workers_;
    remote.max_attempts = max_attempts_;
    remote.speculate = !no_speculate_;
    remote.hardware = hardware_;
    remote.token = access::client_token(token_file_).value_or("");
    return std::make_unique<exec::RemoteExecutor>(remote, store);
  }

  static void print_summary(const record::JobRecord& r) {
    auto t = [&](const char* name) { return r.timings_s.count(name) ? r.timings_s.at(name) : 0.0; };
    std::printf("%s -> %s: %lld frames in %d chunks on %s, %.2f s total\n", r.input.c_str(), r.output.c_str(),
                static_cast<long long>(r.frames), r.chunks, r.executor.c_str(), t("total"));
    std::printf("  probe %.2f  plan %.3f  dispatch %.2f  collect %.2f  join %.2f  upload %.2f  cleanup %.2f s\n",
                t("probe"), t("plan"), t("dispatch"), t("collect_chunks"), t("join"), t("final_upload"), t("cleanup"));
    if (r.plan && r.plan->note.empty() && r.plan->platform_model == "local") {
      std::printf("  predicted: %.1f s mean, %.1f s p90, %.1f core-seconds (%s x%d, profile %s %s); used %.1f "
                  "core-seconds (cloud-equivalent $%.4f)\n",
                  r.plan->wall_mean_s, r.plan->wall_p90_s, r.plan->core_seconds, r.plan->hardware.c_str(), r.plan->chunks,
                  r.plan->profile_name.c_str(), r.plan->profile_version.c_str(), r.core_seconds, r.cloud_equivalent_usd);
      if (!r.plan->reason.empty()) std::printf("  plan: %s\n", r.plan->reason.c_str());
    } else if (r.plan && r.plan->note.empty()) {
      std::printf("  predicted: %.1f s mean, %.1f s p90, $%.4f (%s x%d, profile %s %s); billed %.1f s, $%.4f\n",
                  r.plan->wall_mean_s, r.plan->wall_p90_s, r.plan->cost_usd, r.plan->hardware.c_str(), r.plan->chunks,
                  r.plan->profile_name.c_str(), r.plan->profile_version.c_str(), r.billed_seconds, r.cost_usd);
      if (!r.plan->reason.empty()) std::printf("  plan: %s\n", r.plan->reason.c_str());
    } else if (r.plan) {
      std::printf("  no prediction: %s\n", r.plan->note.c_str());
    }
  }

  CLI::App* app_;
  std::string job_file_, hardware_, profile_, temp_prefix_, token_file_;
  std::vector<std::string> workers_;
  int chunks_ = 0, slots_ = 0, max_attempts_ = 3;
  double deadline_s_ = 0, task_deadline_s_ = 0;
  bool no_speculate_ = false, json_ = false, no_machine_check_ = false;
  ModelOptions models_;
  MediaLimitOptions limits_;
  ExecutorOptions executor_;
};

class WorkerCommand final : public Command {
 public:
  explicit WorkerCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("worker", "Serve chunk tasks over HTTP (POST /tasks, GET /healthz)");
    app_->add_option("--listen", listen_, "HOST:PORT (port 0: any free port, printed)");
    app_->add_option("--concurrency", options_.max_concurrency, "Tasks at once (more get 429)");
    app_->add_option("--scratch", scratch_, "Folder for chunk files before upload");
    app_->add_option("--model", preload_, "Models to load at start (framing_ai)")->delimiter(',');
    app_->add_option("--token-file", token_file_,
                     "Bearer tokens to accept, one per line (also REELSCALE_TOKEN, comma-separated)");
    app_->add_option("--allow", allow_,
                     "Storage prefix tasks may read and write (a local folder or s3://bucket/prefix/); repeatable. "
                     "Default: s3:// only, no local paths");
    app_->add_option("--max-body-bytes", options_.max_body_bytes, "Largest task body accepted (413 beyond)");
    app_->add_option("--max-task-seconds", options_.max_task_seconds, "Longest a task may run (408 beyond)");
    app_->add_flag("--insecure-no-token", insecure_, "Listen beyond loopback without a token (behind a trusted proxy only)");
    models_.add_to(app_);
    limits_.add_to(app_);
  }
  CLI::App* app() const override { return app_; }
  int run() override {
    parse_listen(listen_, options_.host, options_.port);
    options_.tokens = access::TokenSet::load(token_file_);
    options_.allow = access::StorageAllowlist(allow_);
    const bool loopback = options_.host == "127.0.0.1" || options_.host == "localhost" || options_.host == "::1";
    if (options_.tokens.empty() && !loopback && !insecure_) {
      fail(ErrorKind::kBadInput, "a worker listening on " + options_.host +
                                     " needs --token-file or REELSCALE_TOKEN (or --insecure-no-token behind a trusted proxy)");
    }
    if (!scratch_.empty()) options_.scratch = scratch_;
    options_.media_limits = limits_.limits;
    store::ObjectStore store;
    process::Processors processors(models_.resolve());
    processors.set_cpu_threads(threads_per_slot(options_.max_concurrency));
    for (const std::string& m : preload_) processors.load_model(m);  // loaded once, before serving
    options_.set_threads = processors.thread_setter();
    exec::WorkerService worker(options_, processors.maker(), store);
    const int port = worker.bind();
    SignalWatcher signals([&](int) { worker.stop(); });
    std::printf("reelscale worker listening on http://%s:%d (concurrency %d, %zu models loaded, %s, storage: %s)\n",
                options_.host.c_str(), port, options_.max_concurrency, processors.models_loaded(),
                options_.tokens.empty() ? "no token" : (std::to_string(options_.tokens.size()) + " token(s)").c_str(),
                options_.allow.describe().c_str());
    std::fflush(stdout);
    worker.serve();
    return 0;
  }

 private:
  CLI::App* app_;
  std::string listen_ = "127.0.0.1:8090", scratch_, token_file_;
  std::vector<std::string> preload_, allow_;
  bool insecure_ = false;
  exec::WorkerOptions options_;
  ModelOptions models_;
  MediaLimitOptions limits_;
};

}  // namespace

std::unique_ptr<Command> make_run_command(CLI::App& parent) { return std::make_unique<RunCommand>(parent); }
std::unique_ptr<Command> make_worker_command(CLI::App& parent) { return std::make_unique<WorkerCommand>(parent); }

}  // namespace reelscale::cli
