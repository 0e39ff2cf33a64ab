// common/stopwatch.h — wall time of a stage: the one steady-clock stopwatch every
// module times its stages with.
#pragma once

#include <chrono>

namespace reelscale {

class Stopwatch {
 public:
  using Clock = std::chrono::steady_clock;
  Stopwatch() : start_(Clock::now()) {}
  // Seconds since construction or the last restart().
  double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
  // Returns seconds() and starts again from now: one call per stage.
  double lap() {
    const auto now = Clock::now();
    const double s = std::chrono::duration<double>(now - start_).count();
    start_ = now;
    return s;
  }
  void restart() { start_ = Clock::now(); }
  Clock::time_point started() const { return start_; }

 private:
  Clock::time_point start_;
};

}  // namespace reelscale
