// exec/remote_executor.cpp — HTTP dispatch with deadlines, retries and speculation.
// One RemoteRun holds the state of one run: the workers and the attempt book (the shared
// attempt policy, exec/attempts.h); a reply thread per attempt reports back under the
// run's lock, and the dispatch loop launches, retries and speculates until every task is
// done or one is hopeless.
#include "exec/remote_executor.h"

#include <httplib.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/error.h"
#include "common/stopwatch.h"
#include "exec/attempts.h"

namespace reelscale::exec {

namespace {

void set_timeouts(httplib::Client& c, double connect_s, double read_s) {
  c.set_connection_timeout(static_cast<time_t>(connect_s), static_cast<time_t>((connect_s - static_cast<time_t>(connect_s)) * 1e6));
  c.set_read_timeout(static_cast<time_t>(read_s), static_cast<time_t>((read_s - static_cast<time_t>(read_s)) * 1e6));
  c.set_write_timeout(30, 0);
}

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
      : owner_(owner), options_(owner.options_), store_(owner.store_), tasks_(tasks),
        book_(tasks, {options_.max_attempts, options_.speculate, options_.speculate_factor, options_.speculate_min_s}) {
    for (const auto& w : options_.workers) workers_.push_back({w});
  }

  std::vector<record::ChunkRecord> run(const RunProgress& progress, const std::atomic<bool>* cancel) {
    {
      std::unique_lock lock(mutex_);
      while (!finished(cancel)) {
        const bool pending = launch_waiting();
        if (!pending) speculate();
        if (progress) progress(book_.done_frames(), book_.total_frames());
        cv_.wait_for(lock, std::chrono::milliseconds(100));
      }
      stop_unfinished();
    }
    for (auto& th : threads_) th.join();
    owner_.set_counters({static_cast<int>(book_.attempts().size()), book_.failures(), book_.speculative_launches(),
                         busy_replies_});
    remove_leftovers(store_, book_.losers());
    if (book_.fatal() == "cancelled") fail(ErrorKind::kCancelled, "the job was cancelled");
    if (!book_.fatal().empty()) fail(ErrorKind::kUnavailable, book_.fatal());
    if (progress) progress(book_.total_frames(), book_.total_frames());
    return book_.results();
  }

 private:
  bool finished(const std::atomic<bool>* cancel) {
    if (cancel && cancel->load()) book_.fail_run("cancelled");
    return !book_.fatal().empty() || book_.all_done();
  }

  // Launches every waiting task on a free worker (one it has not tried first); true when
  // some task is still waiting (launched now or for a worker).
  bool launch_waiting() {
    const std::vector<int> waiting = book_.waiting();
    for (int t : waiting) {
      int w = free_worker(t, true, -1);
      if (w < 0) w = free_worker(t, false, -1);
      if (w < 0) break;
      launch(t, w, false);
    }
    return !waiting.empty();
  }

  // A second run of each straggler, on another worker.
  void speculate() {
    for (const auto& a : book_.stragglers()) {
      const int w = free_worker(a->task, true, a->place);
      if (w >= 0) launch(a->task, w, true);
    }
  }

  int free_worker(int t, bool avoid_tried, int exclude) const {
    const auto now = Stopwatch::Clock::now();
    int best = -1;
    for (int w = 0; w < static_cast<int>(workers_.size()); ++w) {
      if (w == exclude || workers_[w].in_flight >= options_.per_worker || workers_[w].rest_until > now) continue;
      if (avoid_tried && book_.tried(t, w)) continue;
      if (best < 0 || workers_[w].in_flight < workers_[best].in_flight) best = w;
    }
    return best;
  }

  void launch(int t, int w, bool speculative) {
    std::shared_ptr<Attempt> a = book_.launch(t, w, speculative);
    auto client = std::make_shared<httplib::Client>(workers_[w].url);
    if (!options_.token.empty()) client->set_bearer_token_auth(options_.token);
    set_timeouts(*client, options_.connect_timeout_s, tasks_[t].deadline_s);
    clients_[a.get()] = client;
    workers_[w].in_flight++;
    ++owner_.in_flight_;
    ChunkTaskSpec spec = tasks_[t];
    spec.output = a->output;
    spec.task_id = a->task_id;
    threads_.emplace_back([this, a, client, body = to_json(spec).dump()] {
      auto res = client->Post("/tasks", body, "application/json");
      std::lock_guard lock(mutex_);
      on_reply(*a, res);
      cv_.notify_all();
    });
  }

  void on_reply(Attempt& a, const httplib::Result& res) {
    workers_[a.place].in_flight--;
    --owner_.in_flight_;
    const std::string& url = workers_[a.place].url;
    if (res && res->status == 200) {
      record::ChunkRecord r;
      try {
        r = record::chunk_from_json(nlohmann::json::parse(res->body));
      } catch (const std::exception& e) {
        book_.failed(a, url + " sent an unreadable result: " + e.what(), false);
        return;
      }
      if (book_.succeeded(a, r, url)) stop_losers(a.task);
    } else if (!a.abandoned && res && res->status == 429) {
      ++busy_replies_;
      workers_[a.place].rest_until = Stopwatch::Clock::now() + std::chrono::milliseconds(200);
      book_.ended_uncounted(a);
    } else {
      if (!res && !a.abandoned) {
        workers_[a.place].rest_until =
            Stopwatch::Clock::now() + std::chrono::milliseconds(static_cast<int>(options_.down_cooldown_s * 1000));
      }
      // A task the input itself makes fail (HTTP 400/404), or that the workers refuse (401,
      // 403, 413), will not do better elsewhere.
      const bool hopeless =
          res && (res->status == 400 || res->status == 401 || res->status == 403 || res->status == 404 || res->status == 413);
      book_.failed(a, url + ": " + error_text(res), hopeless);
    }
  }

  // The other copies of a task that has just been won were abandoned by the book: stop them.
  void stop_losers(int task) {
    for (const auto& other : book_.running()) {
      if (other->task == task && other->abandoned) stop_attempt(*other);
    }
  }

  // Stops waiting for an attempt and asks its worker to drop the task.
  void stop_attempt(Attempt& a) {
    clients_[&a]->stop();
    httplib::Client c(workers_[a.place].url);
    if (!options_.token.empty()) c.set_bearer_token_auth(options_.token);
    set_timeouts(c, 1, 1);
    c.Delete(("/tasks/" + a.task_id).c_str());
  }

  void stop_unfinished() {
    for (const auto& a : book_.running()) {
      book_.abandon(*a);
      stop_attempt(*a);
    }
  }


  RemoteExecutor& owner_;
  const RemoteOptions& options_;
  store::ObjectStore& store_;
  const std::vector<ChunkTaskSpec>& tasks_;
  std::mutex mutex_;
  std::condition_variable cv_;
  AttemptBook book_;
  std::vector<WorkerState> workers_;
  std::map<const Attempt*, std::shared_ptr<httplib::Client>> clients_;
  std::vector<std::thread> threads_;
  int busy_replies_ = 0;
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
