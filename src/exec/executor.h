// exec/executor.h — where chunk tasks run: the interface the job flow dispatches
// through, the function that runs one task on this machine (shared by the local slots
// and the remote worker), and the local executor (in-process slots).
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "exec/chunk_runner.h"
#include "exec/node_ledger.h"
#include "exec/task.h"
#include "process/processor.h"
#include "record/job_record.h"
#include "store/store.h"

namespace reelscale::exec {

// Frames done so far across all tasks of a run, and the total.
using RunProgress = std::function<void(int64_t done, int64_t total)>;
// Builds the processor factory for a job (model weights cached by the caller).
using ProcessorFactoryMaker = std::function<process::SlotProcessorFactory(const process::JobSpec&)>;
// Tells the network code how many threads each slot's processor may use.
using ThreadSetter = std::function<void(int threads)>;

// Slots and cores the job owns outright (local slots): 0 slots for billed or remote
// capacity, which the planner prices instead.
struct OwnedCapacity {
  int slots = 0;
  int cores = 0;
};

// What a billed cluster tells the planner beyond its idle places (unknown: < 0).
struct ClusterFacts {
  int max_places = -1;               // nodes the class has, powered down or up
  double scale_down_window_s = -1;   // idle time before a node is powered down
  double usd_per_second = -1;        // a node of the class (with a core range: besides its cores)
  std::vector<double> core_options;  // a class with a core range: the counts a task may ask for
  double usd_per_core_second = 0;    // and what each costs
  double cpu_quota = 0;              // each node's CPU quota in cores (0: whole cores, or not a cluster)
  bool batch_cluster = false;        // a batch cluster: its powered-down nodes boot, and start, together
};

class Executor {
 public:
  virtual ~Executor() = default;
  // Runs every task and returns their records in task order, or throws once every task
  // it started has ended (nothing keeps running behind the caller's back).
  virtual std::vector<record::ChunkRecord> run(const std::vector<ChunkTaskSpec>& tasks, const RunProgress& progress,
                                               const std::atomic<bool>* cancel) = 0;
  virtual std::string describe() const = 0;
  // The hardware the chunks run on, as the planner names it ("CPU"; "" when unknown).
  virtual std::string hardware() const = 0;
  virtual OwnedCapacity owned_capacity() const { return {}; }
  // Places free for a task right now (warm, nothing to start), -1 when unknown: what the
  // job service tells the planner about the warm pool.
  virtual int idle_capacity() const { return -1; }
  virtual int places() const { return -1; }              // task places in all (-1 unknown)
  virtual std::vector<std::string> worker_urls() const { return {}; }  // remote workers, for health
  virtual ClusterFacts cluster_facts() const { return {}; }
  // Charges that come after a job has ended (a batch cluster's node idle tails, once the
  // node is seen suspended), with their price: `listener` is told each one. Executors that
  // bill nothing late never call it.
  using LateChargeListener = std::function<void(const IdleCharge& charge, double usd)>;
  virtual void on_late_charges(LateChargeListener listener) { (void)listener; }
};

// Runs one task here: the input is read from local disk or by ranges from storage, the
// chunk is written to task.output through the store (an atomic rename for a local path,
// an upload for s3://, staged in `scratch`), decoded within `limits`.
// The cores a place gives a task: what the plan gave its container, at most the place's own
// (0: the plan gave none; the place shares its own as it does).
int granted_cores(const ChunkTaskSpec& task);

record::ChunkRecord execute_task(const ChunkTaskSpec& task, process::FrameProcessor& processor,
                                 store::ObjectStore& store, const std::filesystem::path& scratch,
                                 const FrameObserver& observer = {}, const ProgressCallback& progress = {},
                                 const std::atomic<bool>* cancel = nullptr, const media::MediaLimits& limits = {});

struct LocalExecutorOptions {
  int slots = 0;                   // chunk tasks at once; 0: one per core
  int threads = 0;                 // threads each slot gets; 0: the cores shared between the busy slots
  std::filesystem::path scratch = std::filesystem::temp_directory_path();
  ThreadSetter set_threads;        // optional: the network threads per slot
  FrameObserver observer;          // optional: sees every processed frame (tests)
  media::MediaLimits media_limits;  // what the chunks' decoders may take on
};

// In-process slots (threads), each with its own processor for the job. The machine's
// cores are shared between the slots a run uses: a chunk running alone gets them all.
class LocalExecutor final : public Executor {
 public:
  LocalExecutor(LocalExecutorOptions options, ProcessorFactoryMaker maker, store::ObjectStore& store);
  std::vector<record::ChunkRecord> run(const std::vector<ChunkTaskSpec>& tasks, const RunProgress& progress,
                                       const std::atomic<bool>* cancel) override;
  std::string describe() const override;
  std::string hardware() const override { return "CPU"; }
  OwnedCapacity owned_capacity() const override;
  int slots() const { return options_.slots; }

 private:
  LocalExecutorOptions options_;
  ProcessorFactoryMaker maker_;
  store::ObjectStore& store_;
};

}  // namespace reelscale::exec
