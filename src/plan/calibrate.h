// plan/calibrate.h — the calibration step of DESIGN.md §2: typed job records (what
// `reelscale run --json` writes, record/job_record.h) update a profile with what jobs actually took — time
// per frame per (endpoint, hardware), pre-roll per chunk and join cost — each figure
// marked measured, with how many records it came from.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "plan/inputs.h"
#include "record/job_record.h"

namespace reelscale::plan {

struct CalibrationSummary {
  int records = 0;
  std::vector<std::string> changes;  // one line per figure updated, old -> new
};

// The join cost line (base + per chunk x N) through (chunks, seconds) points, least
// squares, slope and base kept >= 0; nullopt with fewer than two distinct chunk counts.
std::optional<JoinCost> fit_join(const std::vector<std::pair<double, double>>& points, const Provenance& provenance);

// Updates `profile` in place from the records; records without per-chunk timings or for
// an endpoint/hardware the profile lacks are skipped (and said so in the summary).
CalibrationSummary calibrate(Profile& profile, const std::vector<record::JobRecord>& records, const std::string& date);

}  // namespace reelscale::plan
