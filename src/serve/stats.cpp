// serve/stats.cpp — the dashboard's aggregates: sums over the hourly roll-up, percentiles
// and the scatter sample through covering indexes of the jobs table.
#include "serve/stats.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <map>

namespace reelscale::serve {

namespace {

// The roll-up rows of the window: every hour from the one `since` falls in.
const char* const kWindow = "hour >= CAST(?1 / 3600 AS INTEGER)";

// Cost summed per time bucket (hours or days since 1970, by submission hour) and per key,
// billed and the cloud-equivalent of owned slots apart.
nlohmann::json cost_series(JobStore& store, double since, int bucket_s, const std::string& key) {
  std::map<int64_t, std::pair<nlohmann::json, nlohmann::json>> by_bucket;
  store.read_rows("SELECT hour * 3600 / " + std::to_string(bucket_s) + " AS b, " + key +
                      ", SUM(cost_usd), SUM(cloud_equivalent_usd) FROM hourly WHERE " + kWindow + " GROUP BY b, " + key +
                      " ORDER BY b",
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

// Totals over the window: jobs (unfinished ones too), cost, cloud-equivalent, billed seconds by hardware.
void add_totals(JobStore& store, double since, nlohmann::json& out) {
  int64_t jobs = 0;
  double cost = 0, cloud = 0, gpu_seconds = 0;
  nlohmann::json billed = nlohmann::json::object();
  store.read_rows(std::string("SELECT hardware, SUM(jobs), SUM(cost_usd), SUM(cloud_equivalent_usd), SUM(billed_seconds) "
                              "FROM hourly WHERE ") + kWindow + " GROUP BY hardware",
                  since, [&](const Statement& s) {
                    const std::string hw = s.text(0).empty() ? "unknown" : s.text(0);
                    jobs += s.integer(1);
                    cost += s.real(2);
                    cloud += s.real(3);
                    billed[hw] = s.real(4);
                    if (hw != "CPU" && hw != "unknown") gpu_seconds += s.real(4);
                  });
  store.read_rows("SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running') AND created_unix_s >= ?1", since,
                  [&](const Statement& s) { jobs += s.integer(0); });
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

// Predicted against actual for at most kMaxScatterPoints done jobs, spread over the window
// (every step-th by submission order).
nlohmann::json predicted_vs_actual(JobStore& store, double since) {
  int64_t n = 0;
  store.read_rows("SELECT COUNT(*) FROM jobs WHERE state = 'done' AND created_unix_s >= ?1", since,
                  [&](const Statement& s) { n = s.integer(0); });
  const int64_t step = std::max<int64_t>(1, (n + kMaxScatterPoints - 1) / kMaxScatterPoints);
  nlohmann::json out = nlohmann::json::array();
  store.read_rows("SELECT id, endpoint, predicted_s, wall_s, predicted_usd, cost_usd, cloud_equivalent_usd FROM jobs "
                  "WHERE state = 'done' AND created_unix_s >= ?1 AND seq % " + std::to_string(step) + " = 0 "
                  "ORDER BY seq LIMIT " + std::to_string(kMaxScatterPoints),
                  since, [&](const Statement& s) {
                    out.push_back({{"id", s.text(0)}, {"endpoint", s.text(1)}, {"predicted_s", s.real(2)},
                                   {"actual_s", s.real(3)}, {"predicted_usd", s.real(4)}, {"actual_usd", s.real(5)},
                                   {"cloud_equivalent_usd", s.real(6)}});
                  });
  return out;
}

nlohmann::json error_rate_by_chunks(JobStore& store, double since) {
  nlohmann::json out = nlohmann::json::array();
  store.read_rows(std::string("SELECT chunks, SUM(jobs), SUM(CASE WHEN state = 'failed' THEN jobs ELSE 0 END) FROM hourly "
                              "WHERE ") + kWindow + " AND state IN ('done', 'failed') GROUP BY chunks ORDER BY chunks",
                  since, [&](const Statement& s) {
                    const int64_t jobs = s.integer(1), failed = s.integer(2);
                    out.push_back({{"chunks", s.integer(0)}, {"jobs", jobs}, {"failed", failed},
                                   {"rate", jobs ? static_cast<double>(failed) / static_cast<double>(jobs) : 0.0}});
                  });
  return out;
}

nlohmann::json clip_lengths(JobStore& store, double since) {
  const size_t buckets = std::size(kClipBucketEdges) + 1;
  std::vector<int64_t> counts(buckets, 0);
  store.read_rows(std::string("SELECT clip_bucket, SUM(jobs) FROM hourly WHERE ") + kWindow + " GROUP BY clip_bucket", since,
                  [&](const Statement& s) { counts[std::min(buckets - 1, static_cast<size_t>(s.integer(0)))] = s.integer(1); });
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < buckets; ++i) {
    const auto edge = [](size_t k) { return std::to_string(static_cast<int>(kClipBucketEdges[k])); };
    const std::string label = i == 0 ? "< 5 s" : i == buckets - 1 ? ">= " + edge(i - 1) + " s" : edge(i - 1) + "-" + edge(i) + " s";
    out.push_back({{"bucket", label}, {"jobs", counts[i]}});
  }
  return out;
}

std::vector<int64_t> arrivals_by_hour(JobStore& store, double since) {
  std::vector<int64_t> arrivals(24, 0);
  store.read_rows(std::string("SELECT hour % 24 AS h, SUM(jobs) FROM hourly WHERE ") + kWindow + " GROUP BY h", since,
                  [&](const Statement& s) { arrivals[static_cast<size_t>(s.integer(0))] = s.integer(1); });
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
  out["by_label"] = label_stats(store, since_unix_s, kMaxLabelKeysShown, kMaxLabelValuesShown);
  return out;
}

nlohmann::json label_stats(JobStore& store, double since_unix_s, int max_keys, int max_values) {
  nlohmann::json out = nlohmann::json::object();
  int keys = 0;
  for (const std::string& key : store.label_keys(since_unix_s)) {
    if (keys++ >= max_keys) break;
    nlohmann::json rows = nlohmann::json::array();
    for (const LabelTotals& t : store.totals_by_label(key, since_unix_s, max_values)) {
      rows.push_back({{"value", t.value}, {"jobs", t.jobs}, {"done", t.done}, {"failed", t.failed},
                      {"cost_usd", t.cost_usd}, {"cloud_equivalent_usd", t.cloud_equivalent_usd},
                      {"billed_seconds", t.billed_seconds}, {"clip_s", t.clip_s}});
    }
    out[key] = rows;
  }
  return out;
}

}  // namespace reelscale::serve
