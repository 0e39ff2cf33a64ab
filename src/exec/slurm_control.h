// exec/slurm_control.h — what the Slurm executor asks of the cluster, behind one small
// interface: submit a job array, read its tasks' states, cancel a job or one of its tasks,
// and count a partition's nodes by power state. SlurmCli does it with the command-line
// tools (sbatch, squeue, scancel, sinfo; SLURM_CONF picks the cluster); slurmrestd could
// stand in for them. Every call runs the tool once and parses its output.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace reelscale::exec {

struct ArraySubmission {
  std::string name;                 // the job's name (squeue -n finds its tasks)
  std::vector<int> indexes;         // array task indexes
  std::string partition;
  std::string gres;                 // "gpu:1" ("" : none)
  int cores = 1;                    // per task
  int time_limit_minutes = 10;      // Slurm's --time: whole minutes
  std::string command;              // the batch script's command; $SLURM_ARRAY_TASK_ID picks the task
  std::string output = "/dev/null"; // the tasks' stdout and stderr
};

// One array task as squeue lists it.
struct ArrayTaskState {
  std::string job_id;               // the array's job id
  int index = -1;
  std::string state;                // PENDING, CONFIGURING (its node is booting), RUNNING, COMPLETED, FAILED, ...
  std::string node;                 // where it was placed ("" while pending)
  std::string reason;               // why it waits or ended
};

struct NodeCounts {
  int total = 0;
  int idle = 0;                     // up (not powered down or booting) with nothing running
  int powered_down = 0;
  int booting = 0;
};

// What the controller says of a node's use: whether power saving can stop it (an elastic,
// State=CLOUD node) and when it was last busy (Unix seconds; 0 unknown).
struct NodeUse {
  bool elastic = false;
  double last_busy_unix_s = 0;
};

// One configuration of nodes in a partition, as sinfo groups them: their CPUs and GRES
// ("gpu:1", "gpu:t4:2(S:0)", comma-separated; "" for none).
struct PartitionNodes {
  std::string partition;
  int cpus = 0;
  std::string gres;
};

class SlurmControl {
 public:
  virtual ~SlurmControl() = default;
  // The job id Slurm gave the array. Error(kUnavailable) naming Slurm's reason on refusal.
  virtual std::string submit(const ArraySubmission& submission) = 0;
  // Every task of the jobs named `name` that Slurm still lists (ended ones for MinJobAge).
  virtual std::vector<ArrayTaskState> tasks(const std::string& name) = 0;
  // Cancels a whole array (index < 0) or one of its tasks.
  virtual void cancel(const std::string& job_id, int index = -1) = 0;
  virtual NodeCounts nodes(const std::string& partition) = 0;
  // Each node of the partition with its state as sinfo writes it ("idle", "mixed", "idle~", ...).
  virtual std::map<std::string, std::string> node_states(const std::string& partition) = 0;
  // When the node's slurmd last started (its boot, for an elastic node), Unix seconds; 0 unknown.
  virtual double node_started_unix_s(const std::string& node) = 0;
  // Whether the node is elastic and when it was last busy (scontrol's LastBusyTime).
  virtual NodeUse node_use(const std::string& node) = 0;
  // SuspendTime: how long a node stays idle before power saving stops it (-1: never or unknown).
  virtual double suspend_time_s() = 0;
  // Every partition's node configurations (one entry per partition and kind of node).
  virtual std::vector<PartitionNodes> partitions() = 0;
};

// The command-line tools on PATH.
class SlurmCli final : public SlurmControl {
 public:
  std::string submit(const ArraySubmission& submission) override;
  std::vector<ArrayTaskState> tasks(const std::string& name) override;
  void cancel(const std::string& job_id, int index = -1) override;
  NodeCounts nodes(const std::string& partition) override;
  std::map<std::string, std::string> node_states(const std::string& partition) override;
  double node_started_unix_s(const std::string& node) override;
  NodeUse node_use(const std::string& node) override;
  double suspend_time_s() override;
  std::vector<PartitionNodes> partitions() override;
};

// Why a cluster file's class cannot run on this cluster, naming the class and the field:
// its partition is not one of the cluster's, or no node of it has the cores or the GRES a
// task asks for. "" when some node of the partition can take a task.
std::string class_mismatch(const std::string& name, const std::string& partition, const std::string& gres, int cores,
                           const std::vector<PartitionNodes>& partitions);

// `text` as one single-quoted word of a batch script (a shell script). Error(kBadInput)
// when it holds a single quote.
std::string batch_script_word(const std::string& text);

// Whether a node in this state is powered down or powering down (power saving suspended it).
bool node_powered_down(const std::string& state);

// Whether a task in this state has ended (and will not run again by itself).
bool slurm_state_ended(const std::string& state);

}  // namespace reelscale::exec
