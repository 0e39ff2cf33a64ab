// exec/worker_metrics.h — a worker's Prometheus metrics (prometheus-cpp): tasks by
// outcome (done, failed, busy refusals), task time, tasks running, and that it is up; the
// text format for its GET /metrics.
#pragma once

#include <memory>
#include <string>

namespace prometheus {
class Registry;
}

namespace reelscale::exec {

class WorkerMetrics {
 public:
  WorkerMetrics();
  ~WorkerMetrics();
  void task_ended(const std::string& outcome, double seconds);  // done | failed
  void busy_refusal();
  std::string text(int active, int max_concurrency);

 private:
  struct Families;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> f_;
};

}  // namespace reelscale::exec
