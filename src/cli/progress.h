// cli/progress.h — progress display for long commands: a redrawn bar with frames/s and
// ETA on a terminal, occasional plain log lines otherwise.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "common/stopwatch.h"

namespace reelscale::cli {

class ProgressDisplay {
 public:
  explicit ProgressDisplay(std::string label);
  // Thread-safe; cheap when nothing needs redrawing.
  void update(int64_t done, int64_t total);
  // Ends the bar line (terminal) — call once at the end.
  void finish();

 private:
  std::string label_;
  bool terminal_;
  std::mutex mutex_;
  Stopwatch since_start_;
  Stopwatch since_draw_;
  int last_percent_logged_ = -1;
  bool drawn_ = false;
};

}  // namespace reelscale::cli
