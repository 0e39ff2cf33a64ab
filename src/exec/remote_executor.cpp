// exec/remote_executor.cpp — HTTP dispatch with deadlines, retries and speculation.
// One RemoteRun holds the state of one run: the tasks, the workers and every attempt;
// a reply thread per attempt reports back under the run's lock, and the dispatch loop
// launches, retries and speculates until every task is done or one is hopeless.
#include "exec/remote_executor.h"

#include <httplib.h>

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/error.h"
#include "common/stopwatch.h"

namespace reelscale::exec {

namespace {

void set_timeouts(httplib::Client& c, double connect_s, double read_s) {
  c.set_connection_timeout(static_cast<time_t>(connect_s), static_cast<time_t>((connect_s - static_cast<time_t>(connect_s)) * 1e6));
  c.set_read_timeout(static_cast<time_t>(read_s), static_cast<time_t>((read_s - static_cast<time_t>(read_s)) * 1e6));
  c.set_write_timeout(30, 0);
}

// "s3://b/tmp/chunk-3.mp4" -> "s3://b/tmp/chunk-3.a2.mp4"
std::string attempt_url(const std::string& url, int attempt) {
  const auto dot = url.rfind('.');
  const auto slash = url.rfind('/');
  const std::string tag = ".a" + std::to_string(attempt);
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return url + tag;
  return url.substr(0, dot) + tag + url.substr(dot);
}

struct Attempt {
  int task = 0;
  int worker = 0;
  int number = 0;
  bool speculative = false;
  std::string output;
  std::string task_id;
  Stopwatch clock;
  std::shared_ptr<httplib::Client> client;
  bool finished = false;
  bool abandoned = false;  // stopped by us: its outcome does not count
};

struct TaskState {
  bool done = false;
  int failures = 0;
  int running = 0;
  int launched = 0;
  bool speculated = false;
  double billed_seconds = 0;
  std::vector<int> tried;
  std::string last_error;
  record::ChunkRecord result;
};

struct WorkerState {
  std::string url;
  int in_flight = 0;
  Stopwatch::Clock::time_point rest_until{};
};

std::string error_text(const httplib::Result& res) {
  if (!res) return httplib::to_string(res.error());
  std::string why = "HTTP " + std::to_string(res->status);
  try {
    why += ": " + nlohmann::json::parse(res->body).value("message", std::string());
  } catch (const std::exception&) {
  }
  return why;
}

}  // namespace

class RemoteRun {
 public:
  RemoteRun(RemoteExecutor& owner, const std::vector<ChunkTaskSpec>& tasks)
      : owner_(owner), options_(owner.options_), store_(owner.store_), tasks_(tasks), state_(tasks.size()) {
    for (const auto& w : options_.workers) workers_.push_back({w});
    for (const auto& t : tasks) total_frames_ += t.range.size();
  }

  std::vector<record::ChunkRecord> run(const RunProgress& progress, const std::atomic<bool>* cancel) {
    {
      std::unique_lock lock(mutex_);
      while (!finished(cancel)) {
        const bool pending = launch_pending();
        if (options_.speculate && !pending && !durations_.empty()) speculate();
        if (progress) progress(done_frames_, total_frames_);
        cv_.wait_for(lock, std::chrono::milliseconds(100));
      }
      stop_unfinished();
    }
    for (auto& th : threads_) th.join();
    owner_.set_counters(counters_);
    remove_losers();
    if (fatal_ == "cancelled") fail(ErrorKind::kCancelled, "the job was cancelled");
    if (!fatal_.empty()) fail(ErrorKind::kUnavailable, fatal_);
    std::vector<record::ChunkRecord> results;
    for (auto& ts : state_) {
      ts.result.billed_seconds = ts.billed_seconds;
      results.push_back(ts.result);
    }
    if (progress) progress(total_frames_, total_frames_);
    return results;
  }

 private:
  bool finished(const std::atomic<bool>* cancel) {
    if (cancel && cancel->load()) fatal_ = "cancelled";
    if (!fatal_.empty()) return true;
    return std::all_of(state_.begin(), state_.end(), [](const TaskState& ts) { return ts.done; });
  }

