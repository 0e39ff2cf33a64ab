// exec/slurm_cluster.h — the cluster file: how the planner's hardware classes map onto a
// Slurm cluster (partition, GRES, cores per task, price per node-hour), and how tasks run
// there (the reelscale binary on the nodes, where their logs go, how often to look).
//
//   {"classes": {"T4": {"partition": "t4", "gres": "gpu:t4:1", "cores": 4, "usd_per_hour": 0.53, "nodes": 8}},
//    (or "cores": [1, 8] with "usd_per_core_hour": 0.04: a task asks for the cores the plan
//    chooses within the range, billed per core on top of usd_per_hour),
//    "binary": "/opt/reelscale/reelscale", "task_log": "/dev/null", "poll_s": 0.5, "suspend_time_s": 300,
//    "boot_s": 90, "controller_check_s": 30}
#pragma once

#include <map>
#include <string>
#include <vector>

namespace reelscale::exec {

struct HardwareClass {
  std::string partition;
  std::string gres;           // "" : no GRES
  int cores = 1;              // per task; with a range, the most a task may ask for
  int min_cores = 0;          // a range's least (0: no range, every task asks for `cores`)
  double usd_per_hour = 0;    // per node (with a range: the part besides the cores)
  double usd_per_core_hour = 0;  // a range: per core a task asks for
  int nodes = 0;              // the partition's nodes, the most chunks at once (0: unknown; the cluster says when asked)
  double cpu_quota = 0;       // each node's CPU quota in cores (a quota node, a container's limit; 0: whole cores)

  bool core_range() const { return min_cores > 0; }
  // A range's core counts the planner chooses among: its ends and the powers of two between.
  std::vector<double> core_options() const;
};

struct ClusterFile {
  std::map<std::string, HardwareClass> classes;
  std::string binary;         // "" : this process's own binary (a cluster on this host, or a shared path)
  std::string task_log = "/dev/null";  // each task's output (Slurm patterns such as %A_%a allowed)
  double poll_s = 0.5;        // how often the executor reads the tasks' states and outcomes
  double suspend_time_s = -1; // SuspendTime, for planning offline (-1: unknown; a running service asks the cluster)
  // How a powered-down (elastic) node starts: its boot, ResumeProgram to its slurmd
  // registering (-1: unknown), then slurmctld's periodic check, which starts a batch task
  // on a node that came up (every 30 s in Slurm 22.05).
  double boot_s = -1;
  double controller_check_s = 30;

  // The class named `hardware`, or the only one when `hardware` is "". Error(kBadInput) otherwise.
  const std::pair<const std::string, HardwareClass>& pick(const std::string& hardware) const;
};

// Error(kBadInput) naming the field on a malformed file.
ClusterFile read_cluster_file(const std::string& path);

}  // namespace reelscale::exec
