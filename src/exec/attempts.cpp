// exec/attempts.cpp — the shared attempt policy: launches, stragglers, failures, winners.
#include "exec/attempts.h"

#include <algorithm>

namespace reelscale::exec {

void remove_leftovers(store::ObjectStore& store, const std::vector<std::string>& urls) {
  for (const std::string& url : urls) {
    try {
      store.remove(url);
    } catch (const std::exception&) {
      // Left for the removal of the job's temporary prefix.
    }
  }
}

std::string attempt_url(const std::string& url, int attempt) {
  const auto dot = url.rfind('.');
  const auto slash = url.rfind('/');
  const std::string tag = ".a" + std::to_string(attempt);
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return url + tag;
  return url.substr(0, dot) + tag + url.substr(dot);
}

AttemptBook::AttemptBook(const std::vector<ChunkTaskSpec>& tasks, AttemptPolicy policy)
    : tasks_(tasks), policy_(policy), state_(tasks.size()) {
  for (const auto& t : tasks) total_frames_ += t.range.size();
}

std::vector<int> AttemptBook::waiting() const {
  std::vector<int> out;
  for (int t = 0; t < static_cast<int>(state_.size()); ++t) {
    if (!state_[t].done && state_[t].running == 0) out.push_back(t);
  }
  return out;
}

bool AttemptBook::tried(int task, int place) const {
  const auto& tried = state_[task].tried;
  return std::find(tried.begin(), tried.end(), place) != tried.end();
}

std::shared_ptr<Attempt> AttemptBook::launch(int task, int place, bool speculative) {
  TaskState& ts = state_[task];
  auto a = std::make_shared<Attempt>();
  a->task = task;
  a->place = place;
  a->number = ++ts.launched;
  a->speculative = speculative;
  a->output = attempt_url(tasks_[task].output, a->number);
  a->task_id = tasks_[task].task_id + ".a" + std::to_string(a->number);
  ts.running++;
  ts.tried.push_back(place);
  if (speculative) {
    ts.speculated = true;
    ++speculative_;
  }
  attempts_.push_back(a);
  return a;
}

std::vector<std::shared_ptr<Attempt>> AttemptBook::stragglers() const {
  std::vector<std::shared_ptr<Attempt>> out;
  if (!policy_.speculate || durations_.empty()) return out;
  std::vector<double> sorted = durations_;
  std::sort(sorted.begin(), sorted.end());
  const double limit = std::max(policy_.speculate_min_s, policy_.speculate_factor * sorted[sorted.size() / 2]);
  for (const auto& a : attempts_) {
    const TaskState& ts = state_[a->task];
    if (a->finished || ts.done || ts.speculated || ts.running != 1) continue;
    if (a->clock.seconds() >= limit) out.push_back(a);
  }
  return out;
}

void AttemptBook::finish(Attempt& a) {
  a.finished = true;
  TaskState& ts = state_[a.task];
  ts.running--;
  ts.attempt_seconds += a.clock.seconds();
}

bool AttemptBook::succeeded(Attempt& a, record::ChunkRecord r, const std::string& place_name) {
  finish(a);
  TaskState& ts = state_[a.task];
  if (ts.done || a.abandoned) {
    if (std::find(losers_.begin(), losers_.end(), a.output) == losers_.end()) losers_.push_back(a.output);
    return false;
  }
  ts.done = true;
  r.index = tasks_[a.task].index;
  r.worker = place_name;
  r.output = a.output;
  r.attempts = ts.launched;
  r.speculative = a.speculative;
  r.timings_s.round_trip = a.clock.seconds();
  ts.result = r;
  durations_.push_back(r.timings_s.round_trip);
  done_frames_ += tasks_[a.task].range.size();
  for (auto& other : attempts_) {
    if (other->task == a.task && other.get() != &a && !other->finished && !other->abandoned) abandon(*other);
  }
  return true;
}

void AttemptBook::failed(Attempt& a, const std::string& why, bool hopeless) {
  finish(a);
  if (a.abandoned) return;
  TaskState& ts = state_[a.task];
  ++failures_;
  ++ts.failures;
  ts.last_error = why;
  if (!ts.done && ts.running == 0 && (hopeless || ts.failures >= policy_.max_attempts) && fatal_.empty()) {
    fatal_ = "chunk " + std::to_string(tasks_[a.task].index) + " failed after " + std::to_string(ts.failures) +
             " attempt(s); last: " + ts.last_error;
  }
}

void AttemptBook::ended_uncounted(Attempt& a) { finish(a); }

void AttemptBook::abandon(Attempt& a) {
  if (a.abandoned) return;
  a.abandoned = true;
  losers_.push_back(a.output);
}

bool AttemptBook::all_done() const {
  return std::all_of(state_.begin(), state_.end(), [](const TaskState& ts) { return ts.done; });
}

std::vector<std::shared_ptr<Attempt>> AttemptBook::running() const {
  std::vector<std::shared_ptr<Attempt>> out;
  for (const auto& a : attempts_) {
    if (!a->finished) out.push_back(a);
  }
  return out;
}

std::vector<record::ChunkRecord> AttemptBook::results() const {
  std::vector<record::ChunkRecord> out;
  for (const TaskState& ts : state_) {
    record::ChunkRecord r = ts.result;
    r.billed_seconds = ts.attempt_seconds;
    out.push_back(r);
  }
  return out;
}

}  // namespace reelscale::exec