  // Launches every task that is neither done nor running on a free worker; true when some
  // such task remains (launched or waiting for a worker).
  bool launch_pending() {
    bool pending = false;
    for (int t = 0; t < static_cast<int>(tasks_.size()); ++t) {
      if (state_[t].done || state_[t].running > 0) continue;
      pending = true;
      int w = free_worker(t, true, -1);
      if (w < 0) w = free_worker(t, false, -1);
      if (w < 0) break;
      launch(t, w, false);
    }
    return pending;
  }

  // A second run of each task that has run longer than the stragglers' limit.
  void speculate() {
    std::vector<double> sorted = durations_;
    std::sort(sorted.begin(), sorted.end());
    const double limit = std::max(options_.speculate_min_s, options_.speculate_factor * sorted[sorted.size() / 2]);
    std::vector<std::pair<int, int>> stragglers;  // task, the worker it runs on (launching appends to attempts_)
    for (const auto& a : attempts_) {
      const TaskState& ts = state_[a->task];
      if (a->finished || ts.done || ts.speculated || ts.running != 1) continue;
      if (a->clock.seconds() >= limit) stragglers.push_back({a->task, a->worker});
    }
    for (const auto& [task, on] : stragglers) {
      const int w = free_worker(task, true, on);
      if (w >= 0) launch(task, w, true);
    }
  }

  int free_worker(int t, bool avoid_tried, int exclude) const {
    const auto now = Stopwatch::Clock::now();
    int best = -1;
    for (int w = 0; w < static_cast<int>(workers_.size()); ++w) {
      if (w == exclude || workers_[w].in_flight >= options_.per_worker || workers_[w].rest_until > now) continue;
      const bool tried = std::count(state_[t].tried.begin(), state_[t].tried.end(), w) > 0;
      if (avoid_tried && tried) continue;
      if (best < 0 || workers_[w].in_flight < workers_[best].in_flight) best = w;
    }
    return best;
  }

  void launch(int t, int w, bool speculative) {
    auto a = std::make_shared<Attempt>();
    TaskState& ts = state_[t];
    a->task = t;
    a->worker = w;
    a->number = ++ts.launched;
    a->speculative = speculative;
    a->output = attempt_url(tasks_[t].output, a->number);
    a->task_id = tasks_[t].task_id + ".a" + std::to_string(a->number);
    a->client = std::make_shared<httplib::Client>(workers_[w].url);
    if (!options_.token.empty()) a->client->set_bearer_token_auth(options_.token);
    set_timeouts(*a->client, options_.connect_timeout_s, tasks_[t].deadline_s);
    ts.running++;
    ts.tried.push_back(w);
    if (speculative) {
      ts.speculated = true;
      ++counters_.speculative;
    }
    workers_[w].in_flight++;
    ++owner_.in_flight_;
    ++counters_.attempts;
    attempts_.push_back(a);
    ChunkTaskSpec spec = tasks_[t];
    spec.output = a->output;
    spec.task_id = a->task_id;
    threads_.emplace_back([this, a, body = to_json(spec).dump()] {
      auto res = a->client->Post("/tasks", body, "application/json");
      std::lock_guard lock(mutex_);
      on_reply(*a, res);
      cv_.notify_all();
    });
  }

  void on_reply(Attempt& a, const httplib::Result& res) {
    a.finished = true;
    TaskState& ts = state_[a.task];
    ts.running--;
    ts.billed_seconds += a.clock.seconds();
    workers_[a.worker].in_flight--;
    --owner_.in_flight_;
    if (res && res->status == 200) {
      on_success(a, res->body);
    } else if (a.abandoned) {
      // Stopped by us (another copy won, or the run ended).
    } else if (res && res->status == 429) {
      ++counters_.busy_replies;
      workers_[a.worker].rest_until = Stopwatch::Clock::now() + std::chrono::milliseconds(200);
    } else {
      on_failure(a, res);
    }
  }

  void on_success(Attempt& a, const std::string& body) {
    TaskState& ts = state_[a.task];
    record::ChunkRecord r;
    try {
      r = record::chunk_from_json(nlohmann::json::parse(body));
    } catch (const std::exception& e) {
      ts.last_error = workers_[a.worker].url + " sent an unreadable result: " + e.what();
      ++ts.failures;
      return;
    }
    if (ts.done) {
      losers_.push_back(a.output);
      return;
    }
    ts.done = true;
    r.index = tasks_[a.task].index;
    r.worker = workers_[a.worker].url;
    r.output = a.output;
    r.attempts = ts.launched;
    r.speculative = a.speculative;
    r.timings_s.round_trip = a.clock.seconds();
    ts.result = r;
    durations_.push_back(r.timings_s.round_trip);
    done_frames_ += tasks_[a.task].range.size();
    // The other copy of this task, if any, has lost: stop it.
    for (auto& other : attempts_) {
      if (other->task == a.task && other.get() != &a && !other->finished) abandon(*other);
    }
  }

