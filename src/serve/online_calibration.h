// serve/online_calibration.h — the service tuning its profile from production records:
// every N finished jobs it refits the cells it has enough records for (at least K a cell,
// the records whose measured-over-predicted time is most extreme trimmed off, then
// plan::calibrate), holds back the most recent records, and switches to the refit only
// if it predicts those held-back records better than the profile in use.
#pragma once

#include <string>
#include <vector>

#include "plan/inputs.h"
#include "record/job_record.h"

namespace reelscale::serve {

struct CalibrationPolicy {
  int every_jobs = 20;            // 0: never
  int min_records_per_cell = 5;
  double trim_share = 0.1;        // off each end of a cell's records, by measured / predicted
  double held_back_share = 0.25;  // the most recent records, for judging (at least 2)
  int window = 200;               // the most recent records considered
};

struct CalibrationDecision {
  bool switch_to_candidate = false;
  plan::Profile candidate;
  double current_error = 0;       // median |measured / predicted - 1| on the held-back records
  double candidate_error = 0;
  int fitted_records = 0;
  int held_back_records = 0;
  std::vector<std::string> changes;
  std::string reason;
};

// The predicted wall time of a finished record's job under `profile`: its shape, chunk
// count, hardware and platform (local slots as it ran them, else serverless).
double predicted_seconds(const plan::Profile& profile, const record::JobRecord& r);
// Median |measured / predicted - 1| over the records (0 for none).
double prediction_error(const plan::Profile& profile, const std::vector<record::JobRecord>& records);

// `recent`: finished records, oldest first.
CalibrationDecision consider_recalibration(const plan::Profile& current, const std::vector<record::JobRecord>& recent,
                                           const CalibrationPolicy& policy, const std::string& date);

}  // namespace reelscale::serve
