// serve/job_service.cpp — accepting, queueing, running, cancelling and recovering jobs.
#include "serve/job_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "access/tokens.h"
#include "common/error.h"
#include "common/stopwatch.h"
#include "exec/remote_executor.h"
#include "exec/store_source.h"
#include "job/job_plan.h"
#include "job/machine_check.h"
#include "job/temporaries.h"
#include "media/timeline.h"
#include "plan/planner.h"
#include "plan/thresholds.h"
#include "serve/stats.h"
#include "serve/submission.h"
#include "record/job_record.h"

namespace reelscale::serve {

namespace {

// The scale-down window is the median of the last kIdleTailsKept observed idle tails, once
// there are kMinIdleTails.
constexpr int kIdleTailsKept = 20;
constexpr int kMinIdleTails = 2;

process::JobSpec parse_body(const std::string& body) { return parse_submission(body).spec; }

// Temporaries a dead predecessor left beside a job's output: its chunk prefix (the
// owner is no longer a live process, so no age bound), atomic-write leftovers and the
// output's unfinished multipart uploads.
void remove_leftovers(store::ObjectStore& objects, const StoredJob& job) {
  try {
    const std::string folder = store::Location::parse(job.output).folder();
    const job::SweepReport r = job::remove_stale_temporaries(objects, folder, job::StaleBounds{0, 24 * 3600});
    spdlog::info("job {}: removed {} leftover(s), aborted {} upload(s)", job.id, r.removed.size(), r.aborted_uploads);
  } catch (const std::exception& e) {
    spdlog::warn("job {}: leftovers not removed: {}", job.id, e.what());
  }
}

}  // namespace

JobService::JobService(ServiceOptions options, JobStore& store, exec::Executor& executor, store::ObjectStore& objects,
                       access::StorageAllowlist allowlist, job::DetectFunction detect)
    : options_(std::move(options)), store_(store), executor_(executor), objects_(objects),
      allowlist_(std::move(allowlist)), detect_(std::move(detect)), planning_(options_.planning),
      local_speed_(options_.local_speed), metrics_(options_.metrics_labels, options_.metrics_label_values),
      webhook_allow_(options_.webhooks.allow) {
  scheduler_ = Scheduler(options_.fair_share);
  if (options_.budgets) budgets_ = BudgetBook(*options_.budgets);
  // A job held by a budget waits in the queue; the book reserves it once it fits.
  scheduler_.set_hold([this](const SchedulerJob& job) {
    const std::string by = budgets_.may_start(job.id, record::unix_now());
    return by.empty() ? by : "budget:" + by;
  });
  if (!options_.webhooks.secret_file.empty()) {
    webhooks_ = std::make_unique<WebhookDeliverer>(store_, access::WebhookSecrets::load(options_.webhooks.secret_file),
                                                   options_.webhooks,
                                                   [this](const std::string& outcome) { metrics_.webhook_attempt(outcome); });
  }
  executor_.on_late_charges([this](const exec::IdleCharge& c, double usd) { add_late_charge(c, usd); });
  load_profile();
  recover();
  apply_retention();
  for (int i = 0; i < std::max(1, options_.max_running); ++i) runners_.emplace_back([this] { runner_main(); });
  ready_ = true;
}

JobService::~JobService() {
  executor_.on_late_charges(nullptr);  // waits for a charge being added
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& [id, cancel] : cancels_) cancel->store(true);
  }
  wake_.notify_all();
  for (auto& t : runners_) t.join();
  webhooks_.reset();  // after the runners: their last events are stored, and sent at the next start
}

void JobService::add_late_charge(const exec::IdleCharge& c, double usd) {
  try {
    if (!store_.add_late_charge(c.job_id, c.node, record::unix_now(), c.seconds, usd, c.tail_s)) return;  // not this service's job
    {
      std::lock_guard lock(mutex_);
      budgets_.late_charge(c.job_id, usd);
    }
    const std::optional<StoredJob> job = store_.get(c.job_id);
    if (job) metrics_.late_charge(job->hardware, job->endpoint, c.seconds, usd, job->labels);
    spdlog::info("job {}: charged {:.1f} s (${:.5f}) of {}'s idle time before it was suspended", c.job_id, c.seconds, usd,
                 c.node);
  } catch (const std::exception& e) {
    spdlog::error("job {}: a late charge of {:.1f} s on {} was not stored: {}", c.job_id, c.seconds, c.node, e.what());
  }
}

