// common/cores.h — how this machine's cores are shared between execution slots: the
// one rule the CLI, the worker, the profiler and the local executor use.
#pragma once

namespace reelscale {

// Cores this process may use (at least 1).
int machine_cores();

// Threads each of `slots` concurrent slots gets so that together they use the cores
// without oversubscribing them (at least 1).
int threads_per_slot(int slots, int cores = machine_cores());

// Slots for a job of `chunks` chunks when the caller asks for `requested` (0: as many
// as there are cores): never more than the chunks, at least 1.
int slots_for(int chunks, int requested, int cores = machine_cores());

}  // namespace reelscale
