// serve/stats.cpp — the dashboard's aggregates, one SQL query each over the window.
#include "serve/stats.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace reelscale::serve {

namespace {

const char* const kFinished = "state IN ('done', 'failed', 'cancelled')";

// Cost summed per time bucket (hours or days since 1970) and per key, billed and the
// cloud-equivalent of owned slots apart.
nlohmann::json cost_series(JobStore& store, double since, int bucket_s, const std::string& key) {
  std::map<int64_t, std::pair<nlohmann::json, nlohmann::json>> by_bucket;
  store.read_rows("SELECT CAST(finished_unix_s / " + std::to_string(bucket_s) + " AS INTEGER) AS b, " + key +
                      ", SUM(cost_usd), SUM(cloud_equivalent_usd) FROM jobs WHERE created_unix_s >= ?1 AND " + kFinished +
                      " GROUP BY b, " + key + " ORDER BY b",
                  since, [&](const Statement& s) {
                    auto& [billed, cloud] = by_bucket[s.integer(0)];
                    const std::string k = s.text(1).empty() ? "unknown" : s.text(1);
                    billed[k] = s.real(2);
                    cloud[k] = s.real(3);
                  });
  nlohmann::json out = nlohmann::json::array();
  for (auto& [bucket, sums] : by_bucket) {
    out.push_back({{"start_unix_s", static_cast<double>(bucket) * bucket_s},
                   {"cost_usd", sums.first},
                   {"cloud_equivalent_usd", sums.second}});
  }
  return out;
}

// Totals over the window: jobs, cost, cloud-equivalent, billed seconds by hardware.
void add_totals(JobStore& store, double since, nlohmann::json& out) {
  int64_t jobs = 0;
  double cost = 0, cloud = 0, gpu_seconds = 0;
  nlohmann::json billed = nlohmann::json::object();
  store.read_rows("SELECT hardware, COUNT(*), SUM(cost_usd), SUM(cloud_equivalent_usd), SUM(billed_seconds) FROM jobs "
                  "WHERE created_unix_s >= ?1 GROUP BY hardware",
                  since, [&](const Statement& s) {
                    const std::string hw = s.text(0).empty() ? "unknown" : s.text(0);
                    jobs += s.integer(1);
                    cost += s.real(2);
                    cloud += s.real(3);
                    billed[hw] = s.real(4);
                    if (hw != "CPU" && hw != "unknown") gpu_seconds += s.real(4);
                  });
  out["jobs"] = jobs;
  out["cost_usd"] = cost;
  out["cloud_equivalent_usd"] = cloud;
  out["billed_seconds_by_hardware"] = billed;
  out["gpu_seconds"] = gpu_seconds;
}

// p50, p90, p99 of done jobs' wall time: each one row read through the (state, wall_s) index.
nlohmann::json latency(JobStore& store, double since, double deadline_s) {
  int64_t n = 0;
  store.read_rows("SELECT COUNT(*) FROM jobs WHERE state = 'done' AND created_unix_s >= ?1", since,
                  [&](const Statement& s) { n = s.integer(0); });
  nlohmann::json out = {{"deadline", deadline_s}, {"jobs", n}};
  for (const auto& [name, q] : {std::pair<const char*, double>{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}}) {
    double value = 0;
    const int64_t at = std::min<int64_t>(std::max<int64_t>(0, n - 1), static_cast<int64_t>(std::floor(q * static_cast<double>(n))));
    if (n > 0) {
      store.read_rows("SELECT wall_s FROM jobs WHERE state = 'done' AND created_unix_s >= ?1 ORDER BY wall_s LIMIT 1 OFFSET " +
                          std::to_string(at),
                      since, [&](const Statement& s) { value = s.real(0); });
    }
    out[name] = value;
  }
  return out;
}

// Predicted against actual for at most kMaxScatterPoints done jobs, spread evenly over the window.
nlohmann::json predicted_vs_actual(JobStore& store, double since) {
  int64_t n = 0;
  store.read_rows("SELECT COUNT(*) FROM jobs WHERE state = 'done' AND created_unix_s >= ?1", since,
                  [&](const Statement& s) { n = s.integer(0); });
  const int64_t step = std::max<int64_t>(1, (n + kMaxScatterPoints - 1) / kMaxScatterPoints);
  nlohmann::json out = nlohmann::json::array();
  store.read_rows("SELECT id, endpoint, predicted_s, wall_s, predicted_usd, cost_usd, cloud_equivalent_usd FROM "
                  "(SELECT *, ROW_NUMBER() OVER (ORDER BY seq) AS k FROM jobs WHERE state = 'done' AND created_unix_s >= ?1) "
                  "WHERE (k - 1) % " + std::to_string(step) + " = 0 ORDER BY seq",
                  since, [&](const Statement& s) {
                    out.push_back({{"id", s.text(0)}, {"endpoint", s.text(1)}, {"predicted_s", s.real(2)},
                                   {"actual_s", s.real(3)}, {"predicted_usd", s.real(4)}, {"actual_usd", s.real(5)},
                                   {"cloud_equivalent_usd", s.real(6)}});
                  });
  return out;
}

nlohmann::json error_rate_by_chunks(JobStore& store, double since) {
  nlohmann::json out = nlohmann::json::array();
  store.read_rows("SELECT MAX(1, chunks_total) AS c, COUNT(*), SUM(state = 'failed') FROM jobs WHERE created_unix_s >= ?1 "
                  "AND state IN ('done', 'failed') GROUP BY c ORDER BY c",
                  since, [&](const Statement& s) {
                    const int64_t jobs = s.integer(1), failed = s.integer(2);
                    out.push_back({{"chunks", s.integer(0)}, {"jobs", jobs}, {"failed", failed},
                                   {"rate", jobs ? static_cast<double>(failed) / static_cast<double>(jobs) : 0.0}});
                  });
  return out;
}

nlohmann::json clip_lengths(JobStore& store, double since) {
  const std::vector<int> edges = {5, 10, 20, 30, 60, 120, 300};
  std::string bucket = "CASE";
  for (size_t i = 0; i < edges.size(); ++i) bucket += " WHEN clip_s < " + std::to_string(edges[i]) + " THEN " + std::to_string(i);
  bucket += " ELSE " + std::to_string(edges.size()) + " END";
  std::vector<int64_t> counts(edges.size() + 1, 0);
  store.read_rows("SELECT " + bucket + " AS b, COUNT(*) FROM jobs WHERE created_unix_s >= ?1 GROUP BY b", since,
                  [&](const Statement& s) { counts[static_cast<size_t>(s.integer(0))] = s.integer(1); });
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < counts.size(); ++i) {
    const std::string label = i == 0 ? "< 5 s" : i == edges.size() ? ">= 300 s"
                                               : std::to_string(edges[i - 1]) + "-" + std::to_string(edges[i]) + " s";
    out.push_back({{"bucket", label}, {"jobs", counts[i]}});
  }
  return out;
}