std::optional<Delivery> JobService::event_for(const StoredJob& job, const std::string& type) const {
  if (job.webhook_url.empty()) return std::nullopt;
  return webhook_event(job, type);
}

void JobService::events_stored() {
  if (webhooks_) webhooks_->wake();
}

void JobService::recover() {
  for (StoredJob job : store_.in_state("running")) {
    spdlog::warn("job {}: was running when the service stopped; marked failed (interrupted)", job.id);
    remove_leftovers(objects_, job);
    job.state = "failed";
    job.error_kind = "interrupted";
    job.error_message = "the service stopped while the job ran; its temporaries were removed";
    job.finished_unix_s = record::unix_now();
    store_.finish(job, event_for(job, "job.failed"));
  }
  rebuild_budgets();
  rebuild_schedule();
}

void JobService::rebuild_budgets() {
  if (budgets_.empty()) return;
  const double now = record::unix_now();
  for (const StoredJob& job : store_.budget_jobs_since(now - 32 * 86400)) {
    const double reserve = reserve_of_plan(nlohmann::json::parse(job.plan_json.empty() ? "{}" : job.plan_json, nullptr, false));
    if (job.state == "queued") {
      const Admission a = budgets_.admit(job.id, job.labels, reserve, now);
      if (!a.rejected_by.empty()) budgets_.restore(job.id, {job.labels, reserve, 0, 0, false, true, reserve});
      continue;
    }
    if (job.started_unix_s <= 0) continue;  // never started: nothing spent
    // A job a kill interrupted ran for an unknown share of its reservation: all of it counts.
    const double cost = std::max(job.cost_usd, job.cloud_equivalent_usd);
    const double spent = job.error_kind == "interrupted" ? std::max(cost, reserve) : cost;
    budgets_.restore(job.id, {job.labels, reserve, spent, job.started_unix_s, true, false, reserve});
    if (job.state == "done") budgets_.learn(cost, reserve);
  }
}

std::string JobService::apply_budget_pressure(job::PlanningInputs& planning, const Labels& labels) {
  std::string by;
  {
    std::lock_guard lock(mutex_);
    if (budgets_.empty()) return "";
    by = budgets_.moving_plan(labels, 0, record::unix_now());
  }
  if (!by.empty()) planning.policy.objective = plan::Objective::kCheapestWithinDeadline;
  return by;
}

SchedulerJob JobService::scheduled(const StoredJob& job) const {
  const nlohmann::json plan = nlohmann::json::parse(job.plan_json.empty() ? "{}" : job.plan_json, nullptr, false);
  const bool read = plan.is_object();
  return {job.id, job.labels, read ? plan.value("cost_usd", 0.0) : 0.0, read ? plan.value("wall_mean_s", 0.0) : 0.0,
          job.created_unix_s, job.started_unix_s};
}

void JobService::rebuild_schedule() {
  const double now = record::unix_now();
  for (const Spend& s : store_.spent_since(now - 10 * options_.fair_share.half_life_s)) {
    scheduler_.add_usage(s.labels, s.usd, s.finished_unix_s);
  }
  for (const StoredJob& job : store_.in_state("queued")) scheduler_.add_queued(scheduled(job));
  if (scheduler_.queued() > 0) spdlog::info("{} queued job(s) from before the restart", scheduler_.queued());
}

// The profile given at start becomes the active version; without one, the store's active
// version (a refit from an earlier run, then this run's base) if there is one, else the
// built-in default for this executor: on owned local slots, the local profile fitted to
// this machine by a start-up check (what its jobs are planned with, so refits start from
// it; stored as the first version, with the check in its provenance).
void JobService::load_profile() {
  refits_ = static_cast<int>(store_.profiles().size());
  if (!options_.profile_source.empty()) {
    base_profile_ = planning_.profile;
    const std::string version = planning_.profile.version();
    store_.save_profile({version, record::unix_now(), true, "given at start: " + options_.profile_source,
                         plan::to_json(planning_.profile).dump(), 0, 0});
    spdlog::info("planning with profile {} ({}), given at start", planning_.profile.name, version);
    return;
  }
  if (const std::optional<StoredProfile> p = store_.active_profile()) {
    planning_.profile = plan::parse_profile(nlohmann::json::parse(p->profile_json));
    planning_.profile.declared_version = p->version;  // its figures' text may not round-trip bit for bit
    planning_.profile_given = true;
    base_profile_ = planning_.profile;  // this run starts from it
    spdlog::info("planning with the stored profile version {} ({})", p->version, p->provenance);
    return;
  }
  if (executor_.owned_capacity().slots > 0) {
    // Not checked: the built-in figures as they are (local_profile_fitted of no measurement).
    const job::MachineCheck check = options_.machine_check ? job::check_machine_speed(options_.scratch) : job::MachineCheck{};
    planning_.profile = job::local_profile_fitted(check);
    planning_.profile_given = true;
    if (check.frames > 0) {
      store_.save_profile({planning_.profile.version(), record::unix_now(), true,
                           "built in, fitted to this machine: " + check.describe(),
                           plan::to_json(planning_.profile).dump(), 0, 0});
      spdlog::info("planning with the built-in local profile {}, fitted to this machine: {}", planning_.profile.version(),
                   check.describe());
    }
  }
  base_profile_ = planning_.profile;
}

