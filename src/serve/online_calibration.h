// serve/online_calibration.h — the service tuning its profile from production records,
// in a way that cannot make things worse: every N finished jobs it refits, from the
// profile its jobs are actually planned with, the cells it has enough records for (at
// least K a cell, the most extreme measured-over-predicted trimmed off, then
// plan::calibrate); it holds back the most recent records and keeps the refit only if it
// predicts them better than both the profile in use and the base profile, by a margin,
// with evidence that grows with how far it moves: a refit whose predictions move s times
// from the profile in use's (a typical held-back record's: the geometric mean) must
// predict so many held-back records better that a refit no better than it would do so
// by chance at most 1/s of the time (a sign test). So a
// small correction is taken on a few records, a 25x one on five or more, however far
// the evidence says the machine is from its profile. After a switch the next
// records judge it, and it is rolled back if they show it predicting worse than the
// profile it replaced. A refit is named by its base and a number, not a growing string.
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
  double min_gain = 0.05;         // a refit must cut the held-back error by this share
  // A refit that moves predictions s times (the geometric mean over the held-back records of
  // its factor from the profile in use's)
  // must win held-back records with a sign-test chance at most far_move_chance / s.
  double far_move_chance = 1.0;
  int watch_jobs = 10;            // records after a switch that judge it (rolled back if worse)
  // The judge must reproduce the plans of the records made under the profile in use to
  // within this share (median), or no refit is made: it would judge in another view.
  double max_reproduction_error = 0.1;
};

struct CalibrationDecision {
  bool switch_to_candidate = false;
  plan::Profile candidate;
  double current_error = 0;       // median |measured / predicted - 1| on the held-back records
  double candidate_error = 0;
  double base_error = 0;
  int fitted_records = 0;
  int held_back_records = 0;
  double shift = 1;                // how far its predictions moved from the profile in use's (geometric mean)
  int held_back_won = 0;           // held-back records it predicts better than the profile in use
  double chance = 1;               // the sign test's chance of winning as many held-back records, or more
  std::vector<std::string> changes;
  std::string reason;
};

// The predicted wall time of a finished record's job under `profile`, seen as the job was
// planned: its shape, chunk count, hardware and platform (local slots as it ran them,
// else serverless), plus the content sample's time spent before planning. The machine is
// taken at its profiled speed unless `at_planned_speed` (then times the plan's local
// speed factor): so, under the profile the job was planned with, this reproduces the
// record's own prediction.
double predicted_seconds(const plan::Profile& profile, const record::JobRecord& r, bool at_planned_speed = false);
// Median |measured / predicted - 1| over the records (0 for none).
double prediction_error(const plan::Profile& profile, const std::vector<record::JobRecord>& records);
// How far `a`'s predictions of the records move from `b`'s: the geometric mean over the
// records of the factor between the two, up or down (1: no move).
double typical_shift(const plan::Profile& a, const plan::Profile& b, const std::vector<record::JobRecord>& records);

// `recent`: finished records, oldest first. `current` is the profile the jobs are planned
// with now, `base` the one the service started from; the refit is named `base.name`,
// version: the base's (less any ".rN" of its own) + ".r" + `refit_number`.
CalibrationDecision consider_recalibration(const plan::Profile& current, const plan::Profile& base,
                                           const std::vector<record::JobRecord>& recent, const CalibrationPolicy& policy,
                                           const std::string& date, int refit_number);

// The one-sided sign test: the chance of `wins` or more of `n` fair coin tosses.
double sign_test_chance(int wins, int n);

// Whether a switch made things worse: true when, on the records finished since (at
// least policy.watch_jobs of them), the profile in use predicts worse than the one it
// replaced. `why` says by how much either way.
bool switch_made_things_worse(const plan::Profile& in_use, const plan::Profile& replaced,
                              const std::vector<record::JobRecord>& since_switch, std::string& why);

}  // namespace reelscale::serve
