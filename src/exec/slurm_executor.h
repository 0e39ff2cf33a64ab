// exec/slurm_executor.h — runs a job's chunk tasks on a Slurm cluster: each wave of tasks
// goes as one job array (sbatch --array) on the hardware class's partition and GRES, and
// each array task runs `reelscale chunk TASK_URL` on its node. The tasks and their
// outcomes travel through storage (exec/stored_task.h); the outcome, not squeue, says
// whether a chunk is done. Retries, time limits and speculation follow the attempt policy
// the remote executor uses (exec/attempts.h): a task that ends FAILED, TIMEOUT, NODE_FAIL
// or leaves the queue without an outcome is submitted again within the budget, and the
// losing copy of a speculative run is cancelled alone. A chunk is billed the node time it
// held (its node's boot included when it waited for it, the queue wait not); an elastic
// node's idle time is charged to the jobs that left it idle once it is seen suspended
// (exec/node_ledger.h), through on_late_charges.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "exec/attempts.h"
#include "exec/executor.h"
#include "exec/node_ledger.h"
#include "exec/slurm_cluster.h"
#include "exec/slurm_control.h"

namespace reelscale::exec {

struct SlurmOptions {
  ClusterFile cluster;
  std::string hardware;       // the class the tasks run on ("" : the file's only class)
  AttemptPolicy attempts;
};

class SlurmExecutor final : public Executor {
 public:
  SlurmExecutor(SlurmOptions options, store::ObjectStore& store,
                std::unique_ptr<SlurmControl> control = std::make_unique<SlurmCli>());
  std::vector<record::ChunkRecord> run(const std::vector<ChunkTaskSpec>& tasks, const RunProgress& progress,
                                       const std::atomic<bool>* cancel) override;
  std::string describe() const override;
  std::string hardware() const override { return hardware_; }
  int idle_capacity() const override;  // the partition's nodes that are up and idle now
  int places() const override;         // the partition's nodes, powered down ones included
  ClusterFacts cluster_facts() const override;
  void on_late_charges(LateChargeListener listener) override;
  ~SlurmExecutor() override;  // stops the suspend watcher; idle tails not yet seen are not charged

 private:
  friend class SlurmRun;
  SlurmOptions options_;
  store::ObjectStore& store_;
  std::unique_ptr<SlurmControl> control_;
  std::string hardware_;
  HardwareClass class_;
  std::string binary_;
  mutable std::once_flag suspend_time_read_;
  mutable double suspend_time_s_ = -1;
  // The elastic nodes' bill: a task's run records its hold; the watcher closes a node's
  // period when it sees the node suspended and hands the idle charges to the listener.
  void node_resumed(const std::string& node, double at_unix_s);
  void node_held(const std::string& node, const std::string& job_id, double start_unix_s, double end_unix_s);
  void watch_suspends();
  void adopt_nodes_up();
  std::mutex ledger_mutex_;
  std::condition_variable ledger_wake_;
  NodeLedger ledger_;
  LateChargeListener listener_;
  bool stopping_ = false;
  std::thread watcher_;
};

}  // namespace reelscale::exec