// A copy of the planning inputs with the live state: the executor's places free now (the
// warm pool), what a cluster says of itself (its nodes, its scale-down window, its price;
// the idle tails its nodes showed, once seen),
// how long the queue makes a job wait, and the share of a container's idle tail a job pays
// (the chance no job arrives within the scale-down window, at the arrival rate of the last
// hour).
job::PlanningInputs JobService::live_planning(double submitted_unix_s) {
  job::PlanningInputs p;
  {
    std::lock_guard lock(planning_mutex_);
    p = planning_;
    p.local_speed = local_speed_.factor();
  }
  if (options_.policy) {
    const plan::PolicyInForce f = options_.policy->at(submitted_unix_s);
    p.policy = f.policy;
    if (options_.policy->scheduled()) p.policy_entry = f.entry;
  }
  job::apply_cluster_facts(p, executor_);
  // The idle tails the nodes showed (last task to suspend) say how long a node really stays
  // up after a job: SuspendTime plus the controller's own delay.
  std::vector<double> tails = store_.recent_idle_tails(kIdleTailsKept);
  if (static_cast<int>(tails.size()) >= kMinIdleTails) {
    std::nth_element(tails.begin(), tails.begin() + static_cast<long>(tails.size() / 2), tails.end());
    p.platform.scale_down_window_s = tails[tails.size() / 2];
  }
  const nlohmann::json q = queue_state();
  const double rate_per_s = q["arrivals_last_hour"].get<double>() / 3600.0;
  p.platform.queue_wait_s = q["oldest_wait_s"].get<double>();
  p.platform.idle_tail_share = std::exp(-rate_per_s * p.platform.scale_down_window_s);
  if (const int idle = executor_.idle_capacity(); idle >= 0 && !executor_.hardware().empty()) {
    p.platform.warm_idle[executor_.hardware()] = idle;
  }
  p.policy.adaptive = true;
  return p;
}

nlohmann::json JobService::plan_at_submit(const process::JobSpec& spec, const Labels& labels, double submitted_unix_s,
                                          std::string& profile_version) {
  job::PlanningInputs planning = live_planning(submitted_unix_s);
  const std::string budget_moved = apply_budget_pressure(planning, labels);
  const plan::Profile& profile = planning.profile;
  profile_version = profile.version();
  const media::MediaSource source = exec::media_source_for(objects_, spec.input, options_.media_limits);
  const media::VideoProbe probe = media::probe_video(source);  // refuses what may not be opened, before acceptance
  if (spec.endpoint == process::Endpoint::kDetect) {
    return {{"hardware", "CPU"}, {"chunks", 1}, {"profile_name", profile.name}, {"profile_version", profile_version},
            {"policy_entry", planning.policy_entry}};
  }
  const media::Timeline timeline(probe.relative_times_ns(), probe.relative_end_ns(), spec.fps, spec.segments);
  const job::JobPlan p = job::plan_job(spec, source, probe, timeline.output_frame_count(), spec.chunks,
                                       executor_.hardware(), planning, executor_.owned_capacity());
  nlohmann::json j = p.prediction ? record::to_json(*p.prediction) : nlohmann::json::object();
  j["frames"] = timeline.output_frame_count();
  j["chunks"] = p.chunks;
  j["hardware"] = p.hardware;
  if (!planning.policy_entry.empty()) j["policy_entry"] = planning.policy_entry;
  if (!budget_moved.empty()) j["budget_moved"] = budget_moved;
  profile_version = j.value("profile_version", profile_version);
  return j;
}

