// exec/remote_executor.cpp — HTTP dispatch with deadlines, retries and speculation.
#include "exec/remote_executor.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/error.h"

namespace reelscale::exec {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

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
  Clock::time_point start;
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
  std::vector<int> tried;
  std::string last_error;
  ChunkResult result;
};

struct WorkerState {
  std::string url;
  int in_flight = 0;
  Clock::time_point rest_until{};
};
}  // namespace

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

std::string RemoteExecutor::describe() const {
  return "remote (" + std::to_string(options_.workers.size()) + " worker URLs)";
}

std::vector<ChunkResult> RemoteExecutor::run(const std::vector<ChunkTaskSpec>& tasks, const RunProgress& progress,
                                             const std::atomic<bool>* cancel) {
  counters_ = Counters{};
  std::mutex m;
  std::condition_variable cv;
  std::vector<TaskState> state(tasks.size());
  std::vector<WorkerState> workers;
  for (const auto& w : options_.workers) workers.push_back({w});
  std::vector<std::shared_ptr<Attempt>> attempts;
  std::vector<std::thread> threads;
  std::vector<std::string> losers;  // outputs of attempts that lost to another
  std::vector<double> durations;
  std::string fatal;
  int64_t total_frames = 0, done_frames = 0;
  for (const auto& t : tasks) total_frames += t.range.size();

  auto launch = [&](int t, int w, bool speculative) {
    auto a = std::make_shared<Attempt>();
    TaskState& ts = state[t];
    a->task = t;
    a->worker = w;
    a->number = ++ts.launched;
    a->speculative = speculative;
    a->output = attempt_url(tasks[t].output, a->number);
    a->task_id = tasks[t].task_id + ".a" + std::to_string(a->number);
    a->start = Clock::now();
    a->client = std::make_shared<httplib::Client>(workers[w].url);
    set_timeouts(*a->client, options_.connect_timeout_s, tasks[t].deadline_s);
    ts.running++;
    ts.tried.push_back(w);
    if (speculative) {
      ts.speculated = true;
      ++counters_.speculative;
    }
    workers[w].in_flight++;
    ++counters_.attempts;
    attempts.push_back(a);
    ChunkTaskSpec spec = tasks[t];
    spec.output = a->output;
    spec.task_id = a->task_id;
    const std::string body = to_json(spec).dump();
    threads.emplace_back([&, a, body] {
      auto res = a->client->Post("/tasks", body, "application/json");
      std::lock_guard lock(m);
      a->finished = true;
      TaskState& ts = state[a->task];
      ts.running--;
      workers[a->worker].in_flight--;
      if (res && res->status == 200) {
        ChunkResult r;
        try {
          r = result_from_json(nlohmann::json::parse(res->body));
        } catch (const std::exception& e) {
          ts.last_error = workers[a->worker].url + " sent an unreadable result: " + e.what();
          ++ts.failures;
          cv.notify_all();
          return;
        }
        if (ts.done) {
          losers.push_back(a->output);
        } else {
          ts.done = true;
          r.index = tasks[a->task].index;
          r.worker = workers[a->worker].url;
          r.output = a->output;
          r.attempts = ts.launched;
          r.speculative = a->speculative;
          r.round_trip_seconds = seconds_since(a->start);
          ts.result = r;
          durations.push_back(r.round_trip_seconds);
          done_frames += tasks[a->task].range.size();
          // The other copy of this task, if any, has lost: stop waiting for it.
          for (auto& other : attempts) {
            if (other->task == a->task && other.get() != a.get() && !other->finished) {
              other->abandoned = true;
              losers.push_back(other->output);
              other->client->stop();
            }
          }
        }
      } else if (a->abandoned) {
        // Stopped by us (another copy won, or the run ended).
      } else if (res && res->status == 429) {
        ++counters_.busy_replies;
        workers[a->worker].rest_until = Clock::now() + std::chrono::milliseconds(200);
      } else {
        ++counters_.failures;
        ++ts.failures;
        std::string why;
        if (!res) {
          why = httplib::to_string(res.error());
          workers[a->worker].rest_until =
              Clock::now() + std::chrono::milliseconds(static_cast<int>(options_.down_cooldown_s * 1000));
        } else {
          why = "HTTP " + std::to_string(res->status);
          try {
            why += ": " + nlohmann::json::parse(res->body).value("message", std::string());
          } catch (const std::exception&) {
          }
        }
        ts.last_error = workers[a->worker].url + ": " + why;
        // A task the input itself makes fail (HTTP 400/404) will not do better elsewhere.
        const bool hopeless = res && (res->status == 400 || res->status == 404 || res->status == 403);
        if (!ts.done && ts.running == 0 && (hopeless || ts.failures >= options_.max_attempts)) {
          fatal = "chunk " + std::to_string(tasks[a->task].index) + " failed after " + std::to_string(ts.failures) +
                  " attempt(s); last: " + ts.last_error;
        }
      }
      cv.notify_all();
    });
  };

  auto free_worker = [&](int t, bool avoid_tried, int exclude) {
    const auto now = Clock::now();
    int best = -1;
    for (int w = 0; w < static_cast<int>(workers.size()); ++w) {
      if (w == exclude || workers[w].in_flight >= options_.per_worker || workers[w].rest_until > now) continue;
      const bool tried = std::count(state[t].tried.begin(), state[t].tried.end(), w) > 0;
      if (avoid_tried && tried) continue;
      if (best < 0 || workers[w].in_flight < workers[best].in_flight) best = w;
    }
    return best;
  };

  {
    std::unique_lock lock(m);
    while (true) {
      if (cancel && cancel->load()) {
        fatal = "cancelled";
        break;
      }
      if (!fatal.empty()) break;
      bool all_done = true;
      for (const auto& ts : state) all_done = all_done && ts.done;
      if (all_done) break;
      bool pending = false;
      for (int t = 0; t < static_cast<int>(tasks.size()); ++t) {
        if (state[t].done || state[t].running > 0) continue;
        pending = true;
        int w = free_worker(t, true, -1);
        if (w < 0) w = free_worker(t, false, -1);
        if (w < 0) break;
        launch(t, w, false);
      }
      if (options_.speculate && !pending && !durations.empty()) {
        std::vector<double> sorted = durations;
        std::sort(sorted.begin(), sorted.end());
        const double median = sorted[sorted.size() / 2];
        const double limit = std::max(options_.speculate_min_s, options_.speculate_factor * median);
        // Pick the stragglers first: launching appends to `attempts`.
        std::vector<std::pair<int, int>> stragglers;  // task, worker it runs on
        for (const auto& a : attempts) {
          const TaskState& ts = state[a->task];
          if (a->finished || ts.done || ts.speculated || ts.running != 1) continue;
          if (seconds_since(a->start) >= limit) stragglers.push_back({a->task, a->worker});
        }
        for (const auto& [task, on] : stragglers) {
          const int w = free_worker(task, true, on);
          if (w >= 0) launch(task, w, true);
        }
      }
      if (progress) progress(done_frames, total_frames);
      cv.wait_for(lock, std::chrono::milliseconds(100));
    }
    // Stop whatever still runs and ask its worker to drop the task.
    for (auto& a : attempts) {
      if (!a->finished) {
        a->abandoned = true;
        losers.push_back(a->output);
        a->client->stop();
        httplib::Client c(workers[a->worker].url);
        set_timeouts(c, 1, 1);
        c.Delete(("/tasks/" + a->task_id).c_str());
      }
    }
  }
  for (auto& th : threads) th.join();
  for (const std::string& url : losers) {
    try {
      store_.remove(url);
    } catch (const std::exception&) {
      // The job's temporary prefix is removed as a whole at the end anyway.
    }
  }
  if (fatal == "cancelled") fail(ErrorKind::kCancelled, "the job was cancelled");
  if (!fatal.empty()) fail(ErrorKind::kUnavailable, fatal);
  std::vector<ChunkResult> results;
  for (auto& ts : state) results.push_back(ts.result);
  if (progress) progress(total_frames, total_frames);
  return results;
}

}  // namespace reelscale::exec
