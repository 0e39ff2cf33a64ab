// serve/job_service.h — the job service behind `reelscale serve`: accepts job specs
// (checked, allowlisted, probed and planned before they are acknowledged, and stored
// first), queues them (bounded: a full queue refuses), runs up to `max_running` at once
// on one shared executor, records each job's progress and outcome in the job store, and
// cancels on request. At start it recovers from a killed predecessor: jobs it left
// running are marked failed (`interrupted`) and their temporaries removed (local files,
// S3 objects, unfinished multipart uploads); queued jobs run again. Planning sees the
// live state (the executor's free share, the queue's wait, the measured arrival rate),
// and every N finished jobs the profile is refit from the records and switched to when it
// predicts the most recent ones better (serve/online_calibration.h); every version is
// kept in the store.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "access/allowlist.h"
#include "exec/executor.h"
#include "job/job_flow.h"
#include "serve/job_store.h"
#include "serve/metrics.h"
#include "plan/policy_schedule.h"
#include "serve/local_speed.h"
#include "serve/online_calibration.h"
#include "serve/budgets.h"
#include "serve/scheduler.h"
#include "serve/webhooks.h"
#include "store/store.h"

namespace reelscale::serve {

struct ServiceOptions {
  int max_queued = 64;          // jobs waiting beyond this are refused (429)
  int max_running = 2;          // jobs at once on the executor
  job::PlanningInputs planning;
  std::filesystem::path scratch = std::filesystem::temp_directory_path();
  double progress_interval_s = 0.25;  // how often a running job's progress is written
  CalibrationPolicy calibration;
  LocalSpeedPolicy local_speed;       // local slots: the machine's current speed from its latest jobs
  std::string profile_source;         // where planning.profile came from, when given ("" : not given)
  // On owned slots with no profile given or stored: fit the built-in local profile to this
  // machine at start (job/machine_check.h); false: its figures as built in.
  bool machine_check = true;
  media::MediaLimits media_limits;    // the bounds the probe and the decoders keep
  double retain_days = 0;             // > 0: finished jobs older than this keep only their summary
  // --policy: the policy jobs plan with, scheduled by the hour or not (unset: the default)
  std::optional<plan::ScheduledPolicy> policy;
  WebhookOptions webhooks;            // no secret file: submissions naming webhook_url are refused
  FairShareConfig fair_share;         // --fair-share: the queue's order and limits by label value
  std::optional<BudgetConfig> budgets;  // --budgets: caps per day or month
  std::vector<std::string> metrics_labels;  // label keys /metrics sums cost by (at most 2)
  int metrics_label_values = 50;      // distinct values kept per /metrics series before "other"
};

// Why a submission was refused, beyond a bad spec (Error kBadInput) or a denied path
// (Error kDenied).
enum class Refusal { kNone, kQueueFull, kValueQueueFull, kBudget, kIdempotencyConflict };

struct Submission {
  Refusal refusal = Refusal::kNone;
  bool created = false;          // false: the idempotency key's existing job
  StoredJob job;
  double retry_after_s = 0;      // kQueueFull, kValueQueueFull: a hint
  std::string reason;            // kValueQueueFull, kBudget: the label value, or the budget, that refused it
};

class JobService {
 public:
  JobService(ServiceOptions options, JobStore& store, exec::Executor& executor, store::ObjectStore& objects,
             access::StorageAllowlist allowlist, job::DetectFunction detect);
  ~JobService();  // running jobs are cancelled and recorded as interrupted
  JobService(const JobService&) = delete;
  JobService& operator=(const JobService&) = delete;

  Submission submit(const std::string& body, const std::string& idempotency_key);
  std::optional<StoredJob> get(const std::string& id) { return store_.get(id); }
  // A queued job's reason to wait, position and estimated start (nullopt: not queued).
  std::optional<PendingInfo> pending(const std::string& id);
  std::vector<StoredJob> list(const JobFilter& filter) { return store_.list(filter); }
  // A job's webhook deliveries with their attempts (nullopt: no such job).
  std::optional<nlohmann::json> deliveries(const std::string& id);
  // false when there is no such job; a finished job is left as it is.
  bool cancel(const std::string& id);
  // The planner's answer for a job of this shape, without running anything.
  nlohmann::json plan(const plan::JobShape& shape);
  nlohmann::json queue_state();
  nlohmann::json budgets_status();  // GET /v1/budgets
  nlohmann::json profiles();
  // One stored version with its whole profile document (nullopt: no such version).
  std::optional<nlohmann::json> profile(const std::string& version);
  std::string metrics_text();  // Prometheus text format, the gauges read now
  // The dashboard's aggregates over the last `hours`, with the live profile's thresholds.
  nlohmann::json stats(double hours);
  bool ready() const { return ready_.load(); }

