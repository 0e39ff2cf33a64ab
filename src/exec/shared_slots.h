// exec/shared_slots.h — local slots shared by every job a service runs at once: a fixed
// pool of slot threads takes chunk tasks from the jobs in turn (round robin over the jobs
// with work waiting), so a long job does not starve short ones that arrive after it. Each
// task gets a processor built for its job on the slot that runs it, on one slot's share of
// the cores. A job claims, when it starts, the slots that are free then (at most its chunks
// and `max_slots_per_job`, at least one) and never runs more at once: the capacity reported
// for planning is that claim and its cores, so a job runs as it was planned and a job that
// starts later finds the slots the plans left it, not a neighbour's second chunk.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "exec/executor.h"

namespace reelscale::exec {

struct SharedSlotsOptions {
  int slots = 0;              // 0: one per core
  int max_slots_per_job = 0;  // 0: every slot
  std::filesystem::path scratch = std::filesystem::temp_directory_path();
  ThreadSetter set_threads;
  media::MediaLimits media_limits;  // what the chunks' decoders may take on
};

// What the pool is doing now, for the planner and the API.
struct SlotLoad {
  int slots = 0;
  int busy = 0;
  int claimed = 0;            // slots the runs going have claimed (may exceed slots: a run claims at least one)
  int jobs_waiting = 0;       // runs with tasks not yet started
};

class SharedSlots final : public Executor {
 public:
  SharedSlots(SharedSlotsOptions options, ProcessorFactoryMaker maker, store::ObjectStore& store);
  ~SharedSlots() override;
  std::vector<record::ChunkRecord> run(const std::vector<ChunkTaskSpec>& tasks, const RunProgress& progress,
                                       const std::atomic<bool>* cancel) override;
  std::string describe() const override;
  std::string hardware() const override { return "CPU"; }
  OwnedCapacity owned_capacity() const override;
  SlotLoad load() const;
  int idle_capacity() const override;
  int places() const override { return options_.slots; }

 private:
  struct Run;
  void slot_main(int slot);
  std::shared_ptr<Run> next_run_locked(size_t& task);  // a run with work, in turn
  int claim_locked(int chunks) const;                  // what a run of `chunks` would claim now
  void execute(Run& run, size_t task, int slot);

  SharedSlotsOptions options_;
  ProcessorFactoryMaker maker_;
  store::ObjectStore& store_;
  mutable std::mutex mutex_;
  std::condition_variable work_;
  std::deque<std::shared_ptr<Run>> runs_;  // the turn order
  int busy_ = 0;
  int claimed_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace reelscale::exec
