// cli/cmd_serve.cpp — `reelscale serve`: the job service (serve/) on local shared slots
// or remote workers, with its SQLite job store, token and storage allowlist, and
// structured logs (text, or one JSON object a line with the job id as its own field).
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "access/allowlist.h"
#include "access/tokens.h"
#include "cli/commands.h"
#include "cli/executor_options.h"
#include "cli/media_limit_options.h"
#include "cli/model_options.h"
#include "cli/signals.h"
#include "common/cores.h"
#include "common/error.h"
#include "exec/remote_executor.h"
#include "exec/shared_slots.h"
#include "plan/inputs.h"
#include "process/processors.h"
#include "serve/http_api.h"
#include "serve/submission.h"

namespace reelscale::cli {

namespace {

// One JSON object a line: time, level, message, and job_id when the message is about one
// ("job <id>: ...").
class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string text(msg.payload.data(), msg.payload.size());
    nlohmann::json line = {{"time_unix_s", std::chrono::duration<double>(msg.time.time_since_epoch()).count()},
                           {"level", spdlog::level::to_string_view(msg.level).data()},
                           {"message", text}};
    if (text.rfind("job ", 0) == 0) {
      const auto colon = text.find(':');
      if (colon != std::string::npos) line["job_id"] = text.substr(4, colon - 4);
    }
    const std::string out = line.dump() + "\n";
    dest.append(out.data(), out.data() + out.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonLogFormatter>(); }
};

class ServeCommand final : public Command {
 public:
  explicit ServeCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("serve", "The job service: a JSON HTTP API under /v1 (docs/api/openapi.yaml)");
    app_->add_option("--listen", listen_, "HOST:PORT (port 0: any free port, printed)")->capture_default_str();
    app_->add_option("--db", db_, "SQLite job store (created if missing)")->required();
    app_->add_option("--token-file", token_file_, "Bearer tokens to accept, one per line (also REELSCALE_TOKEN)");
    app_->add_option("--allow", allow_, "Storage prefix jobs may read and write (local folder or s3://bucket/prefix/); "
                                        "repeatable. Default: s3:// only")->delimiter(',');
    app_->add_option("--workers", workers_, "Remote worker URLs (comma-separated); default: local slots")->delimiter(',');
    app_->add_option("--slots", slots_, "Local slots shared by all jobs (default: cores)");
    app_->add_option("--max-chunks-per-job", max_per_job_, "Slots one job may claim when it starts (default: all)");
    app_->add_option("--max-running", service_.max_running, "Jobs running at once");
    app_->add_option("--max-queued", service_.max_queued, "Jobs waiting before submissions get 429");
    app_->add_option("--profile", profile_, "Profile: reelscale, old-system, or a profile JSON");
    app_->add_option("--scratch", scratch_, "Folder for chunk files");
    app_->add_option("--max-attempts", max_attempts_, "Remote workers and Slurm: failed attempts per chunk before the job fails")
        ->check(CLI::Range(1, 100))
        ->capture_default_str();
    app_->add_option("--worker-token-file", worker_token_file_, "Bearer token for the remote workers");
    app_->add_option("--worker-hardware", worker_hardware_,
                     "What the remote workers run on, as the profile names it (e.g. CPU, T4); planned for it, with the "
                     "idle workers as its warm pool (default: the planner's choice among the profile's). With "
                     "--executor slurm: the cluster file's class (its idle nodes are the warm pool)");
    app_->add_flag("--no-machine-check", no_machine_check_,
                   "Local slots without a profile given or stored: plan with the built-in figures as they are, not "
                   "fitted to this machine by a start-up check (one or two seconds)");
    app_->add_option("--calibrate-every", service_.calibration.every_jobs,
                     "Refit the profile from the records every N finished jobs (0: never)");
    app_->add_option("--calibrate-min-records", service_.calibration.min_records_per_cell,
                     "Records a profile cell needs before it is refit");
    app_->add_option("--local-speed-window", service_.local_speed.window,
                     "Local slots: multiply predictions by the median measured / predicted of this many latest jobs, "
                     "while that has helped on the jobs since (0: never)")
        ->check(CLI::NonNegativeNumber);
    app_->add_option("--log-format", log_format_, "text | json")->check(CLI::IsMember({"text", "json"}));
    app_->add_option("--retain-days", service_.retain_days,
                     "Keep finished jobs' full records this many days, then only their summary (default: forever)")
        ->check(CLI::NonNegativeNumber);
    app_->add_option("--policy", policy_file_,
                     "Policy JSON jobs plan with, optionally scheduled by the hour in a time zone (docs/planner.md); "
                     "each job plans with the entry in force at its submission");
    add_backend_options();
    add_fair_share_options();
    models_.add_to(app_);
    limits_.add_to(app_);
    executor_.add_to(app_);
  }
  CLI::App* app() const override { return app_; }

