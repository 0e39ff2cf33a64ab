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

std::optional<Delivery> JobService::event_for(const StoredJob& job, const std::string& type,
                                              const nlohmann::json& extra) const {
  if (job.webhook_url.empty()) return std::nullopt;
  return webhook_event(job, type, extra);
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
  apply_budget_pressure(planning, labels);
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
  if (!s.created) return s;
  spdlog::info("job {}: accepted ({} {} -> {}, {} chunk(s) planned)", s.job.id, s.job.endpoint, spec.input, spec.output,
               s.job.chunks_total);
  enqueue(s.job);
  return s;
}

void JobService::enqueue(const StoredJob& job) {
  bool told = false;
  {
    std::lock_guard lock(mutex_);
    scheduler_.add_queued(scheduled(job));
    // A job that will wait (a budget holding it included) tells its webhook why, at once.
    if (!job.webhook_url.empty()) listening_[job.id] = "";
    told = tell_why_jobs_wait();
    wake_.notify_one();
  }
  if (told) events_stored();
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
      // Looked at again each second too: a budget's window resets, a wait passes its bound,
      // a held job passes its budget's queue_ttl_s.
      while (!stopping_ && !(next = scheduler_.next(record::unix_now()))) {
        wake_.wait_for(lock, std::chrono::seconds(1));
        cancel_held_past_ttl();
        if (tell_why_jobs_wait()) events_stored();
      }
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

}  // namespace reelscale::serve
