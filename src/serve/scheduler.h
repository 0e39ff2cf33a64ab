// serve/scheduler.h — which queued job runs next: fair share by cost between the values of
// one or two job labels (say feature, then user_id), with limits per value. A value's
// usage is the predicted cost of the jobs it started (settled to the real cost when they
// end), decaying by a half-life; the next job is the one whose value would have used the
// least per unit of weight once it ran, level by level, oldest first within a value (a
// weighted fair queue whose virtual time is decayed cost). It is work-conserving: a lone
// value gets every runner. A job that has waited past the aging bound goes first; a value
// under its guaranteed minimum of running jobs goes before the others; a value at its most
// running jobs or chunks in flight waits. Without fair-share labels it is first come, first
// served. It holds no store: the service rebuilds it from the store at start.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "serve/job_store.h"

namespace reelscale::serve {

// What one label value may do (0: no bound).
struct ValueRule {
  double weight = 1;
  int max_running = 0;  // jobs of this value running at once
  int max_chunks = 0;   // chunks of this value's running jobs at once (a larger job runs alone)
  int max_queued = 0;   // jobs of this value waiting; past it, its submissions get 429
  int min_running = 0;  // guaranteed: while fewer run, its queued jobs go before others'
};

struct FairShareConfig {
  std::vector<std::string> levels;  // label keys, outermost first; empty: first come, first served
  double half_life_s = 3600;        // usage halves in this long
  double max_wait_s = 0;            // > 0: a job queued longer goes first (oldest first)
  ValueRule default_rule;
  std::map<std::string, std::map<std::string, ValueRule>> rules;  // label key -> value -> rule

  // The weights file: {"default": RULE, "KEY": {"VALUE": RULE, "*": RULE}, ...}, where a
  // RULE has any of weight, max_running, max_chunks, max_queued, min_running. Keys must be among
  // `levels`; bad shapes and numbers are refused naming the place.
  static FairShareConfig parse(const std::vector<std::string>& levels, const nlohmann::json& weights);
  const ValueRule& rule(const std::string& key, const std::string& value) const;
};

// A job as the scheduler sees it.
struct SchedulerJob {
  std::string id;
  Labels labels;
  double cost_usd = 0;        // predicted (cloud-equivalent on local slots)
  double predicted_s = 0;     // predicted wall time
  double submitted_unix_s = 0;
  double started_unix_s = 0;  // running jobs
  int chunks = 1;             // planned
};

// Why a queued job waits, where it stands and when it should start.
struct PendingInfo {
  std::string reason;  // capacity | fair_share | user_limit | budget:NAME
  std::string detail;  // the value or limit behind it
  int position = 0;    // 1: next to start
  double estimated_start_unix_s = 0;
};

// The view GET /v1/jobs/{id} and the job.pending webhook give of a queued job's wait.
nlohmann::json to_json(const PendingInfo& p);

class Scheduler {
 public:
  explicit Scheduler(FairShareConfig config = {}) : config_(std::move(config)) {}

  const FairShareConfig& config() const { return config_; }
  // What else may hold a queued job back ("" : nothing): asked before it is picked, its
  // answer is the job's pending reason (budgets: "budget:NAME").
  void set_hold(std::function<std::string(const SchedulerJob&)> hold) { hold_ = std::move(hold); }
  void add_queued(const SchedulerJob& job);
  void remove_queued(const std::string& id);  // cancelled while it waited
  // Usage from before (the store's finished jobs at start): cost spent at a time.
  void add_usage(const Labels& labels, double cost_usd, double at_unix_s);
  // A job already running (after a restart, none: the service marks them failed).
  void add_running(const SchedulerJob& job, double now_unix_s);
  // The next job to run now, taken off the queue and counted running, its predicted
  // cost charged to its values; nullopt when none may start.
  std::optional<SchedulerJob> next(double now_unix_s);
  // A running job ended: its charge settled to what it cost.
  void finished(const std::string& id, double cost_usd, double now_unix_s);
  // Why the submission of a job with these labels is refused ("" : it is not): a value's
  // own queue is full.
  std::string queue_full_reason(const Labels& labels) const;
  // Seconds until the first queued job sharing these labels' values should start (>= 1).
  double retry_after_s(const Labels& labels, double now_unix_s, int runners) const;
  // Every queued job's reason, position and estimated start with `runners` runners.
  std::map<std::string, PendingInfo> pending(double now_unix_s, int runners) const;
  size_t queued() const { return queue_.size(); }
  // Per value: usage now, running and queued jobs (GET /v1/queue).
  nlohmann::json state(double now_unix_s) const;

 private:
  struct Usage {
    double usd = 0;
    double at_unix_s = 0;
    double now(double t, double half_life_s) const;
  };
  // A value's path: "feature=export" at the first level, "feature=export/user_id=u1" below.
  std::vector<std::string> paths_of(const Labels& labels) const;
  std::string value_of(const Labels& labels, size_t level) const;
  void charge(const Labels& labels, double usd, double at_unix_s);
  void forget_spent(double now_unix_s);
  // Index into `queue` of the job to start now, or -1.
  int pick(const std::vector<SchedulerJob>& queue, const std::map<std::string, int>& running,
           const std::map<std::string, Usage>& usage, double now_unix_s) const;
  bool at_limit(const SchedulerJob& job, const std::map<std::string, int>& running) const;
  bool under_minimum(const SchedulerJob& job, const std::map<std::string, int>& running) const;
  int fair_choice(const std::vector<SchedulerJob>& queue, const std::vector<int>& candidates,
                  const std::map<std::string, Usage>& usage, double now_unix_s) const;

  FairShareConfig config_;
  std::function<std::string(const SchedulerJob&)> hold_;
  std::vector<SchedulerJob> queue_;             // submission order
  std::map<std::string, SchedulerJob> running_; // by id
  std::map<std::string, int> running_by_path_;
  std::map<std::string, Usage> usage_;          // by path
};

}  // namespace reelscale::serve
