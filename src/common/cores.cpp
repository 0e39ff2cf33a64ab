// common/cores.cpp — core sharing between slots.
#include "common/cores.h"

#include <sched.h>

#include <algorithm>
#include <thread>

namespace reelscale {

int machine_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

int threads_per_slot(int slots, int cores) { return std::max(1, cores / std::max(1, slots)); }

int slots_for(int chunks, int requested, int cores) {
  return std::max(1, std::min(std::max(1, chunks), requested > 0 ? requested : cores));
}

}  // namespace reelscale
