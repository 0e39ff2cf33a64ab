// exec/worker_metrics.cpp — the worker's metric families.
#include "exec/worker_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sstream>

namespace reelscale::exec {

struct WorkerMetrics::Families {
  explicit Families(prometheus::Registry& r)
      : tasks(prometheus::BuildCounter().Name("reelscale_worker_tasks_total").Help("Chunk tasks, by outcome").Register(r)),
        seconds(prometheus::BuildHistogram().Name("reelscale_worker_task_seconds").Help("Time of tasks that ended").Register(r)),
        active(prometheus::BuildGauge().Name("reelscale_worker_active_tasks").Help("Tasks running now").Register(r).Add({})),
        capacity(prometheus::BuildGauge().Name("reelscale_worker_max_concurrency").Help("Tasks it runs at once").Register(r).Add({})),
        up(prometheus::BuildGauge().Name("reelscale_worker_up").Help("1 while the worker serves").Register(r).Add({})) {}
  prometheus::Family<prometheus::Counter>& tasks;
  prometheus::Family<prometheus::Histogram>& seconds;
  prometheus::Gauge& active;
  prometheus::Gauge& capacity;
  prometheus::Gauge& up;
};

WorkerMetrics::WorkerMetrics()
    : registry_(std::make_shared<prometheus::Registry>()), f_(std::make_unique<Families>(*registry_)) {}

WorkerMetrics::~WorkerMetrics() = default;

void WorkerMetrics::task_ended(const std::string& outcome, double seconds) {
  f_->tasks.Add({{"outcome", outcome}}).Increment();
  f_->seconds.Add({}, prometheus::Histogram::BucketBoundaries{0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}).Observe(seconds);
}

void WorkerMetrics::busy_refusal() { f_->tasks.Add({{"outcome", "busy"}}).Increment(); }

std::string WorkerMetrics::text(int active, int max_concurrency) {
  f_->active.Set(active);
  f_->capacity.Set(max_concurrency);
  f_->up.Set(1);
  std::ostringstream os;
  prometheus::TextSerializer().Serialize(os, registry_->Collect());
  return os.str();
}

}  // namespace reelscale::exec
