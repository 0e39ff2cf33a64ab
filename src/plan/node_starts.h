// plan/node_starts.h — how a chunk starts on a batch cluster's node, from what was measured
// there and what the cluster configures. On an idle node: the dispatch (the task submitted
// to it running) and the node's own process start and model load. On a powered-down
// (elastic) node: its boot first, then the wait for slurmctld's periodic check, which starts
// a batch task on a node that came up (uniform over the check's period), then the same.
// Every figure says where it came from; calibration from job records replaces them later.
#pragma once

#include <string>

#include "plan/inputs.h"

namespace reelscale::plan {

struct NodeStarts {
  double dispatch_s = 0;         // submitted to running, on an idle node
  Provenance dispatch_provenance;
  double boot_s = -1;            // a powered-down node's boot (-1: unknown; the cell's cold start stays)
  double controller_check_s = 30;
};

// The cell's warm and cold start from `process_start_s` (the node's own process start and
// model load, as measured on it) and the cluster's figures.
void set_node_starts(Cell& cell, double process_start_s, const NodeStarts& starts, const std::string& date);

}  // namespace reelscale::plan