Submission JobService::submit(const std::string& body, const std::string& idempotency_key) {
  SubmissionBody submission;
  try {
    submission = parse_submission(body);
    const process::JobSpec& spec = submission.spec;
    allowlist_.check(spec.input, "input");
    // A detect job may have no output: its boxes are in the record.
    if (!(spec.endpoint == process::Endpoint::kDetect && spec.output.empty())) allowlist_.check(spec.output, "output");
    if (!submission.webhook_url.empty()) {
      webhook_allow_.check(submission.webhook_url);
      if (!webhooks_) fail(ErrorKind::kBadInput, "this service sends no webhooks: it was started without --webhook-secret-file");
    }
  } catch (const Error& e) {
    metrics_.job_refused(error_kind_name(e.kind()));
    throw;
  }
  const process::JobSpec& spec = submission.spec;
  Submission s;
  s.job.id = job::new_job_id();
  const std::string new_id = s.job.id;
  s.job.labels = submission.labels;
  s.job.webhook_url = submission.webhook_url;
  s.job.idempotency_key = idempotency_key;
  s.job.body_sha256 = access::sha256_hex(body);
  s.job.endpoint = process::endpoint_name(spec.endpoint);
  s.job.spec_json = body;
  s.job.state = "queued";
  s.job.output = spec.output;
  s.job.created_unix_s = record::unix_now();
  if (idempotency_key.empty() || !store_.by_idempotency_key(idempotency_key)) {
    const int64_t queued = store_.count_in_state("queued");
    if (queued >= options_.max_queued) {
      s.refusal = Refusal::kQueueFull;
      metrics_.job_refused("queue_full");
      s.retry_after_s = std::max(1.0, static_cast<double>(queued) / std::max(1, options_.max_running));
      return s;
    }
  }
  if (idempotency_key.empty() || !store_.by_idempotency_key(idempotency_key)) {
    std::lock_guard lock(mutex_);
    s.reason = scheduler_.queue_full_reason(s.job.labels);
    if (!s.reason.empty()) {
      s.refusal = Refusal::kValueQueueFull;
      metrics_.job_refused("value_queue_full");
      s.retry_after_s = scheduler_.retry_after_s(s.job.labels, record::unix_now(), std::max(1, options_.max_running));
      return s;
    }
  }
  const nlohmann::json plan = plan_at_submit(spec, s.job.labels, s.job.created_unix_s, s.job.profile_version);
  if (!admitted_by_budgets(s, reserve_of_plan(plan))) return s;
  s.job.plan_json = plan.dump();
  s.job.frames_total = plan.value("frames", int64_t{0});
  s.job.chunks_total = plan.value("chunks", int64_t{1});
  const InsertOutcome outcome = store_.insert(s.job);
  if (outcome != InsertOutcome::kCreated) {
    std::lock_guard lock(mutex_);
    budgets_.forget(new_id);  // the key's existing job, or none: this one reserves nothing
  }
  if (outcome == InsertOutcome::kConflict) {
    s.refusal = Refusal::kIdempotencyConflict;
    metrics_.job_refused("idempotency_conflict");
    return s;
  }
  s.created = outcome == InsertOutcome::kCreated;
  if (s.created) {
    spdlog::info("job {}: accepted ({} {} -> {}, {} chunk(s) planned)", s.job.id, s.job.endpoint, spec.input, spec.output,
                 s.job.chunks_total);
    std::lock_guard lock(mutex_);
    scheduler_.add_queued(scheduled(s.job));
    wake_.notify_one();
  }
  return s;
}

bool JobService::cancel(const std::string& id) {
  const std::optional<StoredJob> job = store_.get(id);
  if (!job) return false;
  StoredJob cancelled = *job;
  cancelled.state = "cancelled";
  cancelled.finished_unix_s = record::unix_now();
  cancelled.error_kind = "cancelled";
  cancelled.error_message = "cancelled before it started";
  if (store_.cancel_queued(id, cancelled.finished_unix_s, event_for(cancelled, "job.cancelled"))) {
    {
      std::lock_guard lock(mutex_);
      scheduler_.remove_queued(id);
      budgets_.forget(id);
    }
    spdlog::info("job {}: cancelled before it started", id);
    events_stored();
    return true;
  }
  std::lock_guard lock(mutex_);
  if (auto it = cancels_.find(id); it != cancels_.end()) {
    spdlog::info("job {}: cancelling", id);
    it->second->store(true);
  }
  return true;
}