  // Webhooks and the cost-by-label metrics: what the app's backend wires up.
  void add_backend_options() {
    serve::WebhookOptions& w = service_.webhooks;
    app_->add_option("--webhook-secret-file", w.secret_file,
                     "Webhook signing secrets, whsec_... one a line; all sign (rotation). Without it, no webhooks");
    app_->add_option("--webhook-allow", w.allow, "URL prefix a job's webhook_url may start with (repeatable); "
                                                 "others are refused with 403");
    app_->add_option("--webhook-timeout-s", w.timeout_s, "One delivery attempt's limit")->check(CLI::PositiveNumber);
    app_->add_option("--webhook-first-retry-s", w.first_retry_s, "The first retry's back-off (doubled each attempt, jittered)")
        ->check(CLI::PositiveNumber);
    app_->add_option("--webhook-retry-for-s", w.retry_for_s, "How long an event is retried before it is given up")
        ->check(CLI::PositiveNumber);
    app_->add_option("--metrics-labels", service_.metrics_labels,
                     "One or two job label keys /metrics sums cost and jobs by (e.g. user_id,feature)")
        ->delimiter(',');
    app_->add_option("--metrics-label-values", service_.metrics_label_values,
                     "Distinct label values /metrics keeps before counting the rest as \"other\"")
        ->check(CLI::Range(1, 10000));
  }

  // The queue's order between users: what a multi-user backend wires up (docs/fair-share.md).
  void add_fair_share_options() {
    app_->add_option("--fair-share", fair_share_levels_,
                     "One or two job label keys the queue shares the fleet by, in predicted cost (e.g. user_id, or "
                     "feature,user_id); default: first come, first served")
        ->delimiter(',');
    app_->add_option("--fair-share-weights", fair_share_weights_,
                     "JSON: weight, max_running, max_queued and min_running per label value (docs/fair-share.md)");
    app_->add_option("--fair-share-half-life-s", service_.fair_share.half_life_s, "How fast past usage is forgotten")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app_->add_option("--budgets", budgets_file_,
                     "JSON: spending caps per day or month in a time zone, on the service or on label values, "
                     "each rejecting or queueing at its cap (docs/fair-share.md)");
    app_->add_option("--max-wait-s", service_.fair_share.max_wait_s,
                     "A job queued longer than this goes first, whatever its user used (default: no bound)")
        ->check(CLI::NonNegativeNumber);
  }

  void configure_fair_share() {
    for (const std::string& key : fair_share_levels_) {
      if (!serve::valid_label_key(key)) fail(ErrorKind::kBadInput, "--fair-share '" + key + "' is not a label key");
    }
    if (!fair_share_weights_.empty() && fair_share_levels_.empty()) {
      fail(ErrorKind::kBadInput, "--fair-share-weights needs --fair-share: the label keys its values belong to");
    }
    const nlohmann::json weights = fair_share_weights_.empty() ? nlohmann::json() : plan::read_json_file(fair_share_weights_);
    serve::FairShareConfig parsed = serve::FairShareConfig::parse(fair_share_levels_, weights);
    parsed.half_life_s = service_.fair_share.half_life_s;
    parsed.max_wait_s = service_.fair_share.max_wait_s;
    service_.fair_share = std::move(parsed);
    if (!budgets_file_.empty()) service_.budgets = serve::BudgetConfig::parse(plan::read_json_file(budgets_file_));
  }

