// plan/calibrate.h — the calibration step of DESIGN.md §2: typed job records (what
// `reelscale run --json` writes, record/job_record.h) update a profile with what jobs actually took — time
// per frame per (endpoint, hardware), pre-roll per chunk and join cost — each figure
// marked measured, with how many records it came from.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "plan/cost_model.h"
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

// How many times slower than `profile` a record's chunks ran their frames: their steady
// time (each chunk's run less opening and pre-roll) over what the cell's stages predict for
// the same work (as if of the profiler's own pictures: a content sample the record took is
// left out) and the cores their chunks shared. 0 when no chunk was timed, or the profile
// has no per-stage cell for it.
double steady_frame_ratio(const Profile& profile, const record::JobRecord& r);

// Every per-frame figure of the profile's `hardware` cells `factor` times slower (and the
// content references with them: a job's sample taken on that machine is as much slower),
// each figure's provenance saying why (`why`) and when.
void scale_frame_times(Profile& profile, const std::string& hardware, double factor, const std::string& why,
                       const std::string& date);

// A running process's own overheads `factor` times slower, as a machine that runs frames
// that much slower runs them too: process start-up, the `hardware` cells' start-ups, the
// chunks' pre-roll, joins and clean-up (local reads and writes, I/O, are left as they are).
void scale_process_overheads(Profile& profile, const std::string& hardware, double factor, const std::string& why,
                             const std::string& date);

// The job a record describes, as the planner costs it: its frames, sizes, source, preset,
// network, content sample and key frames (what `run` planned it with, the plan apart).
JobShape job_shape_of(const record::JobRecord& r);

// Updates `profile` in place from the records; records without per-chunk timings or for
// an endpoint/hardware the profile lacks are skipped (and said so in the summary).
CalibrationSummary calibrate(Profile& profile, const std::vector<record::JobRecord>& records, const std::string& date);

}  // namespace reelscale::plan
