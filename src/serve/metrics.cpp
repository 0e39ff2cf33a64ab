// serve/metrics.cpp — the metric families and what each finished job adds to them.
#include "serve/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sstream>

namespace reelscale::serve {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

struct ServiceMetrics::Families {
  explicit Families(prometheus::Registry& r)
      : jobs(BuildCounter().Name("reelscale_jobs_total").Help("Jobs that ended, by endpoint and state").Register(r)),
        refused(BuildCounter().Name("reelscale_submissions_refused_total").Help("Submissions refused, by reason").Register(r)),
        duration(BuildHistogram().Name("reelscale_job_duration_seconds").Help("Wall time of jobs that ended, by endpoint").Register(r)),
        chunks(BuildHistogram().Name("reelscale_chunks_per_job").Help("Chunks of each job that ended").Register(r)),
        attempts(BuildCounter().Name("reelscale_task_attempts_total").Help("Chunk task attempts, by outcome").Register(r)),
        starts(BuildCounter().Name("reelscale_starts_total").Help("Chunk starts, by hardware and kind (cold or warm)").Register(r)),
        billed(BuildCounter().Name("reelscale_billed_seconds_total").Help("Billed container seconds, by hardware").Register(r)),
        cost(BuildCounter().Name("reelscale_cost_usd_total").Help("Cost in USD, by hardware and endpoint").Register(r)),
        core_seconds(BuildCounter().Name("reelscale_core_seconds_total").Help("Owned core-seconds (local slots), by endpoint").Register(r)),
        ratio(BuildHistogram().Name("reelscale_prediction_ratio").Help("Measured over predicted wall time, by endpoint").Register(r)),
        queue(BuildGauge().Name("reelscale_queue_length").Help("Jobs waiting to run").Register(r).Add({})),
        running(BuildGauge().Name("reelscale_running_jobs").Help("Jobs running").Register(r).Add({})),
        places(BuildGauge().Name("reelscale_executor_places").Help("Task places of the executor (slots or worker places)").Register(r).Add({})),
        idle(BuildGauge().Name("reelscale_executor_idle_places").Help("Task places free now").Register(r).Add({})),
        workers_up(BuildGauge().Name("reelscale_workers_up").Help("Remote workers answering /healthz (local slots: 0)").Register(r).Add({})),
        webhooks(BuildCounter().Name("reelscale_webhook_attempts_total")
                     .Help("Webhook delivery attempts, by outcome: delivered, retrying, failed (given up)").Register(r)),
        label_jobs(BuildCounter().Name("reelscale_label_jobs_total").Help("Jobs that ended, by the --metrics-labels job labels and state").Register(r)),
        label_cost(BuildCounter().Name("reelscale_label_cost_usd_total").Help("Billed cost in USD, by the --metrics-labels job labels").Register(r)),
        label_cloud_equivalent(BuildCounter().Name("reelscale_label_cloud_equivalent_usd_total")
                                   .Help("Local slots' cloud-equivalent cost in USD, by the --metrics-labels job labels").Register(r)),
        budget_cap(BuildGauge().Name("reelscale_budget_cap_usd").Help("A budget's cap for its window (--budgets)").Register(r)),
        budget_spent(BuildGauge().Name("reelscale_budget_spent_usd").Help("Spent in the budget's window so far").Register(r)),
        budget_reserved(BuildGauge().Name("reelscale_budget_reserved_usd")
                            .Help("Reserved by queued and running jobs (their p90 predicted cost)").Register(r)),
        budget_forecast(BuildGauge().Name("reelscale_budget_forecast_usd")
                            .Help("Spent and reserved, and the rest of the window at its pace so far").Register(r)) {}

  prometheus::Family<prometheus::Counter>& jobs;
  prometheus::Family<prometheus::Counter>& refused;
  prometheus::Family<Histogram>& duration;
  prometheus::Family<Histogram>& chunks;
  prometheus::Family<prometheus::Counter>& attempts;
  prometheus::Family<prometheus::Counter>& starts;
  prometheus::Family<prometheus::Counter>& billed;
  prometheus::Family<prometheus::Counter>& cost;
  prometheus::Family<prometheus::Counter>& core_seconds;
  prometheus::Family<Histogram>& ratio;
  prometheus::Gauge& queue;
  prometheus::Gauge& running;
  prometheus::Gauge& places;
  prometheus::Gauge& idle;
  prometheus::Gauge& workers_up;
  prometheus::Family<prometheus::Counter>& webhooks;
  prometheus::Family<prometheus::Counter>& label_jobs;
  prometheus::Family<prometheus::Counter>& label_cost;
  prometheus::Family<prometheus::Counter>& label_cloud_equivalent;
  prometheus::Family<prometheus::Gauge>& budget_cap;
  prometheus::Family<prometheus::Gauge>& budget_spent;
  prometheus::Family<prometheus::Gauge>& budget_reserved;
  prometheus::Family<prometheus::Gauge>& budget_forecast;
};

namespace {

const Histogram::BucketBoundaries kSeconds = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600};
const Histogram::BucketBoundaries kChunks = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32};
const Histogram::BucketBoundaries kRatios = {0.5, 0.67, 0.8, 0.9, 1, 1.1, 1.25, 1.5, 2, 3};

}  // namespace

ServiceMetrics::ServiceMetrics(std::vector<std::string> label_keys, int label_values)
    : registry_(std::make_shared<prometheus::Registry>()), f_(std::make_unique<Families>(*registry_)),
      label_keys_(std::move(label_keys)), label_values_(label_values) {}

