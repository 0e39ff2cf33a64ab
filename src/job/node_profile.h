// job/node_profile.h — `reelscale profile --cluster FILE --hardware CLASS`: a class's cell
// measured on a node of that class, not on the host. The profiler runs as one Slurm task
// on the class's partition, with the class's cores (and GRES), and writes its profile to a
// folder both sides see (a shared file system, or one host). The result is the host's own
// figures (the process that submits, joins and cleans up) with every CLASS cell, the chunks'
// pre-roll and their reads and writes as the node measured them, each cell marked with the
// node it came from, and its starts built from the node's process start, the dispatch this
// submission measured and the cluster file's boot and controller check (plan/node_starts.h).
#pragma once

#include <string>
#include <vector>

#include "exec/slurm_cluster.h"
#include "exec/slurm_control.h"
#include "plan/inputs.h"

namespace reelscale::job {

struct NodeProfileOptions {
  std::string cluster_class;               // "" : the cluster file's only class
  std::string out_dir;                     // the node writes OUT/node/; the result goes in OUT/
  std::string binary;                      // the reelscale binary on the nodes
  std::vector<std::string> profiler_args;  // passed on: --quick, --lengths, --ai-frames, --models
  std::string date;                        // YYYY-MM-DD
};

struct NodeProfile {
  plan::Profile profile;
  std::string node;        // where it ran
  double dispatch_s = -1;  // submitted to running (-1: the node was powered down, not measured)
  std::string report;      // the node's own report (profile.md), headed by where it ran
};

// Why `profile`'s `endpoint` cell for `cluster_class` may not hold on that class's nodes:
// it was not measured on one of them (the host's figures, or estimates), or on a node of
// another class, or of another CPU quota than the class declares (`cpu_quota`, 0: none). "" when it was measured on a node of the class, as it is now.
std::string node_profile_warning(const plan::Profile& profile, const std::string& endpoint,
                                 const std::string& cluster_class, double cpu_quota);

// Runs the profiler on a node of the class and builds the profile. Error(kBadInput) when
// the class does not fit the cluster; Error(kUnavailable) when the task ends without a
// profile (its log's last lines in the message).
NodeProfile profile_on_node(const exec::ClusterFile& cluster, const NodeProfileOptions& options,
                            exec::SlurmControl& control);

}  // namespace reelscale::job
