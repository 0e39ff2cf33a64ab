// serve/stats.cpp — the dashboard's aggregates.
#include "serve/stats.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "record/job_record.h"

namespace reelscale::serve {

namespace {

struct JobFacts {
  const StoredJob* job = nullptr;
  nlohmann::json record;
  nlohmann::json plan;
  std::string hardware;
  double wall_s = 0;
  double clip_s = 0;
};

JobFacts facts_of(const StoredJob& j) {
  JobFacts f;
  f.job = &j;
  f.record = j.record_json.empty() ? nlohmann::json::object() : nlohmann::json::parse(j.record_json, nullptr, false);
  f.plan = j.plan_json.empty() ? nlohmann::json::object() : nlohmann::json::parse(j.plan_json, nullptr, false);
  if (!f.record.is_object()) f.record = nlohmann::json::object();
  if (!f.plan.is_object()) f.plan = nlohmann::json::object();
  f.hardware = f.record.value("hardware", f.plan.value("hardware", std::string("unknown")));
  f.wall_s = f.record.contains("timings_s") ? f.record["timings_s"].value("total", 0.0) : 0.0;
  f.clip_s = static_cast<double>(j.frames_total) / record::rate_value(f.record.value("fps", std::string("30/1")));
  return f;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(std::min<double>(v.size() - 1, std::floor(q * static_cast<double>(v.size()))))];
}

// Cost summed per time bucket (hours or days since 1970) and per key.
nlohmann::json cost_series(const std::vector<JobFacts>& facts, double bucket_s, bool by_hardware) {
  std::map<int64_t, std::map<std::string, double>> sums;
  for (const JobFacts& f : facts) {
    if (!f.job->finished()) continue;
    const int64_t bucket = static_cast<int64_t>(std::floor(f.job->finished_unix_s / bucket_s));
    sums[bucket][by_hardware ? f.hardware : f.job->endpoint] += f.job->cost_usd;
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [bucket, by] : sums) out.push_back({{"start_unix_s", bucket * bucket_s}, {"cost_usd", by}});
  return out;
}

nlohmann::json predicted_vs_actual(const std::vector<JobFacts>& facts) {
  nlohmann::json out = nlohmann::json::array();
  for (const JobFacts& f : facts) {
    if (f.job->state != "done") continue;
    out.push_back({{"id", f.job->id}, {"endpoint", f.job->endpoint}, {"predicted_s", f.plan.value("wall_mean_s", 0.0)},
                   {"actual_s", f.wall_s}, {"predicted_usd", f.plan.value("cost_usd", 0.0)},
                   {"actual_usd", f.job->cost_usd}});
  }
  return out;
}

nlohmann::json error_rate_by_chunks(const std::vector<JobFacts>& facts) {
  std::map<int64_t, std::pair<int, int>> by;  // chunks -> (ended, failed)
  for (const JobFacts& f : facts) {
    if (!f.job->finished() || f.job->state == "cancelled") continue;
    auto& [ended, failed] = by[std::max<int64_t>(1, f.job->chunks_total)];
    ++ended;
    failed += f.job->state == "failed" ? 1 : 0;
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [chunks, n] : by) {
    out.push_back({{"chunks", chunks}, {"jobs", n.first}, {"failed", n.second},
                   {"rate", n.first ? static_cast<double>(n.second) / n.first : 0.0}});
  }
  return out;
}

nlohmann::json clip_lengths(const std::vector<JobFacts>& facts) {
  const std::vector<double> edges = {5, 10, 20, 30, 60, 120, 300};
  std::vector<int> counts(edges.size() + 1, 0);
  for (const JobFacts& f : facts) {
    const auto it = std::upper_bound(edges.begin(), edges.end(), f.clip_s);
    ++counts[static_cast<size_t>(it - edges.begin())];
  }
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < counts.size(); ++i) {
    const std::string label = i == 0 ? "< 5 s" : i == edges.size() ? ">= 300 s"
                                               : std::to_string(static_cast<int>(edges[i - 1])) + "-" +
                                                     std::to_string(static_cast<int>(edges[i])) + " s";
    out.push_back({{"bucket", label}, {"jobs", counts[i]}});
  }
  return out;
}

}  // namespace

nlohmann::json dashboard_stats(const std::vector<StoredJob>& jobs, double deadline_s) {
  std::vector<JobFacts> facts;
  for (const StoredJob& j : jobs) facts.push_back(facts_of(j));
  std::map<std::string, double> billed;
  double gpu_seconds = 0, cost = 0;
  std::vector<double> walls;
  std::vector<int> arrivals(24, 0);
  for (const JobFacts& f : facts) {
    billed[f.hardware] += f.job->billed_seconds;
    if (f.hardware != "CPU" && f.hardware != "unknown") gpu_seconds += f.job->billed_seconds;
    cost += f.job->cost_usd;
    if (f.job->state == "done") walls.push_back(f.wall_s);
    ++arrivals[static_cast<size_t>(static_cast<int64_t>(std::floor(f.job->created_unix_s / 3600)) % 24)];
  }
  return {{"jobs", jobs.size()},
          {"cost_usd", cost},
          {"cost_per_hour_by_endpoint", cost_series(facts, 3600, false)},
          {"cost_per_hour_by_hardware", cost_series(facts, 3600, true)},
          {"cost_per_day_by_endpoint", cost_series(facts, 86400, false)},
          {"cost_per_day_by_hardware", cost_series(facts, 86400, true)},
          {"billed_seconds_by_hardware", billed},
          {"gpu_seconds", gpu_seconds},
          {"latency_s", {{"p50", percentile(walls, 0.5)}, {"p90", percentile(walls, 0.9)}, {"p99", percentile(walls, 0.99)},
                         {"deadline", deadline_s}}},
          {"predicted_vs_actual", predicted_vs_actual(facts)},
          {"error_rate_by_chunks", error_rate_by_chunks(facts)},
          {"clip_lengths", clip_lengths(facts)},
          {"arrivals_by_hour_utc", arrivals}};
}

}  // namespace reelscale::serve
