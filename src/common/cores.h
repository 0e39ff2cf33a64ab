// common/cores.h — how this machine's cores are shared between execution slots: the
// one rule the CLI, the worker, the profiler and the local executor use. The cores a
// process may use are its CPU affinity, bounded by the CPU quota of its cgroup (cgroup v1
// `cpu.cfs_quota_us`, v2 `cpu.max`, the tightest on its path): a container or a quota node
// of 0.25 cores runs one thread, not one per host core.
#pragma once

#include <filesystem>

namespace reelscale {

// Cores this process may use (at least 1): the affinity, capped by the quota rounded up.
int machine_cores();

// The CPU quota of this process's cgroups in cores (0.25: a quarter of a core), the
// tightest one from its own cgroup up to the root; 0 when none is set. `root` is where the
// file system starts (tests give a made-up tree; "/" reads this process's own).
double cgroup_cpu_quota(const std::filesystem::path& root = "/");

// Threads each of `slots` concurrent slots gets so that together they use the cores
// without oversubscribing them (at least 1).
int threads_per_slot(int slots, int cores = machine_cores());

// Slots for a job of `chunks` chunks when the caller asks for `requested` (0: as many
// as there are cores): never more than the chunks, at least 1.
int slots_for(int chunks, int requested, int cores = machine_cores());

}  // namespace reelscale