  void on_failure(Attempt& a, const httplib::Result& res) {
    TaskState& ts = state_[a.task];
    ++counters_.failures;
    ++ts.failures;
    if (!res) {
      workers_[a.worker].rest_until =
          Stopwatch::Clock::now() + std::chrono::milliseconds(static_cast<int>(options_.down_cooldown_s * 1000));
    }
    ts.last_error = workers_[a.worker].url + ": " + error_text(res);
    // A task the input itself makes fail (HTTP 400/404), or that the workers refuse (401,
    // 403, 413), will not do better elsewhere.
    const bool hopeless =
        res && (res->status == 400 || res->status == 401 || res->status == 403 || res->status == 404 || res->status == 413);
    if (!ts.done && ts.running == 0 && (hopeless || ts.failures >= options_.max_attempts)) {
      fatal_ = "chunk " + std::to_string(tasks_[a.task].index) + " failed after " + std::to_string(ts.failures) +
               " attempt(s); last: " + ts.last_error;
    }
  }

  // Stops waiting for an attempt, asks its worker to drop the task, and marks its output for deletion.
  void abandon(Attempt& a) {
    a.abandoned = true;
    losers_.push_back(a.output);
    a.client->stop();
    httplib::Client c(workers_[a.worker].url);
    if (!options_.token.empty()) c.set_bearer_token_auth(options_.token);
    set_timeouts(c, 1, 1);
    c.Delete(("/tasks/" + a.task_id).c_str());
  }

  void stop_unfinished() {
    for (auto& a : attempts_) {
      if (!a->finished) abandon(*a);
    }
  }

  void remove_losers() {
    for (const std::string& url : losers_) {
      try {
        store_.remove(url);
      } catch (const std::exception&) {
        // The job's temporary prefix is removed as a whole at the end anyway.
      }
    }
  }

  RemoteExecutor& owner_;
  const RemoteOptions& options_;
  RemoteExecutor::Counters counters_;  // this run's; the executor keeps the last run's
  store::ObjectStore& store_;
  const std::vector<ChunkTaskSpec>& tasks_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<TaskState> state_;
  std::vector<WorkerState> workers_;
  std::vector<std::shared_ptr<Attempt>> attempts_;
  std::vector<std::thread> threads_;
  std::vector<std::string> losers_;  // outputs of attempts that lost to another
  std::vector<double> durations_;
  std::string fatal_;
  int64_t total_frames_ = 0;
  int64_t done_frames_ = 0;
};

bool worker_healthy(const std::string& url, double timeout_s) {
  httplib::Client c(url);
  set_timeouts(c, timeout_s, timeout_s);
  auto res = c.Get("/healthz");
  return res && res->status == 200;
}

RemoteExecutor::RemoteExecutor(RemoteOptions options, store::ObjectStore& store)
    : options_(std::move(options)), store_(store) {
  if (options_.workers.empty()) fail(ErrorKind::kBadInput, "no worker URLs given");
}

void RemoteExecutor::set_counters(const Counters& c) {
  std::lock_guard lock(counters_mutex_);
  counters_ = c;
}

RemoteExecutor::Counters RemoteExecutor::counters() const {
  std::lock_guard lock(counters_mutex_);
  return counters_;
}

int RemoteExecutor::idle_capacity() const {
  return std::max(0, static_cast<int>(options_.workers.size()) * std::max(1, options_.per_worker) - in_flight_.load());
}

std::string RemoteExecutor::describe() const {
  return "remote (" + std::to_string(options_.workers.size()) + " worker URLs)";
}

std::vector<record::ChunkRecord> RemoteExecutor::run(const std::vector<ChunkTaskSpec>& tasks,
                                                     const RunProgress& progress, const std::atomic<bool>* cancel) {
  RemoteRun run(*this, tasks);
  return run.run(progress, cancel);
}

}  // namespace reelscale::exec
