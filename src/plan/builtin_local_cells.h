// plan/builtin_local_cells.h — the CPU cells of the built-in local profile as measured by
// `reelscale profile` on the reference VM, per stage (decode by source size and codec,
// processing, encode by output size and x264 preset): a profile document holding only
// them, compiled in from plan/builtin_local_cells.json (scripts/builtin-local-cells.sh
// writes that file from a profile).
#pragma once

namespace reelscale::plan {

const char* builtin_local_cells_json();

}  // namespace reelscale::plan