void JobService::runner_main() {
  while (true) {
    std::string id;
    {
      std::unique_lock lock(mutex_);
      std::optional<SchedulerJob> next;
      // Looked at again each second too: a budget's window resets, a wait passes its bound.
      while (!stopping_ && !(next = scheduler_.next(record::unix_now()))) wake_.wait_for(lock, std::chrono::seconds(1));
      if (stopping_) return;
      id = next->id;
      budgets_.started(id, next->started_unix_s);
    }
    std::optional<StoredJob> job = store_.get(id);
    if (!job || job->state != "queued") {  // cancelled while it waited
      job_ended(id, 0);
      continue;
    }
    run(*job);
  }
}

void JobService::run(StoredJob job) {
  const process::JobSpec spec = parse_body(job.spec_json);
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  {
    std::lock_guard lock(mutex_);
    cancels_[job.id] = cancel;
  }
  const std::string temp_prefix = job::temp_prefix_beside(spec.output, job.id);
  job.state = "running";
  job.started_unix_s = record::unix_now();
  store_.mark_running(job.id, job.started_unix_s, temp_prefix, event_for(job, "job.started"));
  events_stored();
  spdlog::info("job {}: running", job.id);
  record::JobRecord r;
  if (spec.endpoint == process::Endpoint::kDetect) {
    r = job::run_detect_job(spec, objects_, detect_, options_.media_limits);
  } else {
    job::JobOptions options;
    options.job_id = job.id;
    options.planning = live_planning(job.created_unix_s);
    apply_budget_pressure(options.planning, job.labels);
    options.scratch = options_.scratch;
    options.temp_prefix = temp_prefix;
    options.media_limits = options_.media_limits;
    options.cancel = cancel.get();
    options.late_charges_followed = true;  // the node ledger charges idle tails to the job
    Stopwatch since_write;
    options.progress = [&](int64_t done, int64_t total) {
      if (since_write.seconds() < options_.progress_interval_s && done < total) return;
      since_write.restart();
      store_.set_progress(job.id, done, 0);
    };
    r = job::run_job(spec, executor_, objects_, options);
  }
  {
    std::lock_guard lock(mutex_);
    cancels_.erase(job.id);
  }
  const StoredJob finished = finished_from(job, r);
  store_.finish(finished, event_for(finished, finished_event_type(finished.state)));
  job_ended(job.id, std::max(finished.cost_usd, finished.cloud_equivalent_usd));
  events_stored();
  metrics_.job_finished(finished.state, r, finished.labels);
  if (++finished_since_retention_ >= 200) apply_retention();
  spdlog::info("job {}: {}{}", job.id, r.outcome, r.ok() ? "" : " (" + r.error_kind + ": " + r.error_message + ")");
  if (r.ok()) {
    track_local_speed(r);
    maybe_recalibrate();
  }
}

void JobService::job_ended(const std::string& id, double cost_usd) {
  {
    std::lock_guard lock(mutex_);
    scheduler_.finished(id, cost_usd, record::unix_now());
    budgets_.ended(id, cost_usd);
  }
  wake_.notify_all();  // a value under its limit again, a runner free
}

std::optional<PendingInfo> JobService::pending(const std::string& id) {
  std::lock_guard lock(mutex_);
  const std::map<std::string, PendingInfo> all = scheduler_.pending(record::unix_now(), std::max(1, options_.max_running));
  const auto it = all.find(id);
  if (it == all.end()) return std::nullopt;
  return it->second;
}

void JobService::track_local_speed(const record::JobRecord& r) {
  if (!r.plan || r.plan->platform_model != "local" || r.total_seconds() <= 0) return;
  std::lock_guard lock(planning_mutex_);
  const double predicted = predicted_seconds(planning_.profile, r);
  if (predicted <= 0) return;
  local_speed_.add(r.total_seconds() / predicted);
  speed_records_.push_back(r);
  while (static_cast<int>(speed_records_.size()) > std::max(0, options_.local_speed.window)) speed_records_.pop_front();
}

void JobService::restart_local_speed(const plan::Profile& now_in_use) {
  std::vector<double> ratios;
  for (const record::JobRecord& r : speed_records_) {
    const double predicted = predicted_seconds(now_in_use, r);
    if (predicted > 0) ratios.push_back(r.total_seconds() / predicted);
  }
  local_speed_.restart(ratios);
}

