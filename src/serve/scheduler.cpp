// serve/scheduler.cpp — fair share by decayed cost, limits per label value, and why a
// queued job waits (a simulation of the order to come).
#include "serve/scheduler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"

namespace reelscale::serve {

namespace {

ValueRule parse_rule(const nlohmann::json& j, ValueRule rule, const std::string& where) {
  if (!j.is_object()) fail(ErrorKind::kBadInput, "fair-share weights: " + where + " is not an object");
  for (const auto& [name, value] : j.items()) {
    if (!value.is_number()) fail(ErrorKind::kBadInput, "fair-share weights: " + where + "." + name + " is not a number");
    const double x = value.get<double>();
    if (name == "weight") {
      if (!(x > 0) || !std::isfinite(x)) fail(ErrorKind::kBadInput, "fair-share weights: " + where + ".weight must be > 0");
      rule.weight = x;
      continue;
    }
    if (x < 0 || x > 1e6 || x != std::floor(x)) {
      fail(ErrorKind::kBadInput, "fair-share weights: " + where + "." + name + " must be a whole number >= 0");
    }
    if (name == "max_running") {
      rule.max_running = static_cast<int>(x);
    } else if (name == "max_queued") {
      rule.max_queued = static_cast<int>(x);
    } else if (name == "min_running") {
      rule.min_running = static_cast<int>(x);
    } else if (name == "max_chunks") {
      rule.max_chunks = static_cast<int>(x);
    } else {
      fail(ErrorKind::kBadInput, "fair-share weights: " + where + " has '" + name +
                                     "' (known: weight, max_running, max_chunks, max_queued, min_running)");
    }
  }
  return rule;
}

}  // namespace

FairShareConfig FairShareConfig::parse(const std::vector<std::string>& levels, const nlohmann::json& weights) {
  FairShareConfig c;
  c.levels = levels;
  if (levels.size() > 2) fail(ErrorKind::kBadInput, "--fair-share takes one or two label keys");
  if (weights.is_null()) return c;
  if (!weights.is_object()) fail(ErrorKind::kBadInput, "fair-share weights: the file is not a JSON object");
  if (weights.contains("default")) c.default_rule = parse_rule(weights["default"], {}, "default");
  for (const auto& [key, values] : weights.items()) {
    if (key == "default") continue;
    if (std::find(levels.begin(), levels.end(), key) == levels.end()) {
      fail(ErrorKind::kBadInput, "fair-share weights: '" + key + "' is not one of the --fair-share label keys");
    }
    if (!values.is_object()) fail(ErrorKind::kBadInput, "fair-share weights: " + key + " is not an object");
    const ValueRule base = values.contains("*") ? parse_rule(values["*"], c.default_rule, key + ".*") : c.default_rule;
    for (const auto& [value, rule] : values.items()) {
      c.rules[key][value] = value == "*" ? base : parse_rule(rule, base, key + "." + value);
    }
  }
  return c;
}

const ValueRule& FairShareConfig::rule(const std::string& key, const std::string& value) const {
  const auto k = rules.find(key);
  if (k == rules.end()) return default_rule;
  if (const auto v = k->second.find(value); v != k->second.end()) return v->second;
  if (const auto any = k->second.find("*"); any != k->second.end()) return any->second;
  return default_rule;
}

double Scheduler::Usage::now(double t, double half_life_s) const {
  return usd * std::pow(0.5, std::max(0.0, t - at_unix_s) / std::max(1e-9, half_life_s));
}

std::string Scheduler::value_of(const Labels& labels, size_t level) const {
  const auto it = labels.find(config_.levels[level]);
  return it == labels.end() ? "" : it->second;
}

std::vector<std::string> Scheduler::paths_of(const Labels& labels) const {
  std::vector<std::string> paths;
  std::string path;
  for (size_t i = 0; i < config_.levels.size(); ++i) {
    path += (i ? "/" : "") + config_.levels[i] + "=" + value_of(labels, i);
    paths.push_back(path);
  }
  return paths;
}

namespace {

// Jobs by path, and their chunks under "PATH#chunks".
void add_to(std::map<std::string, int>& counts, const std::vector<std::string>& paths, int n, int chunks = 0) {
  for (const std::string& p : paths) {
    counts[p] += n;
    if (chunks > 0) counts[p + "#chunks"] += n * chunks;
  }
}

int count_of(const std::map<std::string, int>& counts, const std::string& key) {
  const auto it = counts.find(key);
  return it == counts.end() ? 0 : it->second;
}

}  // namespace

void Scheduler::charge(const Labels& labels, double usd, double at_unix_s) {
  for (const std::string& p : paths_of(labels)) {
    Usage& u = usage_[p];
    if (at_unix_s >= u.at_unix_s) {
      u.usd = std::max(0.0, u.now(at_unix_s, config_.half_life_s) + usd);
      u.at_unix_s = at_unix_s;
    } else {  // older than what it holds (rebuilt from the store in any order)
      u.usd = std::max(0.0, u.usd + Usage{usd, at_unix_s}.now(u.at_unix_s, config_.half_life_s));
    }
  }
}

void Scheduler::add_queued(const SchedulerJob& job) { queue_.push_back(job); }

void Scheduler::remove_queued(const std::string& id) {
  queue_.erase(std::remove_if(queue_.begin(), queue_.end(), [&](const SchedulerJob& j) { return j.id == id; }),
               queue_.end());
}

void Scheduler::add_usage(const Labels& labels, double cost_usd, double at_unix_s) {
  if (!config_.levels.empty() && cost_usd > 0) charge(labels, cost_usd, at_unix_s);
}

void Scheduler::add_running(const SchedulerJob& job, double now_unix_s) {
  running_[job.id] = job;
  add_to(running_by_path_, paths_of(job.labels), 1, job.chunks);
  charge(job.labels, job.cost_usd, now_unix_s);
}

std::optional<SchedulerJob> Scheduler::next(double now_unix_s) {
  const int i = pick(queue_, running_by_path_, usage_, now_unix_s);
  if (i < 0) return std::nullopt;
  SchedulerJob job = queue_[static_cast<size_t>(i)];
  queue_.erase(queue_.begin() + i);
  job.started_unix_s = now_unix_s;
  add_running(job, now_unix_s);
  return job;
}

void Scheduler::finished(const std::string& id, double cost_usd, double now_unix_s) {
  const auto it = running_.find(id);
  if (it == running_.end()) return;
  add_to(running_by_path_, paths_of(it->second.labels), -1, it->second.chunks);
  if (!config_.levels.empty()) charge(it->second.labels, cost_usd - it->second.cost_usd, now_unix_s);
  running_.erase(it);
  forget_spent(now_unix_s);
}

// Values whose usage has decayed to nothing and that have no job running: forgotten, so the
// map holds the values of the last few half-lives, not every value ever seen.
void Scheduler::forget_spent(double now_unix_s) {
  for (auto it = usage_.begin(); it != usage_.end();) {
    const bool spent = it->second.now(now_unix_s, config_.half_life_s) < 1e-12 && count_of(running_by_path_, it->first) == 0;
    it = spent ? usage_.erase(it) : std::next(it);
  }
}

bool Scheduler::at_limit(const SchedulerJob& job, const std::map<std::string, int>& running) const {
  const std::vector<std::string> paths = paths_of(job.labels);
  for (size_t i = 0; i < paths.size(); ++i) {
    const ValueRule& rule = config_.rule(config_.levels[i], value_of(job.labels, i));
    if (rule.max_running > 0 && count_of(running, paths[i]) >= rule.max_running) return true;
    // Chunks in flight: a job larger than the bound runs alone rather than never.
    const int in_flight = count_of(running, paths[i] + "#chunks");
    if (rule.max_chunks > 0 && in_flight > 0 && in_flight + job.chunks > rule.max_chunks) return true;
  }
  return false;
}

bool Scheduler::under_minimum(const SchedulerJob& job, const std::map<std::string, int>& running) const {
  const std::vector<std::string> paths = paths_of(job.labels);
  for (size_t i = 0; i < paths.size(); ++i) {
    const int least = config_.rule(config_.levels[i], value_of(job.labels, i)).min_running;
    const auto r = running.find(paths[i]);
    if (least > 0 && (r == running.end() || r->second < least)) return true;
  }
  return false;
}

// Level by level: the value whose usage, with its oldest candidate's cost added, is the
// least per unit of weight (ties: the older candidate); within the last, the oldest.
int Scheduler::fair_choice(const std::vector<SchedulerJob>& queue, const std::vector<int>& candidates,
                           const std::map<std::string, Usage>& usage, double now_unix_s) const {
  std::vector<int> in = candidates;
  for (size_t level = 0; level < config_.levels.size(); ++level) {
    std::string best_path;
    double best_score = std::numeric_limits<double>::infinity();
    for (const int i : in) {  // submission order: the first of each value is its oldest
      const SchedulerJob& job = queue[static_cast<size_t>(i)];
      const std::string path = paths_of(job.labels)[level];
      const auto u = usage.find(path);
      const double used = u == usage.end() ? 0 : u->second.now(now_unix_s, config_.half_life_s);
      const double score = (used + job.cost_usd) / config_.rule(config_.levels[level], value_of(job.labels, level)).weight;
      if (score < best_score) best_score = score, best_path = path;
    }
    std::vector<int> kept;
    for (const int i : in) {
      if (paths_of(queue[static_cast<size_t>(i)].labels)[level] == best_path) kept.push_back(i);
    }
    in = std::move(kept);
  }
  return in.empty() ? -1 : in.front();
}

int Scheduler::pick(const std::vector<SchedulerJob>& queue, const std::map<std::string, int>& running,
                    const std::map<std::string, Usage>& usage, double now_unix_s) const {
  std::vector<int> eligible, guaranteed;
  for (size_t i = 0; i < queue.size(); ++i) {
    if (at_limit(queue[i], running) || (hold_ && !hold_(queue[i]).empty())) continue;
    eligible.push_back(static_cast<int>(i));
    if (under_minimum(queue[i], running)) guaranteed.push_back(static_cast<int>(i));
  }
  if (eligible.empty()) return -1;
  if (config_.max_wait_s > 0) {
    for (const int i : eligible) {
      if (now_unix_s - queue[static_cast<size_t>(i)].submitted_unix_s >= config_.max_wait_s) return i;
    }
  }
  if (config_.levels.empty()) return eligible.front();
  return fair_choice(queue, guaranteed.empty() ? eligible : guaranteed, usage, now_unix_s);
}

std::string Scheduler::queue_full_reason(const Labels& labels) const {
  const std::vector<std::string> paths = paths_of(labels);
  for (size_t level = 0; level < paths.size(); ++level) {
    const int most = config_.rule(config_.levels[level], value_of(labels, level)).max_queued;
    if (most <= 0) continue;
    const auto queued = std::count_if(queue_.begin(), queue_.end(),
                                      [&](const SchedulerJob& j) { return paths_of(j.labels)[level] == paths[level]; });
    if (queued >= most) {
      return config_.levels[level] + "=" + value_of(labels, level) + " has " + std::to_string(queued) +
             " queued jobs, its limit";
    }
  }
  return "";
}

double Scheduler::retry_after_s(const Labels& labels, double now_unix_s, int runners) const {
  const std::map<std::string, PendingInfo> all = pending(now_unix_s, runners);
  const std::vector<std::string> paths = paths_of(labels);
  double soonest = std::numeric_limits<double>::infinity();
  for (const SchedulerJob& job : queue_) {
    const std::vector<std::string> theirs = paths_of(job.labels);
    if (std::find_first_of(paths.begin(), paths.end(), theirs.begin(), theirs.end()) == paths.end()) continue;
    const auto p = all.find(job.id);
    if (p != all.end() && p->second.estimated_start_unix_s > 0) soonest = std::min(soonest, p->second.estimated_start_unix_s);
  }
  return std::isfinite(soonest) ? std::max(1.0, soonest - now_unix_s) : 60.0;
}

nlohmann::json to_json(const PendingInfo& p) {
  return {{"reason", p.reason}, {"detail", p.detail}, {"position", p.position},
          {"estimated_start_unix_s", p.estimated_start_unix_s}};
}

std::map<std::string, PendingInfo> Scheduler::pending(double now_unix_s, int runners) const {
  // The order to come: jobs start as runners free up (each running its predicted time),
  // picked as next() would pick them then.
  std::vector<SchedulerJob> queue = queue_;
  std::map<std::string, int> counts = running_by_path_;
  std::map<std::string, Usage> usage = usage_;
  std::vector<std::pair<double, const SchedulerJob*>> busy;  // end time, job
  for (const auto& [id, job] : running_) busy.push_back({std::max(now_unix_s, job.started_unix_s + job.predicted_s), &job});
  std::vector<SchedulerJob> started;  // kept alive for `busy`
  started.reserve(queue.size());
  std::map<std::string, PendingInfo> out;
  std::map<std::string, size_t> order;  // id -> submission index
  for (size_t i = 0; i < queue_.size(); ++i) order[queue_[i].id] = i;
  size_t latest_index = 0;
  double t = now_unix_s;
  int position = 0;
  while (!queue.empty()) {
    busy.erase(std::remove_if(busy.begin(), busy.end(), [&](const auto& b) {
                 if (b.first > t) return false;
                 add_to(counts, paths_of(b.second->labels), -1, b.second->chunks);
                 return true;
               }), busy.end());
    if (static_cast<int>(busy.size()) < std::max(1, runners)) {
      const int i = pick(queue, counts, usage, t);
      if (i >= 0) {
        started.push_back(queue[static_cast<size_t>(i)]);
        queue.erase(queue.begin() + i);
        const SchedulerJob& job = started.back();
        PendingInfo& p = out[job.id];
        p.position = ++position;
        p.estimated_start_unix_s = t;
        const size_t index = order[job.id];
        p.reason = position > 1 && latest_index > index ? "fair_share" : "capacity";
        latest_index = std::max(latest_index, index);
        add_to(counts, paths_of(job.labels), 1, job.chunks);
        for (const std::string& path : paths_of(job.labels)) {
          Usage& u = usage[path];
          u = {u.now(t, config_.half_life_s) + job.cost_usd, t};
        }
        busy.push_back({t + std::max(0.001, job.predicted_s), &job});
        continue;
      }
    }
    if (busy.empty()) break;  // nothing runs and nothing may start: the rest never would
    t = std::min_element(busy.begin(), busy.end())->first;
  }
  for (const SchedulerJob& job : queue) out[job.id] = {"user_limit", "", ++position, 0};
  // What holds a job back now: its value's limit, else the order above.
  for (const SchedulerJob& job : queue_) {
    PendingInfo& p = out[job.id];
    if (const std::string held = hold_ ? hold_(job) : ""; !held.empty()) {
      p.reason = held;
      p.detail = "its predicted cost would pass the budget's cap: it waits until it fits or the window resets";
    } else if (at_limit(job, running_by_path_)) {
      p.reason = "user_limit";
      p.detail = "a value of its labels runs its most jobs at once";
    } else if (p.reason == "fair_share") {
      p.detail = "jobs of values that used less go first";
    }
  }
  return out;
}

nlohmann::json Scheduler::state(double now_unix_s) const {
  std::map<std::string, int> queued;
  for (const SchedulerJob& j : queue_) add_to(queued, paths_of(j.labels), 1);
  std::map<std::string, bool> paths;
  for (const auto& [p, u] : usage_) paths[p] = true;
  for (const auto& [p, n] : queued) paths[p] = true;
  for (const auto& [p, n] : running_by_path_) {
    if (p.find('#') == std::string::npos) paths[p] = true;
  }
  nlohmann::json values = nlohmann::json::array();
  for (const auto& [p, seen] : paths) {
    const auto u = usage_.find(p);
    const auto r = running_by_path_.find(p);
    const auto q = queued.find(p);
    values.push_back({{"value", p},
                      {"usage_usd", u == usage_.end() ? 0.0 : u->second.now(now_unix_s, config_.half_life_s)},
                      {"running", r == running_by_path_.end() ? 0 : r->second},
                      {"chunks_running", count_of(running_by_path_, p + "#chunks")},
                      {"queued", q == queued.end() ? 0 : q->second}});
  }
  return {{"levels", config_.levels}, {"half_life_s", config_.half_life_s}, {"max_wait_s", config_.max_wait_s},
          {"values", values}};
}

}  // namespace reelscale::serve
