// serve/budgets.h — spending caps per day or month, in a time zone, on the whole service or
// on label values (one budget for every value of a key with "each"), nested by falling
// under several. A job reserves its predicted cost at its p90 against every budget it falls
// under when it is admitted; the reservation becomes its real cost when it ends (late
// idle-tail charges added). A job that would pass a cap is refused (at_cap "reject": 429
// until the window resets) or held in the queue until it fits (at_cap "queue"); a running job
// is never stopped. A job counts in the window it started in; a queued one in the current
// window. As spend nears a cap (adapt_at of it), plans for the jobs under it move to the
// cheapest within their deadline. The book holds no store: the service rebuilds it from
// the store at start (a job interrupted by a kill counts at least its reservation).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "serve/job_store.h"

namespace date {
class time_zone;
}

namespace reelscale::serve {

struct Budget {
  std::string name;
  Labels label;             // every one must match ("" : the whole service)
  std::string each;         // a label key: one budget per value of it
  std::string per = "day";  // day | month
  double usd = 0;
  std::string at_cap = "queue";  // queue | reject
  double adapt_at = 0.8;         // plans move to cost once reserved + spent reach this share
  double queue_ttl_s = 0;        // at_cap queue: a job held longer is cancelled (0: until it fits)
};

struct BudgetConfig {
  std::string time_zone = "UTC";
  std::vector<Budget> budgets;
  // The budgets file ({"time_zone": ..., "budgets": [...]}); bad shapes are refused naming
  // the budget and field.
  static BudgetConfig parse(const nlohmann::json& j);
};

// One job in the book.
struct BudgetJob {
  Labels labels;
  double reserve_usd = 0;   // predicted cost at its p90, times the book's reserve factor
  double spent_usd = 0;     // real cost, once ended
  double started_unix_s = 0;  // 0: still queued
  bool ended = false;
  bool held = false;        // queued past a cap: no reservation yet
  double predicted_usd = 0; // the plan's own figure (what the reserve factor is learned against)
  double held_since_unix_s = 0;
};

// One budget as it applies (a value of an "each" budget is its own instance).
struct BudgetUse {
  std::string name;         // "per-user[user_id=u1]" for an each-budget
  const Budget* budget = nullptr;
  std::string value;        // of the each-budget's key
  double window_start_unix_s = 0, window_end_unix_s = 0;
  double spent_usd = 0, reserved_usd = 0;
  double used() const { return spent_usd + reserved_usd; }
  // Spent and reserved, plus the rest of the window at the pace spent so far, that pace
  // judged over at least a tenth of the window (one early job forecasts no runaway).
  double forecast_usd(double now_unix_s) const;
};

struct Admission {
  std::string rejected_by;  // a reject-budget the job would pass
  std::string held_by;      // a queue-budget: admitted, held until it fits
  double retry_after_s = 0; // rejected: until that budget's window resets
};

class BudgetBook {
 public:
  explicit BudgetBook(BudgetConfig config = {});
  bool empty() const { return config_.budgets.empty(); }

  // Reserves the job's p90 cost (times the reserve factor) against every budget it falls
  // under, or says which budget refuses or holds it.
  Admission admit(const std::string& id, const Labels& labels, double predicted_usd, double now_unix_s);
  // A held job whose reservation now fits is reserved: "" when it may start, else the
  // budget that still holds it.
  std::string may_start(const std::string& id, double now_unix_s);
  void started(const std::string& id, double now_unix_s);
  void ended(const std::string& id, double cost_usd);
  void late_charge(const std::string& id, double usd);
  // What a job really cost against its plan's p90 cost: the reserve factor is the p90 of the
  // latest such ratios (at least 1, once five are known), so reservations cover what jobs
  // really cost where the plans run low (a local plan's p90 is its mean).
  void learn(double cost_usd, double predicted_usd);
  double reserve_factor() const;
  void forget(const std::string& id);  // cancelled while queued
  // Held jobs past the queue_ttl_s of a budget that holds them: (job id, budget name).
  std::vector<std::pair<std::string, std::string>> past_their_ttl(double now_unix_s) const;
  // From the store at start: a job as it stands there.
  void restore(const std::string& id, const BudgetJob& job) { jobs_[id] = job; }
  // The budget moving this job's plan to cost ("" : none): the first it falls under whose
  // forecast for the window, with the job's reservation added, is past its adapt_at share.
  std::string moving_plan(const Labels& labels, double reserve_usd, double now_unix_s) const;
  // Every budget instance with spend, reserved, forecast for its window and its reset.
  nlohmann::json status(double now_unix_s) const;
  std::vector<BudgetUse> uses(double now_unix_s) const;

 private:
  std::vector<BudgetUse> uses_for(const Labels& labels, double now_unix_s) const;
  void prune(double now_unix_s);  // drops jobs that ended before any window
  void add_up(BudgetUse& use, const std::string& except_id) const;
  bool falls_under(const Labels& labels, const Budget& b, const std::string& each_value) const;
  std::pair<double, double> window(const Budget& b, double unix_s) const;

  BudgetConfig config_;
  const date::time_zone* zone_ = nullptr;
  std::map<std::string, BudgetJob> jobs_;
  std::vector<double> ratios_;  // the latest real / predicted costs, oldest first
};

// A job's predicted cost at its p90 from its stored plan: the mean cost scaled as its p90
// time is to its mean (0 when the plan has none).
double reserve_of_plan(const nlohmann::json& plan);

}  // namespace reelscale::serve