ServiceMetrics::~ServiceMetrics() = default;

void ServiceMetrics::job_finished(const std::string& state, const record::JobRecord& r,
                                  const std::map<std::string, std::string>& labels) {
  count_by_labels(state, r, labels);
  const std::string hardware = r.hardware.empty() ? "unknown" : r.hardware;
  f_->jobs.Add({{"endpoint", r.endpoint}, {"state", state}}).Increment();
  const double total = r.timings_s.count("total") ? r.timings_s.at("total") : 0;
  f_->duration.Add({{"endpoint", r.endpoint}}, kSeconds).Observe(total);
  f_->chunks.Add({}, kChunks).Observe(r.chunks);
  const int64_t chunks_done = static_cast<int64_t>(r.chunk_results.size());
  f_->attempts.Add({{"outcome", "succeeded"}}).Increment(static_cast<double>(chunks_done));
  f_->attempts.Add({{"outcome", "retried_or_speculative"}}).Increment(static_cast<double>(std::max<int64_t>(0, r.attempts - chunks_done)));
  // Local slots and remote workers are running processes: their chunks start warm. A batch
  // scheduler's chunk is cold when its node had to boot (record::ChunkRecord::start).
  int64_t cold = 0;
  for (const auto& c : r.chunk_results) cold += c.start == "cold" ? 1 : 0;
  f_->starts.Add({{"hardware", hardware}, {"kind", "warm"}}).Increment(static_cast<double>(chunks_done - cold));
  if (cold > 0) f_->starts.Add({{"hardware", hardware}, {"kind", "cold"}}).Increment(static_cast<double>(cold));
  f_->billed.Add({{"hardware", hardware}}).Increment(r.billed_seconds);
  f_->cost.Add({{"hardware", hardware}, {"endpoint", r.endpoint}}).Increment(r.cost_usd);
  f_->core_seconds.Add({{"endpoint", r.endpoint}}).Increment(r.core_seconds);
  if (r.ok() && r.plan && r.plan->wall_mean_s > 0 && total > 0) {
    f_->ratio.Add({{"endpoint", r.endpoint}}, kRatios).Observe(total / r.plan->wall_mean_s);
  }
}

// The job's values of the label keys as Prometheus labels (label_<key>); a value set
// beyond the first `label_values_` seen is counted as "other" in every key.
std::map<std::string, std::string> ServiceMetrics::series_labels(const std::map<std::string, std::string>& labels) {
  std::vector<std::string> values;
  for (const std::string& key : label_keys_) {
    const auto it = labels.find(key);
    values.push_back(it == labels.end() ? "none" : it->second);
  }
  {
    std::lock_guard lock(labels_mutex_);
    if (!label_values_seen_.count(values)) {
      if (static_cast<int>(label_values_seen_.size()) < label_values_) {
        label_values_seen_.insert(values);
      } else {
        values.assign(values.size(), "other");
      }
    }
  }
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < label_keys_.size(); ++i) out["label_" + label_keys_[i]] = values[i];
  return out;
}

void ServiceMetrics::count_by_labels(const std::string& state, const record::JobRecord& r,
                                     const std::map<std::string, std::string>& labels) {
  if (label_keys_.empty()) return;
  std::map<std::string, std::string> series = series_labels(labels);
  f_->label_cost.Add(series).Increment(r.cost_usd);
  f_->label_cloud_equivalent.Add(series).Increment(r.cloud_equivalent_usd);
  series["state"] = state;
  f_->label_jobs.Add(series).Increment();
}

void ServiceMetrics::late_charge(const std::string& hardware, const std::string& endpoint, double seconds, double usd,
                                 const std::map<std::string, std::string>& labels) {
  const std::string hw = hardware.empty() ? "unknown" : hardware;
  f_->billed.Add({{"hardware", hw}}).Increment(seconds);
  f_->cost.Add({{"hardware", hw}, {"endpoint", endpoint}}).Increment(usd);
  if (!label_keys_.empty()) f_->label_cost.Add(series_labels(labels)).Increment(usd);
}

void ServiceMetrics::webhook_attempt(const std::string& outcome) { f_->webhooks.Add({{"outcome", outcome}}).Increment(); }

void ServiceMetrics::job_refused(const std::string& why) { f_->refused.Add({{"reason", why}}).Increment(); }

void ServiceMetrics::set_queue(int64_t queued, int64_t running) {
  f_->queue.Set(static_cast<double>(queued));
  f_->running.Set(static_cast<double>(running));
}

void ServiceMetrics::set_budgets(const nlohmann::json& status) {
  for (const nlohmann::json& b : status.value("budgets", nlohmann::json::array())) {
    const std::map<std::string, std::string> labels = {{"budget", b["name"].get<std::string>()}};
    f_->budget_cap.Add(labels).Set(b["usd"].get<double>());
    f_->budget_spent.Add(labels).Set(b["spent_usd"].get<double>());
    f_->budget_reserved.Add(labels).Set(b["reserved_usd"].get<double>());
    f_->budget_forecast.Add(labels).Set(b["forecast_usd"].get<double>());
  }
}

void ServiceMetrics::set_executor(int places, int idle, int healthy_workers) {
  f_->places.Set(places);
  f_->idle.Set(idle);
  f_->workers_up.Set(healthy_workers);
}

std::string ServiceMetrics::text() {
  std::ostringstream os;
  prometheus::TextSerializer().Serialize(os, registry_->Collect());
  return os.str();
}

}  // namespace reelscale::serve
