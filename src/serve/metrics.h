// serve/metrics.h — the job service's Prometheus metrics (prometheus-cpp), kept in its own
// registry and written in the text format for GET /metrics: jobs by endpoint and state,
// job duration, chunks per job, task attempts by outcome, chunk starts by hardware and
// kind, billed seconds, cost, core-seconds, measured over predicted time, the queue, and
// the executor's health (places, busy).
#pragma once

#include <memory>
#include <string>

#include "record/job_record.h"

namespace prometheus {
class Registry;
}

namespace reelscale::serve {

class ServiceMetrics {
 public:
  ServiceMetrics();
  ~ServiceMetrics();
  ServiceMetrics(const ServiceMetrics&) = delete;
  ServiceMetrics& operator=(const ServiceMetrics&) = delete;

  // A job that ended (its state: done, failed or cancelled) with its record.
  void job_finished(const std::string& state, const record::JobRecord& record);
  void job_refused(const std::string& why);  // queue_full, bad_input, denied, ...
  // The state of the moment, set just before each scrape.
  void set_queue(int64_t queued, int64_t running);
  void set_executor(int places, int idle, int healthy_workers);
  std::string text();  // the Prometheus text exposition format

 private:
  struct Families;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> f_;
};

}  // namespace reelscale::serve
