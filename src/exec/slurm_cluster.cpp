// exec/slurm_cluster.cpp — reading and checking the cluster file.
#include "exec/slurm_cluster.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_fields.h"

namespace reelscale::exec {

namespace {

const JsonFields kFields("cluster file field");

// "cores": N, or [least, most] with "usd_per_core_hour" (a GPU class: its node's other
// parts are priced whole, by usd_per_hour).
void parse_cores(const nlohmann::json& j, const std::string& f, HardwareClass& c) {
  if (!j.contains("cores") || !j["cores"].is_array()) {
    c.cores = static_cast<int>(kFields.integer(j, "cores", f + ".cores", 1, 1024, 1));
    if (j.contains("usd_per_core_hour")) {
      kFields.bad(f + ".usd_per_core_hour", "prices cores within a range: give \"cores\" as [least, most]");
    }
    return;
  }
  const nlohmann::json& range = j["cores"];
  const auto whole = [](const nlohmann::json& v) {
    return v.is_number_integer() && v.get<int64_t>() >= 1 && v.get<int64_t>() <= 1024;
  };
  if (range.size() != 2 || !whole(range[0]) || !whole(range[1]) || range[0].get<int>() > range[1].get<int>()) {
    kFields.bad(f + ".cores", "is " + range.dump() + ": a range is [least, most], whole cores from 1 to 1024");
  }
  c.min_cores = range[0].get<int>();
  c.cores = range[1].get<int>();
  c.usd_per_core_hour = kFields.number(j, "usd_per_core_hour", f + ".usd_per_core_hour", 0, 1e3, std::nullopt);
}

HardwareClass parse_class(const nlohmann::json& j, const std::string& f) {
  kFields.require_object(j, f);
  kFields.only(j, f, {"partition", "gres", "cores", "usd_per_hour", "usd_per_core_hour", "nodes", "cpu_quota"});
  HardwareClass c;
  c.partition = kFields.text(j, "partition", f + ".partition");
  c.gres = kFields.text(j, "gres", f + ".gres", std::string());
  parse_cores(j, f, c);
  c.usd_per_hour = kFields.number(j, "usd_per_hour", f + ".usd_per_hour", 0, 1e4, 0.0);
  c.nodes = static_cast<int>(kFields.integer(j, "nodes", f + ".nodes", 0, 100000, 0));
  c.cpu_quota = kFields.number(j, "cpu_quota", f + ".cpu_quota", 0, 1024, 0.0);
  if (c.cpu_quota > 0 && c.cores > std::ceil(c.cpu_quota - 1e-9)) {
    kFields.bad(f + ".cores", "is " + std::to_string(c.cores) + ", more than the nodes' CPU quota of " +
                                  format_number(c.cpu_quota) + " cores rounds up to");
  }
  return c;
}

}  // namespace

std::vector<double> HardwareClass::core_options() const {
  if (!core_range()) return {};
  std::vector<double> out = {static_cast<double>(min_cores)};
  for (int c = 1; c < cores; c *= 2) {
    if (c > min_cores) out.push_back(c);
  }
  if (cores > min_cores) out.push_back(cores);
  return out;
}

const std::pair<const std::string, HardwareClass>& ClusterFile::pick(const std::string& hardware) const {
  if (hardware.empty() && classes.size() == 1) return *classes.begin();
  const auto it = classes.find(hardware);
  if (it != classes.end()) return *it;
  std::string names;
  for (const auto& [name, c] : classes) names += (names.empty() ? "" : ", ") + name;
  fail(ErrorKind::kBadInput, hardware.empty() ? "the cluster file has several classes (" + names + "): name one with --hardware"
                                              : "the cluster file has no class '" + hardware + "' (it has " + names + ")");
}

ClusterFile read_cluster_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(ErrorKind::kNotFound, "cannot read the cluster file " + path);
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) fail(ErrorKind::kBadInput, "the cluster file " + path + " is not valid JSON");
  kFields.require_object(j, "(top level)");
  kFields.only(j, "(top level)",
               {"classes", "binary", "task_log", "poll_s", "suspend_time_s", "boot_s", "controller_check_s"});
  ClusterFile c;
  if (!j.contains("classes") || !j["classes"].is_object() || j["classes"].empty()) {
    kFields.bad("classes", "is required: {\"T4\": {\"partition\": ..., \"gres\": ..., \"cores\": ...}}");
  }
  for (const auto& [name, value] : j["classes"].items()) c.classes[name] = parse_class(value, "classes." + name);
  c.binary = kFields.text(j, "binary", "binary", std::string());
  c.task_log = kFields.text(j, "task_log", "task_log", std::string("/dev/null"));
  c.poll_s = kFields.number(j, "poll_s", "poll_s", 0.05, 60, 0.5);
  c.suspend_time_s = kFields.number(j, "suspend_time_s", "suspend_time_s", -1, 1e7, -1.0);
  c.boot_s = kFields.number(j, "boot_s", "boot_s", -1, 1e5, -1.0);
  c.controller_check_s = kFields.number(j, "controller_check_s", "controller_check_s", 0, 3600, 30.0);
  return c;
}

}  // namespace reelscale::exec