void JobService::apply_retention() {
  finished_since_retention_ = 0;
  if (options_.retain_days <= 0) return;
  const JobStore::Retention r = store_.drop_detail_before(record::unix_now() - options_.retain_days * 86400);
  if (r.jobs > 0) spdlog::info("retention: {} job(s) older than {} days kept their summary only", r.jobs, options_.retain_days);
}

std::vector<record::JobRecord> JobService::recent_records(int limit) {
  std::vector<record::JobRecord> records;
  for (const std::string& text : store_.recent_records(limit)) {
    try {
      records.push_back(record::record_from_json(nlohmann::json::parse(text)));
    } catch (const std::exception& e) {
      spdlog::warn("a stored record was not read for calibration: {}", e.what());
    }
  }
  return records;
}

void JobService::watch_switch() {
  plan::Profile in_use, replaced;
  {
    std::lock_guard lock(planning_mutex_);
    if (!replaced_profile_ || ++finished_since_switch_ < options_.calibration.watch_jobs) return;
    in_use = planning_.profile;
    replaced = *replaced_profile_;
    replaced_profile_.reset();
  }
  std::vector<record::JobRecord> since;
  for (record::JobRecord& r : recent_records(options_.calibration.window)) {
    if (r.plan && r.plan->profile_version == in_use.version()) since.push_back(std::move(r));
  }
  std::string why;
  const bool worse = switch_made_things_worse(in_use, replaced, since, why);
  {
    std::lock_guard lock(planning_mutex_);
    last_calibration_ = (worse ? "rolled back to " + replaced.version() : "the switch to " + in_use.version() + " holds") +
                        ": " + why;
  }
  if (!worse) {
    spdlog::info("calibration: the switch to {} holds: {}", in_use.version(), why);
    return;
  }
  spdlog::warn("calibration: rolled back to {}: {}", replaced.version(), why);
  store_.save_profile({replaced.version(), record::unix_now(), true, "rolled back to: " + why,
                       plan::to_json(replaced).dump(), 0, 0});
  std::lock_guard lock(planning_mutex_);
  planning_.profile = replaced;
  restart_local_speed(replaced);
}

void JobService::maybe_recalibrate() {
  watch_switch();
  const CalibrationPolicy& policy = options_.calibration;
  plan::Profile current;
  {
    std::lock_guard lock(planning_mutex_);
    if (policy.every_jobs <= 0 || ++finished_since_refit_ < policy.every_jobs || replaced_profile_) return;
    finished_since_refit_ = 0;
    current = planning_.profile;
  }
  std::lock_guard refit(refit_mutex_);
  const CalibrationDecision d = consider_recalibration(current, base_profile_, recent_records(policy.window), policy,
                                                       record::utc_today(), refits_ + 1);
  spdlog::info("calibration: {}", d.reason);
  {
    std::lock_guard lock(planning_mutex_);
    last_calibration_ = d.reason;
  }
  if (d.fitted_records == 0) return;
  std::string provenance = d.reason;
  for (const std::string& c : d.changes) provenance += "; " + c;
  store_.save_profile({d.candidate.version(), record::unix_now(), d.switch_to_candidate, provenance,
                       plan::to_json(d.candidate).dump(), d.current_error, d.candidate_error});
  ++refits_;
  if (!d.switch_to_candidate) return;
  std::lock_guard lock(planning_mutex_);
  replaced_profile_ = planning_.profile;
  finished_since_switch_ = 0;
  planning_.profile = d.candidate;
  planning_.profile_given = true;
  restart_local_speed(d.candidate);
}

nlohmann::json JobService::stats(double hours) {
  const job::PlanningInputs planning = live_planning(record::unix_now());
  nlohmann::json out = dashboard_stats(store_, record::unix_now() - hours * 3600, planning.policy.deadline_s);
  out["hours"] = hours;
  const exec::OwnedCapacity owned = executor_.owned_capacity();
  const PlannerView view = planner_view(planning, executor_.places() > 0 ? executor_.places() : owned.slots);
  nlohmann::json thresholds;
  {
    // The sweep costs tens of ms: made once per profile version and executor size.
    std::lock_guard lock(thresholds_mutex_);
    const std::string key = view.profile.version() + "/" + std::to_string(view.platform.local_slots);
    if (thresholds_for_ != key) {
      const plan::Planner planner(view.profile, planning.prices, view.platform, view.policy);
      thresholds_ = nlohmann::json::object();
      for (const std::string endpoint : {"framing", "framing_ai"}) {
        if (!planner.hardware(endpoint).empty()) thresholds_[endpoint] = plan::to_json(plan::sweep_thresholds(planner, endpoint, 0.5, 180));
      }
      thresholds_for_ = key;
    }
    thresholds = thresholds_;
  }
  const std::optional<StoredProfile> active = store_.active_profile();
  out["profile"] = {{"name", view.profile.name}, {"version", view.profile.version()},
                    {"changed_unix_s", active ? active->created_unix_s : 0.0}, {"thresholds", thresholds}};
  return out;
}

