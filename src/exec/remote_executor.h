// exec/remote_executor.h — dispatches chunk tasks to `reelscale worker` services over
// HTTP (a list of worker URLs, or one load-balanced URL given several times): a
// deadline per attempt, a retry on another worker after a failure, a speculative second
// run of a straggler (the first to finish wins, the other's output is deleted), and a
// clear error when no worker can run a task.
#pragma once

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "exec/executor.h"

namespace reelscale::exec {

struct RemoteOptions {
  std::vector<std::string> workers;  // http://host:port
  int per_worker = 1;                // tasks in flight per worker URL
  int max_attempts = 3;              // failed attempts per task before the job fails
  bool speculate = true;
  double speculate_factor = 2.0;     // a task running this many times the median is a straggler...
  double speculate_min_s = 5.0;      // ...and at least this long
  double connect_timeout_s = 2.0;
  double down_cooldown_s = 2.0;      // a worker that refused a connection rests this long
  std::string hardware;              // what the workers run on, as the planner names it
  std::string token;                 // bearer token the workers require ("" : none)
};

class RemoteExecutor final : public Executor {
 public:
  RemoteExecutor(RemoteOptions options, store::ObjectStore& store);
  std::vector<record::ChunkRecord> run(const std::vector<ChunkTaskSpec>& tasks, const RunProgress& progress,
                                       const std::atomic<bool>* cancel) override;
  std::string describe() const override;
  std::string hardware() const override { return options_.hardware; }

  // Counters of the last run, for the job record and tests.
  struct Counters {
    int attempts = 0;
    int failures = 0;
    int speculative = 0;
    int busy_replies = 0;
  };
  Counters counters() const;
  int idle_capacity() const override;  // task places on the workers no run of this executor holds
  int places() const override { return static_cast<int>(options_.workers.size()) * std::max(1, options_.per_worker); }
  std::vector<std::string> worker_urls() const override { return options_.workers; }

 private:
  void set_counters(const Counters& c);
  RemoteOptions options_;
  store::ObjectStore& store_;
  mutable std::mutex counters_mutex_;
  Counters counters_;
  std::atomic<int> in_flight_{0};   // attempts in flight, over every run at once
  friend class RemoteRun;
};

// GET /healthz of a worker: true when it answers 200.
bool worker_healthy(const std::string& url, double timeout_s = 2.0);

}  // namespace reelscale::exec