std::vector<int64_t> arrivals_by_hour(JobStore& store, double since) {
  std::vector<int64_t> arrivals(24, 0);
  store.read_rows("SELECT CAST(created_unix_s / 3600 AS INTEGER) % 24 AS h, COUNT(*) FROM jobs WHERE created_unix_s >= ?1 "
                  "GROUP BY h",
                  since, [&](const Statement& s) { arrivals[static_cast<size_t>(s.integer(0))] = s.integer(1); });
  return arrivals;
}

}  // namespace

nlohmann::json dashboard_stats(JobStore& store, double since_unix_s, double deadline_s) {
  nlohmann::json out = nlohmann::json::object();
  add_totals(store, since_unix_s, out);
  out["cost_per_hour_by_endpoint"] = cost_series(store, since_unix_s, 3600, "endpoint");
  out["cost_per_hour_by_hardware"] = cost_series(store, since_unix_s, 3600, "hardware");
  out["cost_per_day_by_endpoint"] = cost_series(store, since_unix_s, 86400, "endpoint");
  out["cost_per_day_by_hardware"] = cost_series(store, since_unix_s, 86400, "hardware");
  out["latency_s"] = latency(store, since_unix_s, deadline_s);
  out["predicted_vs_actual"] = predicted_vs_actual(store, since_unix_s);
  out["error_rate_by_chunks"] = error_rate_by_chunks(store, since_unix_s);
  out["clip_lengths"] = clip_lengths(store, since_unix_s);
  out["arrivals_by_hour_utc"] = arrivals_by_hour(store, since_unix_s);
  return out;
}

}  // namespace reelscale::serve
