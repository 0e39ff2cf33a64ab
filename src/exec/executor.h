// exec/executor.h — where chunk tasks run: the interface the orchestrator dispatches
// through, the function that runs one task on this machine (shared by the local slots
// and the remote worker), and the local executor (in-process slots).
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "exec/task.h"
#include "process/processor.h"
#include "store/store.h"

namespace reelscale::exec {

// Frames done so far across all tasks of a run, and the total.
using RunProgress = std::function<void(int64_t done, int64_t total)>;
// Builds the processor factory for a job (model weights cached by the caller).
using ProcessorFactoryMaker = std::function<process::SlotProcessorFactory(const process::JobSpec&)>;

class Executor {
 public:
  virtual ~Executor() = default;
  // Runs every task and returns their results in task order, or throws once every task
  // it started has ended (nothing keeps running behind the caller's back).
  virtual std::vector<ChunkResult> run(const std::vector<ChunkTaskSpec>& tasks, const RunProgress& progress,
                                       const std::atomic<bool>* cancel) = 0;
  virtual std::string describe() const = 0;
};

// Runs one task here: the input is read from local disk or by ranges from storage, the
// chunk is encoded into `scratch` and stored at task.output (an atomic rename for a
// local path, an upload for s3://).
ChunkResult execute_task(const ChunkTaskSpec& task, process::FrameProcessor& processor, store::ObjectStore& store,
                         const std::filesystem::path& scratch, const FrameObserver& observer = {},
                         const ProgressCallback& progress = {}, const std::atomic<bool>* cancel = nullptr);

// In-process slots (threads), each with its own processor for the job.
class LocalExecutor final : public Executor {
 public:
  LocalExecutor(int slots, ProcessorFactoryMaker maker, store::ObjectStore& store, std::filesystem::path scratch);
  void set_observer(FrameObserver observer) { observer_ = std::move(observer); }
  std::vector<ChunkResult> run(const std::vector<ChunkTaskSpec>& tasks, const RunProgress& progress,
                               const std::atomic<bool>* cancel) override;
  std::string describe() const override;
  int64_t frames_skipped() const { return skipped_; }

 private:
  int slots_;
  ProcessorFactoryMaker maker_;
  store::ObjectStore& store_;
  std::filesystem::path scratch_;
  FrameObserver observer_;
  std::atomic<int64_t> skipped_{0};
};

}  // namespace reelscale::exec