std::string JobService::metrics_text() {
  metrics_.set_queue(store_.count_in_state("queued"), store_.count_in_state("running"));
  metrics_.set_budgets(budgets_status());
  int healthy = 0;
  for (const std::string& url : executor_.worker_urls()) healthy += exec::worker_healthy(url, 0.5) ? 1 : 0;
  metrics_.set_executor(executor_.places(), executor_.idle_capacity(), healthy);
  return metrics_.text();
}

nlohmann::json JobService::profiles() {
  nlohmann::json versions = nlohmann::json::array();
  std::string active;
  for (const StoredProfile& p : store_.profiles()) {
    if (p.active) active = p.version;
    versions.push_back({{"version", p.version}, {"created_unix_s", p.created_unix_s}, {"active", p.active},
                        {"provenance", p.provenance}, {"error_before", p.error_before}, {"error_after", p.error_after}});
  }
  std::string in_use, last;
  nlohmann::json speed = nullptr;
  {
    std::lock_guard lock(planning_mutex_);
    in_use = planning_.profile.version();
    last = last_calibration_;
    if (executor_.owned_capacity().slots > 0) {
      const auto [with, without] = local_speed_.judged_errors();
      speed = {{"factor", local_speed_.factor()}, {"candidate", local_speed_.candidate()},
               {"judged_jobs", local_speed_.judged_jobs()}, {"error_with", with}, {"error_without", without},
               {"state", local_speed_.describe()}};
    }
  }
  return {{"active", active.empty() ? in_use : active}, {"in_use", in_use}, {"versions", versions},
          {"last_decision", last}, {"local_speed", speed}};
}

std::optional<nlohmann::json> JobService::profile(const std::string& version) {
  for (const StoredProfile& p : store_.profiles()) {
    if (p.version != version) continue;
    return nlohmann::json{{"version", p.version},       {"created_unix_s", p.created_unix_s},
                          {"active", p.active},         {"provenance", p.provenance},
                          {"error_before", p.error_before}, {"error_after", p.error_after},
                          {"profile", nlohmann::json::parse(p.profile_json)}};
  }
  return std::nullopt;
}

StoredJob JobService::finished_from(StoredJob job, const record::JobRecord& r) const {
  job.finished_unix_s = record::unix_now();
  job.state = r.outcome;
  job.error_kind = r.error_kind;
  job.error_message = r.error_message;
  if (stopping_ && r.outcome == "cancelled") {
    job.state = "failed";
    job.error_kind = "interrupted";
    job.error_message = "the service stopped while the job ran";
  }
  job.record_json = record::to_json(r).dump();
  job.cost_usd = r.cost_usd;
  job.hardware = !r.hardware.empty() ? r.hardware : r.plan ? r.plan->hardware : "";
  job.wall_s = r.total_seconds();
  job.clip_s = r.frames > 0 ? r.output_seconds() : 0;
  job.predicted_s = r.plan ? r.plan->wall_mean_s : 0;
  job.predicted_usd = r.plan ? r.plan->cost_usd : 0;
  job.cloud_equivalent_usd = r.cloud_equivalent_usd;
  job.billed_seconds = r.billed_seconds;
  job.frames_done = r.ok() ? r.frames : job.frames_done;
  job.chunks_total = std::max(1, r.chunks);
  job.chunks_done = 0;
  for (const auto& c : r.chunk_results) job.chunks_done += c.frames > 0 ? 1 : 0;
  if (r.plan) {
    job.plan_json = record::to_json(*r.plan).dump();
    job.profile_version = r.plan->profile_version;
  }
  return job;
}

