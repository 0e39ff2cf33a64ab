// serve/local_speed.h — how many times slower than its profile this machine runs right now,
// learned from its latest jobs on local slots, and applied only while it helps. A shared
// machine's speed (a VM beside other tenants, a host at another clock) drifts over seconds
// to minutes, faster than any refit of the profile's figures can follow; the median
// measured / predicted of the last jobs follows it. Every finished job also judges the
// factor it would have been given: the factor is applied only while, over the latest jobs
// judged, predictions times it came closer than the plain ones.
#pragma once

#include <deque>
#include <string>
#include <utility>
#include <vector>

namespace reelscale::serve {

struct LocalSpeedPolicy {
  int window = 20;          // the latest jobs whose median measured / predicted is the speed (0: never)
  int judged = 40;          // the latest jobs the factor is judged on (it waits for as many)
  double min_factor = 0.5;  // the factor is kept within these
  double max_factor = 2.0;
};

class LocalSpeed {
 public:
  explicit LocalSpeed(LocalSpeedPolicy policy = {});
  // A finished job: its measured / predicted seconds, predicted at the profiled speed under
  // the profile in use.
  void add(double ratio);
  // The profile in use changed: the latest jobs' ratios under the new one, oldest first.
  void restart(const std::vector<double>& ratios);
  // What local predictions are multiplied by now: the candidate while it has helped, else 1.
  double factor() const;
  // The median of the window, within the policy's bounds (1 until the window is full).
  double candidate() const;
  // Median |measured / predicted - 1| over the jobs judged, with and without their factors.
  std::pair<double, double> judged_errors() const;
  int judged_jobs() const { return static_cast<int>(judged_.size()); }
  std::string describe() const;

 private:
  LocalSpeedPolicy policy_;
  std::deque<double> window_;                     // the latest ratios, oldest first
  std::deque<std::pair<double, double>> judged_;  // ratio, the candidate the job would have had
};

}  // namespace reelscale::serve