 private:
  struct PlannerView {
    plan::Profile profile;
    plan::Platform platform;
    plan::Policy policy;
  };
  PlannerView planner_view(const job::PlanningInputs& planning, int slots) const;
  void recover();
  // The scheduler's usage from the jobs that ended in the last ten half-lives, and the queue.
  void rebuild_schedule();
  // The budgets' book from the store: what started in the last month and a day, and the queue.
  void rebuild_budgets();
  // Near a budget's cap: plans for jobs under it move to the cheapest within their deadline
  // (planning.budget_moved names the budget).
  void apply_budget_pressure(job::PlanningInputs& planning, const Labels& labels);
  // Under the lock: each queued job with a webhook that will wait, and whose reason differs
  // from the last it was told, gets job.pending (its reason, place and estimated start); true
  // when an event was stored. Called as a job joins the queue (before a runner may pick it),
  // as one ends, and each second.
  bool tell_why_jobs_wait();
  // A stored new job joins the queue.
  void enqueue(const StoredJob& job);
  // false: refused (s says why); an admitted job a queue-budget holds waits in the queue.
  bool admitted_by_budgets(Submission& s, double reserve_usd);
  void cancel_held_past_ttl();
  SchedulerJob scheduled(const StoredJob& job) const;
  void load_profile();
  // The planning inputs for a job submitted at `submitted_unix_s` (the schedule's entry in
  // force then), with the live state of now.
  job::PlanningInputs live_planning(double submitted_unix_s);
  // Stores a state's webhook event with it, when the job has a webhook.
  std::optional<Delivery> event_for(const StoredJob& job, const std::string& type,
                                    const nlohmann::json& extra = nullptr) const;
  void events_stored();
  // A node's idle time charged to a job after it ended (exec::Executor::on_late_charges).
  void add_late_charge(const exec::IdleCharge& charge, double usd);
  void maybe_recalibrate();
  // A finished job on local slots: its measured / predicted, at the profiled speed under the
  // profile in use, to the machine's current speed.
  void track_local_speed(const record::JobRecord& r);
  // The profile in use changed (call with planning_mutex_ held): the speed restarts from the
  // latest records under it.
  void restart_local_speed(const plan::Profile& now_in_use);
  // Retention: at start, then every kRetentionEvery finished jobs.
  void apply_retention();
  std::atomic<int> finished_since_retention_{0};
  std::vector<record::JobRecord> recent_records(int limit);
  // After a switch: once enough records came, rolls back if the switch made things worse.
  void watch_switch();
  void runner_main();
  // A job left the runners (finished, or found cancelled): its usage settled, runners woken.
  void job_ended(const std::string& id, double cost_usd);
  void run(StoredJob job);
  StoredJob finished_from(StoredJob job, const record::JobRecord& r) const;
  nlohmann::json plan_at_submit(const process::JobSpec& spec, const Labels& labels, double submitted_unix_s,
                                std::string& profile_version);

  ServiceOptions options_;
  JobStore& store_;
  exec::Executor& executor_;
  store::ObjectStore& objects_;
  access::StorageAllowlist allowlist_;
  job::DetectFunction detect_;
  std::mutex mutex_;
  std::condition_variable wake_;
  Scheduler scheduler_;                                             // the queued jobs and their order
  BudgetBook budgets_;                                              // spend and reservations (under mutex_)
  std::map<std::string, std::string> listening_;  // queued jobs with a webhook: the reason last told (under mutex_)
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> cancels_;  // running jobs
  bool stopping_ = false;
  std::atomic<bool> ready_{false};
  std::mutex planning_mutex_;       // planning_ and the refit count
  job::PlanningInputs planning_;    // the profile in use
  plan::Profile base_profile_;      // the profile given at start, or the built-in one for this executor
  std::optional<plan::Profile> replaced_profile_;  // while a switch is watched: the profile before it
  int finished_since_switch_ = 0;
  int refits_ = 0;                  // profile versions stored so far (numbers the next refit)
  std::string last_calibration_;    // what the latest refit or watch decided, and why
  LocalSpeed local_speed_;          // local slots: the machine's current speed (under planning_mutex_)
  std::deque<record::JobRecord> speed_records_;  // the records local_speed_'s window is of, oldest first
  std::mutex thresholds_mutex_;
  std::string thresholds_for_;      // the profile version and slots the cached thresholds are of
  nlohmann::json thresholds_;
  int finished_since_refit_ = 0;
  std::mutex refit_mutex_;          // one refit at a time
  ServiceMetrics metrics_;
  access::WebhookAllowlist webhook_allow_;
  std::unique_ptr<WebhookDeliverer> webhooks_;  // none without a secret file
  std::vector<std::thread> runners_;
};

}  // namespace reelscale::serve
