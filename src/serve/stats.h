// serve/stats.h — what the dashboard shows, aggregated from the job store's rows: cost per
// hour and per day by endpoint and by hardware, billed seconds (GPU-seconds apart),
// latency percentiles against the deadline, predicted against actual time and cost job by
// job, the error rate by chunk count, the distribution of clip lengths, and arrivals by
// hour of day (UTC).
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "serve/job_store.h"

namespace reelscale::serve {

// `jobs`: the window's jobs (any state), oldest first.
nlohmann::json dashboard_stats(const std::vector<StoredJob>& jobs, double deadline_s);

}  // namespace reelscale::serve
