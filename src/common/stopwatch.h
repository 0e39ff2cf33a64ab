// common/stopwatch.h — wall time of a stage: the one steady-clock stopwatch every
// module times its stages with; and the CPU clocks (this thread's, the whole process's)
// the profiler and the content sample measure work with.
#pragma once

#include <time.h>

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

namespace detail {
inline double clock_seconds(clockid_t clock) {
  timespec t{};
  clock_gettime(clock, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}
}  // namespace detail

// CPU seconds the calling thread has used (threads running beside it do not count).
inline double thread_cpu_seconds() { return detail::clock_seconds(CLOCK_THREAD_CPUTIME_ID); }
// CPU seconds this process has used, all threads.
inline double process_cpu_seconds() { return detail::clock_seconds(CLOCK_PROCESS_CPUTIME_ID); }

}  // namespace reelscale
