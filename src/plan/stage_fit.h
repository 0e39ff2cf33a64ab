// plan/stage_fit.h — correcting a cell's per-stage figures from job records: each chunk's
// steady time per frame against what the stages predict for its work (source and output
// pixels, codec, preset, the network's factor, the chunks sharing the cores).
#pragma once

#include <string>
#include <vector>

#include "plan/frame_stages.h"
#include "record/job_record.h"

namespace reelscale::plan {

// One timed chunk of a record.
struct ChunkObservation {
  FrameWork work;
  double frame_ms = 0;    // steady time per frame: the chunk less opening and pre-roll
  double frames = 0;
  int cores = 0;          // the cores its job's chunks shared (0: unknown, the profile's)
  int chunks_at_once = 1;
};

// The timed chunks of a finished record. `network_factor`: the network's work per output
// pixel relative to the cell's model (1 for other endpoints). framing_ai records whose
// frames did not all need the network are left out.
std::vector<ChunkObservation> chunk_observations(const record::JobRecord& r, double network_factor);

// Corrects `stages` from observations: a codec or preset the profile lacks is added
// (from the figure it was predicted with), then every stage's work is scaled by the
// frame-weighted measured over predicted time. Returns one line per change.
std::vector<std::string> calibrate_stages(FrameStages& stages, const std::vector<ChunkObservation>& observations);

}  // namespace reelscale::plan
