// plan/node_starts.cpp — a cluster node's warm and cold start, built from its parts.
#include "plan/node_starts.h"

#include "common/json_fields.h"

namespace reelscale::plan {

namespace {

std::string seconds(double v) { return format_number(v) + " s"; }

// Boot, then a uniform wait for the controller's check, then the warm start.
Distribution node_cold_start(double boot_s, double controller_check_s, double warm_start_s) {
  const double first = boot_s + warm_start_s;
  return controller_check_s > 0 ? Distribution::uniform(first, first + controller_check_s) : Distribution::constant(first);
}

}  // namespace

void set_node_starts(Cell& cell, double process_start_s, const NodeStarts& starts, const std::string& date) {
  const double warm = starts.dispatch_s + process_start_s;
  const std::string parts = seconds(starts.dispatch_s) + " dispatch (" + starts.dispatch_provenance.source + ") + " +
                            seconds(process_start_s) + " process start and model load, measured on the node";
  cell.warm_start_s = Distribution::constant(warm);
  cell.warm_start_s.provenance = {"an idle node: " + parts, date, true};
  cell.warm_start_billed_s = process_start_s;  // the dispatch holds no node
  if (starts.boot_s < 0) return;
  cell.cold_start_s = node_cold_start(starts.boot_s, starts.controller_check_s, warm);
  cell.cold_start_s.provenance = {"a powered-down node: its boot (" + seconds(starts.boot_s) +
                                      ", the cluster file's boot_s), then up to " + seconds(starts.controller_check_s) +
                                      " for slurmctld's periodic check, then " + parts,
                                  date, true};
}

}  // namespace reelscale::plan
