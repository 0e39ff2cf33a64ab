// cli/plan_options.cpp — loading planner inputs from files and flags.
#include "cli/plan_options.h"

#include <nlohmann/json.hpp>

#include "common/cores.h"
#include "exec/slurm_cluster.h"
#include "job/node_profile.h"
#include "record/job_record.h"

namespace reelscale::cli {

void PlanOptions::add_to(CLI::App* app) {
  app->add_option("--endpoint", endpoint, "framing_ai | framing | overlay | detect");
  app->add_option("--profile", profile_file, "Profile: reelscale (our engine; default), old-system (the old Python system), or a profile JSON (docs/planner.md)");
  app->add_option("--prices", prices_file, "Price table JSON (default: Modal 2026)");
  app->add_option("--platform", platform_file, "Platform JSON (billing, scale-down window, warm pool)");
  app->add_option("--policy", policy_file, "Policy JSON, optionally scheduled by the hour (docs/planner.md)");
  app->add_option("--objective", objective,
                  "auto (fastest on local slots, else cheapest within the deadline) | fastest | cheapest_within_deadline | "
                  "fastest_within_budget | balanced");
  app->add_option("--model", model, "framing_ai network: realesr-animevideov3 (default), realesr-general-x4v3, "
                                    "RealESRGAN_x4plus, RealESRGAN_x2plus");
  app->add_option("--local-slots", local_slots, "Plan for N owned local slots on this machine's cores (the local model)");
  app->add_option("--reserve-cores", reserve_cores, "Local: cores to leave free");
  app->add_option("--deadline", deadline_s, "Deadline, seconds");
  app->add_option("--budget", budget_usd, "Budget per job, USD");
  app->add_option("--weight", weight, "Balanced: weight of cost (0..1)");
  app->add_option("--max-parallel", max_parallel, "Most containers for one job");
  app->add_option("--hardware", hardware, "Allowed hardware (repeat or comma-separate)")->delimiter(',');
  app->add_option("--time-percentile", time_percentile, "p90 | mean");
  app->add_option("--width", width, "Output width");
  app->add_option("--height", height, "Output height");
  app->add_option("--fps", fps, "Output frame rate");
  app->add_option("--source-width", source_width, "Source width (per-stage profiles cost decoding by source pixels)");
  app->add_option("--source-height", source_height, "Source height");
  app->add_option("--codec", codec, "Source codec, e.g. h264, hevc (default: the profile's reference)");
  app->add_option("--preset", preset, "x264 preset of the output (default veryfast)");
  app->add_option("--encoder", encoder, "x264 | nvenc: the GPU's encoder where the hardware has one | auto: the plan chooses (default x264)")
      ->check(CLI::IsMember({"x264", "nvenc", "auto"}));
  app->add_option("--cluster", cluster_file,
                  "A Slurm cluster file (deploy/slurm/README.md): plan on its classes, at its node prices, within its "
                  "node counts and SuspendTime");
}

void PlanOptions::describe_work(plan::JobShape& shape) const {
  if (source_width > 0 && source_height > 0) shape.source_pixels = static_cast<double>(source_width) * source_height;
  shape.codec = codec;
  shape.preset = preset;
  shape.encoder = encoder;
}

namespace {

// A Slurm cluster's classes as the planner's hardware: each node's price (all-in: no
// container cores or memory on top, except a class's core range, priced per core), the most nodes of a class, SuspendTime as the
// scale-down window; and only its classes, unless --hardware says otherwise.
void apply_cluster(const exec::ClusterFile& cluster, PlanInputs& in, nlohmann::json& policy, bool hardware_given) {
  int most_nodes = 0;
  nlohmann::json classes = nlohmann::json::array();
  for (const auto& [name, c] : cluster.classes) {
    if (c.usd_per_hour > 0 || c.core_range()) in.prices.gpu_per_second[name] = c.usd_per_hour / 3600;
    if (c.core_range()) in.prices.core_ranges[name] = {c.core_options(), c.usd_per_core_hour / 3600};
    most_nodes = std::max(most_nodes, c.nodes);
    classes.push_back(name);
  }
  in.prices.gpu_container_cores = 0;  // a node's price is all-in: its cores are the class's
  in.prices.gpu_container_core_options.clear();
  in.prices.gpu_container_memory_gib = 0;
  if (most_nodes > 0) in.platform.max_containers = most_nodes;
  if (cluster.suspend_time_s >= 0) in.platform.scale_down_window_s = cluster.suspend_time_s;
  in.platform.cold_starts_together = true;  // powered-down nodes boot at once, started by one controller check
  if (!hardware_given) policy["allowed_hardware"] = classes;
}

}  // namespace

PlanInputs PlanOptions::load() const {
  PlanInputs in;
  in.profile = plan::named_profile(profile_file);
  in.prices = prices_file.empty() ? plan::default_prices() : plan::parse_prices(plan::read_json_file(prices_file));
  in.platform = platform_file.empty() ? plan::default_platform() : plan::parse_platform(plan::read_json_file(platform_file));
  if (local_slots > 0) in.platform = plan::Platform::local(local_slots, machine_cores());
  nlohmann::json policy = policy_file.empty() ? plan::to_json(plan::default_policy()) : plan::read_json_file(policy_file);
  if (!objective.empty()) policy["objective"] = objective;
  if (deadline_s > 0) policy["deadline_s"] = deadline_s;
  if (budget_usd >= 0) policy["budget_usd"] = budget_usd;
  if (weight >= 0) policy["weight"] = weight;
  if (max_parallel > 0) policy["max_parallel"] = max_parallel;
  if (!hardware.empty()) policy["allowed_hardware"] = hardware;
  if (!cluster_file.empty()) {
    const exec::ClusterFile cluster = exec::read_cluster_file(cluster_file);
    apply_cluster(cluster, in, policy, !hardware.empty());
    for (const auto& [name, c] : cluster.classes) {
      const std::string warning = job::node_profile_warning(in.profile, endpoint, name, c.cpu_quota);
      if (!warning.empty()) in.warnings.push_back(warning);
    }
  }
  if (!time_percentile.empty()) policy["time_percentile"] = time_percentile;
  if (reserve_cores > 0) policy["reserve_cores"] = reserve_cores;
  if (in.platform.is_local() && hardware.empty()) policy["allowed_hardware"] = {"CPU"};  // this machine's own slots
  in.scheduled = plan::ScheduledPolicy::parse(policy);
  const plan::PolicyInForce now = in.scheduled.at(record::unix_now());
  in.policy = now.policy;
  in.policy_entry = now.entry;
  if (in.platform.is_local() && in.policy.reserve_cores > 0) {
    in.platform.local_cores = std::max(1, in.platform.local_cores - in.policy.reserve_cores);
  }
  return in;
}

}  // namespace reelscale::cli
