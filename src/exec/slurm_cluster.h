// exec/slurm_cluster.h — the cluster file: how the planner's hardware classes map onto a
// Slurm cluster (partition, GRES, cores per task, price per node-hour), and how tasks run
// there (the reelscale binary on the nodes, where their logs go, how often to look).
//
//   {"classes": {"T4": {"partition": "t4", "gres": "gpu:t4:1", "cores": 4, "usd_per_hour": 0.53, "nodes": 8}},
//    "binary": "/opt/reelscale/reelscale", "task_log": "/dev/null", "poll_s": 0.5, "suspend_time_s": 300,
//    "boot_s": 90, "controller_check_s": 30}
#pragma once

#include <map>
#include <string>

namespace reelscale::exec {

struct HardwareClass {
  std::string partition;
  std::string gres;           // "" : no GRES
  int cores = 1;              // per task
  double usd_per_hour = 0;    // per node
  int nodes = 0;              // the partition's nodes, the most chunks at once (0: unknown; the cluster says when asked)
  double cpu_quota = 0;       // each node's CPU quota in cores (a quota node, a container's limit; 0: whole cores)
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
