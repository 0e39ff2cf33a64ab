// job/machine_check.h — the built-in local profile fitted to the machine it runs on. Its
// per-frame figures were measured on one 2-vCPU VM; another machine may run them several
// times faster or slower. At start, a few frames of a drawn 1280x720 clip, a panning 9:16
// crop scaled to 810x1440 (the built-in figures' reference size), go through the real
// chunk runner as one chunk on all the machine's cores, three times (fewer once 1.5 s have
// gone: a machine four times slower spends about 2 s, then runs once); how many times slower
// than the built-in profile predicts their steady frames ran (the fastest run, the least
// disturbed by a neighbour) scales every per-frame figure of its CPU cells, and each
// figure's provenance says so. About 1.1 s on a 2-core VM.
#pragma once

#include <filesystem>
#include <string>

#include "plan/inputs.h"

namespace reelscale::job {

struct MachineCheck {
  double factor = 1;                  // measured / predicted steady frame time (1: as built in)
  int frames = 0;                     // frames timed in each run
  double measured_ms_per_frame = 0;   // the faster run's steady time per frame
  double predicted_ms_per_frame = 0;  // what the built-in local profile predicts for them
  double seconds = 0;                 // what the check took, its clip included
  std::string date;                   // YYYY-MM-DD
  std::string describe() const;
};

// The frames' factor is kept within these: a machine further off than this is more likely
// a check disturbed by something else, and online calibration corrects the rest.
inline constexpr double kMachineCheckMinFactor = 1.0 / 16;
inline constexpr double kMachineCheckMaxFactor = 16;

// Runs the check in a scratch folder under `scratch` (removed after).
MachineCheck check_machine_speed(const std::filesystem::path& scratch = std::filesystem::temp_directory_path());

// plan::default_local_profile() with its CPU cells' per-frame figures, and a running
// process's overheads (start-ups, pre-roll, joins, clean-up), scaled by the check's factor,
// the profile's and each figure's provenance naming the check.
plan::Profile local_profile_fitted(const MachineCheck& check);

}  // namespace reelscale::job
