// serve/job_service_queue.cpp — the job service's queue and budgets: the scheduler and the
// budgets' book rebuilt from the store at start, a job's reservation at admission and its
// settling at the end, plans moved toward cost near a cap, why a queued job waits, and the
// queue and budgets as GET /v1/queue and /v1/budgets show them.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "serve/job_service.h"

namespace reelscale::serve {

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

void JobService::apply_budget_pressure(job::PlanningInputs& planning, const Labels& labels) {
  std::lock_guard lock(mutex_);
  if (budgets_.empty()) return;
  // The plan is then the cheapest within the deadline (job/job_plan.h).
  planning.budget_moved = budgets_.moving_plan(labels, 0, record::unix_now());
}

SchedulerJob JobService::scheduled(const StoredJob& job) const {
  const nlohmann::json plan = nlohmann::json::parse(job.plan_json.empty() ? "{}" : job.plan_json, nullptr, false);
  const bool read = plan.is_object();
  return {job.id, job.labels, read ? plan.value("cost_usd", 0.0) : 0.0, read ? plan.value("wall_mean_s", 0.0) : 0.0,
          job.created_unix_s, job.started_unix_s, static_cast<int>(std::max<int64_t>(1, job.chunks_total))};
}

void JobService::rebuild_schedule() {
  const double now = record::unix_now();
  for (const Spend& s : store_.spent_since(now - 10 * options_.fair_share.half_life_s)) {
    scheduler_.add_usage(s.labels, s.usd, s.finished_unix_s);
  }
  for (const StoredJob& job : store_.in_state("queued")) {
    scheduler_.add_queued(scheduled(job));
    if (!job.webhook_url.empty()) listening_[job.id] = "";  // told again once, at the next look
  }
  if (scheduler_.queued() > 0) spdlog::info("{} queued job(s) from before the restart", scheduler_.queued());
}

void JobService::job_ended(const std::string& id, double cost_usd) {
  bool told = false;
  {
    std::lock_guard lock(mutex_);
    scheduler_.finished(id, cost_usd, record::unix_now());
    budgets_.ended(id, cost_usd);
    cancel_held_past_ttl();  // also while every runner is busy
    told = tell_why_jobs_wait();
  }
  if (told) events_stored();
  wake_.notify_all();  // a value under its limit again, a runner free
}

bool JobService::tell_why_jobs_wait() {
  if (listening_.empty()) return false;  // the simulation below is for those who listen
  const double now = record::unix_now();
  const std::map<std::string, PendingInfo> all = scheduler_.pending(now, std::max(1, options_.max_running));
  bool told = false;
  for (auto it = listening_.begin(); it != listening_.end();) {
    const auto p = all.find(it->first);
    if (p == all.end()) {  // started or cancelled
      it = listening_.erase(it);
      continue;
    }
    const PendingInfo& why = p->second;
    const bool starts_now = (why.reason == "capacity" || why.reason == "fair_share") && why.estimated_start_unix_s <= now;
    if (!starts_now && why.reason != it->second) {
      const std::optional<StoredJob> job = store_.get(it->first);
      const std::optional<Delivery> event =
          job ? event_for(*job, "job.pending", {{"pending_reason", why.reason}, {"pending", to_json(why)}}) : std::nullopt;
      if (event && store_.add_queued_event(it->first, *event)) {
        it->second = why.reason;
        told = true;
      }
    }
    ++it;
  }
  return told;
}

std::optional<PendingInfo> JobService::pending(const std::string& id) {
  std::lock_guard lock(mutex_);
  const std::map<std::string, PendingInfo> all = scheduler_.pending(record::unix_now(), std::max(1, options_.max_running));
  const auto it = all.find(id);
  if (it == all.end()) return std::nullopt;
  return it->second;
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

// A job held by a queue-budget past its queue_ttl_s is cancelled, saying which budget (the
// caller holds mutex_; the store and the webhook sender have their own locks).
void JobService::cancel_held_past_ttl() {
  for (const auto& [id, budget] : budgets_.past_their_ttl(record::unix_now())) {
    const std::optional<StoredJob> job = store_.get(id);
    if (!job || job->state != "queued") continue;
    StoredJob cancelled = *job;
    cancelled.state = "cancelled";
    cancelled.finished_unix_s = record::unix_now();
    cancelled.error_kind = "budget";
    cancelled.error_message = "held by budget " + budget + " past its queue_ttl_s";
    if (store_.cancel_queued(id, cancelled.finished_unix_s, event_for(cancelled, "job.cancelled"), cancelled.error_kind,
                             cancelled.error_message)) {
      spdlog::info("job {}: cancelled: {}", id, cancelled.error_message);
      events_stored();
    }
    scheduler_.remove_queued(id);
    budgets_.forget(id);
  }
}

}  // namespace reelscale::serve