  int run() override {
    if (log_format_ == "json") spdlog::set_formatter(std::make_unique<JsonLogFormatter>());
    parse_listen(listen_, api_.host, api_.port);
    api_.tokens = access::TokenSet::load(token_file_);
    if (api_.tokens.empty()) fail(ErrorKind::kBadInput, "reelscale serve needs --token-file or REELSCALE_TOKEN");
    if (!profile_.empty()) {
      service_.planning.profile = plan::named_profile(profile_);
      service_.planning.profile_given = true;
      service_.profile_source = profile_;
    }
    if (!service_.webhooks.allow.empty() && service_.webhooks.secret_file.empty()) {
      fail(ErrorKind::kBadInput, "--webhook-allow needs --webhook-secret-file: webhooks are signed, and without a secret "
                                 "every submission naming webhook_url would be refused (docs/webhooks.md: making a secret)");
    }
    if (!scratch_.empty()) service_.scratch = scratch_;
    service_.machine_check = !no_machine_check_;
    if (!policy_file_.empty()) service_.policy = plan::ScheduledPolicy::parse(plan::read_json_file(policy_file_));
    if (service_.metrics_labels.size() > 2) fail(ErrorKind::kBadInput, "--metrics-labels takes one or two label keys");
    for (const std::string& key : service_.metrics_labels) {
      if (!serve::valid_label_key(key)) fail(ErrorKind::kBadInput, "--metrics-labels '" + key + "' is not a label key");
    }
    service_.media_limits = limits_.limits;
    configure_fair_share();
    store::ObjectStore objects;
    process::Processors processors(models_.resolve());
    const std::unique_ptr<exec::Executor> executor = make_executor(processors, objects);
    serve::JobStore store(db_);
    serve::JobService service(service_, store, *executor, objects, access::StorageAllowlist(allow_),
                              [&processors](const auto& s, const auto& src, const auto& p) { return processors.detect(s, src, p); });
    serve::HttpApi api(api_, service);
    const int port = api.bind();
    SignalWatcher signals([&](int) { api.stop(); });
    std::printf("reelscale serve listening on http://%s:%d (%s, job store %s, schema v%d)\n", api_.host.c_str(), port,
                executor->describe().c_str(), db_.c_str(), store.schema_version());
    std::fflush(stdout);
    api.serve();
    spdlog::info("stopping: running jobs are interrupted");
    return 0;
  }

 private:
  std::unique_ptr<exec::Executor> make_executor(process::Processors& processors, store::ObjectStore& objects) const {
    const std::string kind = executor_.chosen(!workers_.empty());
    if (kind == "slurm") {
      exec::AttemptPolicy attempts;
      attempts.max_attempts = max_attempts_;
      return executor_.make_slurm(worker_hardware_, attempts, objects);
    }
    if (kind == "local") {
      exec::SharedSlotsOptions local;
      local.slots = slots_;
      local.max_slots_per_job = max_per_job_;
      local.set_threads = processors.thread_setter();
      local.media_limits = limits_.limits;
      if (!scratch_.empty()) local.scratch = scratch_;
      return std::make_unique<exec::SharedSlots>(local, processors.maker(), objects);
    }
    exec::RemoteOptions remote;
    remote.workers = workers_;
    remote.token = access::client_token(worker_token_file_).value_or("");
    remote.hardware = worker_hardware_;
    remote.max_attempts = max_attempts_;
    return std::make_unique<exec::RemoteExecutor>(remote, objects);
  }



  CLI::App* app_;
  std::string listen_ = "127.0.0.1:8080", db_, token_file_, profile_, scratch_, worker_token_file_, worker_hardware_,
      log_format_ = "text", policy_file_;
  std::vector<std::string> allow_, workers_, fair_share_levels_;
  std::string fair_share_weights_, budgets_file_;
  bool no_machine_check_ = false;
  int max_attempts_ = 3;
  int slots_ = 0, max_per_job_ = 0;
  serve::ServiceOptions service_;
  serve::ApiOptions api_;
  ModelOptions models_;
  MediaLimitOptions limits_;
  ExecutorOptions executor_;
};

}  // namespace

std::unique_ptr<Command> make_serve_command(CLI::App& parent) { return std::make_unique<ServeCommand>(parent); }

}  // namespace reelscale::cli