// The profile, platform and policy a planner for this executor uses: the executor's
// hardware only, when it names one (what its jobs run on); on owned local slots also the
// local platform of `slots` and the local profile unless one was given.
JobService::PlannerView JobService::planner_view(const job::PlanningInputs& planning, int slots) const {
  PlannerView v{planning.profile, planning.platform, planning.policy};
  const exec::OwnedCapacity owned = executor_.owned_capacity();
  if (owned.slots <= 0) {
    if (!executor_.hardware().empty()) v.policy.allowed_hardware = {executor_.hardware()};  // what the workers or nodes are
    return v;
  }
  if (!planning.profile_given) v.profile = plan::default_local_profile();
  // The cores go with the slots: `slots` of them at the owned slots' cores each.
  const int cores = std::max(1, owned.cores * std::max(1, slots) / std::max(1, owned.slots));
  v.platform = plan::Platform::local(std::max(1, slots), cores);
  v.platform.local_speed = planning.local_speed;
  if (!v.policy.max_parallel_given) v.policy.max_parallel = std::max(v.policy.max_parallel, slots);
  v.policy.allowed_hardware = {executor_.hardware()};
  return v;
}

nlohmann::json JobService::plan(const plan::JobShape& shape) {
  const job::PlanningInputs planning = live_planning(record::unix_now());
  const PlannerView view = planner_view(planning, executor_.owned_capacity().slots);
  const plan::Planner planner(view.profile, planning.prices, view.platform, view.policy);
  const plan::PlanResult r = planner.plan(shape);
  const plan::Estimate& e = r.chosen;
  return {{"feasible", r.feasible},      {"reason", r.reason},           {"notes", r.notes},
          {"hardware", e.hardware},      {"chunks", e.chunks},           {"platform_model", e.platform_model},
          {"wall_mean_s", e.wall_mean_s}, {"wall_p90_s", e.wall_p90_s},   {"cost_usd", e.cost},
          {"core_seconds", e.core_seconds}, {"profile_name", view.profile.name},
          {"profile_version", view.profile.version()}, {"policy", view.policy.describe()},
          {"scale_down_window_s", view.platform.scale_down_window_s},
          {"policy_entry", planning.policy_entry}};
}

std::optional<nlohmann::json> JobService::deliveries(const std::string& id) {
  if (!store_.get(id)) return std::nullopt;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [d, attempts] : store_.deliveries_of(id)) {
    nlohmann::json tries = nlohmann::json::array();
    for (const DeliveryAttempt& a : attempts) {
      tries.push_back({{"attempt", a.n}, {"at_unix_s", a.at_unix_s}, {"status", a.status}, {"error", a.error},
                       {"seconds", a.seconds}});
    }
    out.push_back({{"id", d.id}, {"event", d.event}, {"url", d.url}, {"state", d.state}, {"attempts", d.attempts},
                   {"created_unix_s", d.created_unix_s},
                   {"next_attempt_unix_s", d.state == "pending" ? nlohmann::json(d.next_attempt_unix_s) : nullptr},
                   {"finished_unix_s", d.finished_unix_s}, {"tries", tries}});
  }
  return nlohmann::json{{"job_id", id}, {"deliveries", out}};
}

nlohmann::json JobService::budgets_status() {
  std::lock_guard lock(mutex_);
  return budgets_.status(record::unix_now());
}

// Reserves the job's p90 cost against its budgets, or refuses it naming the budget at its
// cap (at_cap reject). A queue-budget at its cap admits it held: it waits until it fits.
bool JobService::admitted_by_budgets(Submission& s, double reserve_usd) {
  std::lock_guard lock(mutex_);
  if (budgets_.empty()) return true;
  const Admission a = budgets_.admit(s.job.id, s.job.labels, reserve_usd, record::unix_now());
  if (!a.rejected_by.empty()) {
    s.refusal = Refusal::kBudget;
    s.reason = "budget " + a.rejected_by + " is at its cap for this " + "window";
    s.retry_after_s = a.retry_after_s;
    metrics_.job_refused("budget");
    return false;
  }
  if (!a.held_by.empty()) spdlog::info("job {}: held by budget {} until it fits", s.job.id, a.held_by);
  return true;
}

nlohmann::json JobService::queue_state() {
  const std::vector<StoredJob> queued = store_.in_state("queued");
  const double now = record::unix_now();
  const double oldest_wait = queued.empty() ? 0 : now - queued.front().created_unix_s;
  return {{"queued", queued.size()},
          {"running", store_.count_in_state("running")},
          {"max_queued", options_.max_queued},
          {"max_running", options_.max_running},
          {"oldest_wait_s", oldest_wait},
          {"arrivals_last_hour", store_.count_submitted_since(now - 3600)},
          {"fair_share", [&] {
             std::lock_guard lock(mutex_);
             return scheduler_.state(now);
           }()}};
}

}  // namespace reelscale::serve
