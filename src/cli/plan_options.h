// cli/plan_options.h — the options the planning commands share: which profile, price
// table, platform and policy files (defaults: the inherited figures), the endpoint and
// output geometry, and policy overrides from flags.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "plan/cost_model.h"
#include "plan/inputs.h"
#include "plan/policy_schedule.h"

namespace reelscale::cli {

struct PlanInputs {
  plan::Profile profile;
  plan::PriceTable prices;
  plan::Platform platform;
  plan::Policy policy;           // the policy in force now (a scheduled one: this hour's entry)
  plan::ScheduledPolicy scheduled;  // the whole policy, with its schedule if it has one
  std::string policy_entry = "base";  // which entry `policy` is
  std::vector<std::string> warnings;  // a cluster class whose figures were not measured on its nodes
};

struct PlanOptions {
  std::string endpoint = "framing_ai";
  std::string profile_file, prices_file, platform_file, policy_file;
  std::string objective;
  double deadline_s = -1, budget_usd = -1, weight = -1;
  int max_parallel = 0;
  std::string model;  // framing_ai network ("" : the profile's)
  int local_slots = 0;
  int reserve_cores = 0;
  std::vector<std::string> hardware;
  std::string time_percentile;
  int width = 810, height = 1440;
  double fps = 30;
  int source_width = 0, source_height = 0;  // 0: the profile's reference source
  std::string codec, preset;                // "": the profile's reference codec, veryfast
  std::string encoder = "x264";             // x264 | nvenc
  std::string cluster_file;                 // a Slurm cluster file: its classes, prices, nodes, SuspendTime

  void add_to(CLI::App* app);
  double pixels() const { return static_cast<double>(width) * height; }
  // The work options on a shape (source size, codec, preset).
  void describe_work(plan::JobShape& shape) const;
  PlanInputs load() const;
};

}  // namespace reelscale::cli
