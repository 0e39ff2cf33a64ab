// serve/stats.h — what the dashboard shows, aggregated in SQL over the job store's hourly
// roll-up and indexed summary columns (time and payload bounded whatever the job count;
// the window starts at the top of the hour `since` falls in, series by submission hour): cost per hour and per day by
// endpoint and by hardware (billed, and the cloud-equivalent of owned local slots), billed
// seconds (GPU-seconds apart), latency percentiles against the deadline, predicted against
// actual time and cost for a sample of jobs, the error rate by chunk count, the distribution
// of clip lengths, and arrivals by hour of day (UTC).
#pragma once

#include <nlohmann/json.hpp>

#include "serve/job_store.h"

namespace reelscale::serve {

// The most scatter points a stats reply carries (a sample spread over the window).
inline constexpr int kMaxScatterPoints = 500;

// The most label keys, and values per key, a stats reply sums by (the rest: "other").
inline constexpr int kMaxLabelKeysShown = 8;
inline constexpr int kMaxLabelValuesShown = 20;

// The jobs submitted since `since_unix_s`.
nlohmann::json dashboard_stats(JobStore& store, double since_unix_s, double deadline_s);
// Cost and jobs by the value of each label key finished jobs carry: {key: [{value, jobs,
// done, failed, cost_usd, cloud_equivalent_usd, billed_seconds, clip_s}]}, most costly
// first; "" is the jobs without the key.
nlohmann::json label_stats(JobStore& store, double since_unix_s, int max_keys, int max_values);

}  // namespace reelscale::serve
