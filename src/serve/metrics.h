// serve/metrics.h — the job service's Prometheus metrics (prometheus-cpp), kept in its own
// registry and written in the text format for GET /metrics: jobs by endpoint and state,
// job duration, chunks per job, task attempts by outcome, chunk starts by hardware and
// kind, billed seconds, cost, core-seconds, measured over predicted time, the queue, and
// the executor's health (places, busy), and cost and jobs by one or two job labels
// (--metrics-labels; bounded cardinality, the rest as "other").
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <mutex>
#include <set>
#include <vector>
#include <string>

#include "record/job_record.h"

namespace prometheus {
class Registry;
}

namespace reelscale::serve {

class ServiceMetrics {
 public:
  // `label_keys` (at most 2): the job labels cost and jobs are also counted by, each
  // series keeping up to `label_values` distinct value sets, the rest counted as "other".
  explicit ServiceMetrics(std::vector<std::string> label_keys = {}, int label_values = 50);
  ~ServiceMetrics();
  ServiceMetrics(const ServiceMetrics&) = delete;
  ServiceMetrics& operator=(const ServiceMetrics&) = delete;

  // A job that ended (its state: done, failed or cancelled) with its record.
  void job_finished(const std::string& state, const record::JobRecord& record,
                    const std::map<std::string, std::string>& labels = {});
  void job_refused(const std::string& why);  // queue_full, bad_input, denied, ...
  void webhook_attempt(const std::string& outcome);
  // A charge after the job ended (a node's idle tail): billed seconds and cost.
  void late_charge(const std::string& hardware, const std::string& endpoint, double seconds, double usd,
                   const std::map<std::string, std::string>& labels);  // delivered, retrying, failed (given up)
  // The state of the moment, set just before each scrape.
  void set_queue(int64_t queued, int64_t running);
  void set_executor(int places, int idle, int healthy_workers);
  // Each budget's cap, spend, reservations and forecast for its window (serve/budgets.h status).
  void set_budgets(const nlohmann::json& status);
  std::string text();  // the Prometheus text exposition format

 private:
  struct Families;
  std::map<std::string, std::string> series_labels(const std::map<std::string, std::string>& labels);
  void count_by_labels(const std::string& state, const record::JobRecord& r, const std::map<std::string, std::string>& labels);
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> f_;
  std::vector<std::string> label_keys_;
  int label_values_;
  std::mutex labels_mutex_;
  std::set<std::vector<std::string>> label_values_seen_;
};

}  // namespace reelscale::serve
