// exec/slurm_control.cpp — Slurm's command-line tools, run without a shell.
#include "exec/slurm_control.h"

#include <algorithm>

#include <cstdlib>
#include <ctime>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>

#include "common/error.h"
#include "common/subprocess.h"

namespace reelscale::exec {

namespace {

CommandResult run_slurm(const std::vector<std::string>& argv) {
  CommandResult r = run_command(argv);
  if (r.exit_code == 127) fail(ErrorKind::kUnavailable, argv[0] + " is not installed (the Slurm client tools)");
  return r;
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, sep)) out.push_back(field);
  if (!line.empty() && line.back() == sep) out.push_back("");
  return out;
}

std::string index_list(const std::vector<int>& indexes) {
  std::string out;
  for (int i : indexes) out += (out.empty() ? "" : ",") + std::to_string(i);
  return out;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::string batch_script_word(const std::string& text) {
  if (text.find('\'') != std::string::npos) {
    fail(ErrorKind::kBadInput, "a path for the Slurm tasks contains a single quote: " + text);
  }
  return "'" + text + "'";
}

bool slurm_state_ended(const std::string& state) {
  static const std::set<std::string> kEnded = {"COMPLETED", "FAILED",    "TIMEOUT",   "NODE_FAIL",     "CANCELLED",
                                               "BOOT_FAIL", "DEADLINE",  "PREEMPTED", "OUT_OF_MEMORY", "SPECIAL_EXIT",
                                               "REVOKED"};
  return kEnded.count(state) > 0;
}

std::string SlurmCli::submit(const ArraySubmission& s) {
  if (s.indexes.empty()) fail(ErrorKind::kInternal, "a Slurm submission with no tasks");
  std::vector<std::string> argv = {"sbatch", "--parsable", "--no-requeue", "--array=" + index_list(s.indexes),
                                   "--job-name=" + s.name, "--cpus-per-task=" + std::to_string(std::max(1, s.cores)),
                                   "--time=" + std::to_string(std::max(1, s.time_limit_minutes)),
                                   "--output=" + s.output};
  if (!s.partition.empty()) argv.push_back("--partition=" + s.partition);
  if (!s.gres.empty()) argv.push_back("--gres=" + s.gres);
  argv.push_back("--wrap=" + s.command);
  const CommandResult r = run_slurm(argv);
  const std::string id = trimmed(r.out).substr(0, trimmed(r.out).find(';'));
  if (r.exit_code != 0 || id.empty()) {
    fail(ErrorKind::kUnavailable, "sbatch refused the chunk tasks: " + trimmed(r.err.empty() ? r.out : r.err));
  }
  return id;
}

std::vector<ArrayTaskState> SlurmCli::tasks(const std::string& name) {
  const CommandResult r =
      run_slurm({"squeue", "--noheader", "--array", "--states=all", "--name=" + name, "--format=%F|%K|%T|%N|%r"});
  if (r.exit_code != 0) fail(ErrorKind::kUnavailable, "squeue failed: " + trimmed(r.err));
  std::vector<ArrayTaskState> out;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    const std::vector<std::string> f = split(line, '|');
    if (f.size() < 5) continue;
    ArrayTaskState t;
    t.job_id = f[0];
    try {
      t.index = std::stoi(f[1]);
    } catch (const std::exception&) {
      continue;  // a pending range ("3-5") not yet split: its tasks have not started
    }
    t.state = f[2];
    t.node = f[3] == "(null)" ? "" : f[3];
    t.reason = f[4] == "None" ? "" : f[4];
    out.push_back(t);
  }
  return out;
}

void SlurmCli::cancel(const std::string& job_id, int index) {
  run_slurm({"scancel", index < 0 ? job_id : job_id + "_" + std::to_string(index)});
}

std::map<std::string, std::string> SlurmCli::node_states(const std::string& partition) {
  std::vector<std::string> argv = {"sinfo", "--noheader", "--Node", "--format=%N|%T"};
  if (!partition.empty()) argv.push_back("--partition=" + partition);
  const CommandResult r = run_slurm(argv);
  if (r.exit_code != 0) fail(ErrorKind::kUnavailable, "sinfo failed: " + trimmed(r.err));
  std::map<std::string, std::string> states;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    const std::vector<std::string> f = split(line, '|');
    if (f.size() >= 2 && !f[1].empty()) states.emplace(f[0], f[1]);  // a node in several partitions: once
  }
  return states;
}

bool node_powered_down(const std::string& state) {
  return state.find("POWERED_DOWN") != std::string::npos || state.find("POWERING_DOWN") != std::string::npos ||
         (!state.empty() && (state.back() == '~' || state.back() == '%'));
}

std::vector<PartitionNodes> SlurmCli::partitions() {
  const CommandResult r = run_slurm({"sinfo", "--noheader", "--format=%R|%c|%G"});
  if (r.exit_code != 0) {
    const char* conf = std::getenv("SLURM_CONF");
    fail(ErrorKind::kUnavailable, "sinfo failed: " + trimmed(r.err) +
                                      (conf ? std::string(" (SLURM_CONF=") + conf + ")"
                                            : std::string(" (SLURM_CONF is not set: the Slurm tools then look for "
                                                          "/etc/slurm/slurm.conf or a DNS SRV record; export "
                                                          "SLURM_CONF=/path/to/slurm.conf)")));
  }
  std::vector<PartitionNodes> out;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    const std::vector<std::string> f = split(line, '|');
    if (f.size() < 3 || f[0].empty()) continue;
    PartitionNodes p;
    p.partition = f[0];
    p.cpus = std::atoi(f[1].c_str());  // "2", or "2+" when the partition's nodes differ
    p.gres = f[2] == "(null)" ? "" : f[2];
    out.push_back(p);
  }
  return out;
}

namespace {

// A GRES as "name[:type]:count" (a trailing "(S:0-1)" socket note dropped).
struct Gres {
  std::string name, type;
  int count = 1;
};
Gres parse_gres(std::string text) {
  text = text.substr(0, text.find('('));
  const std::vector<std::string> f = split(text, ':');
  Gres g;
  g.name = f.empty() ? "" : f[0];
  if (f.size() == 2) g.count = std::atoi(f[1].c_str());
  if (f.size() >= 3) g.type = f[1], g.count = std::atoi(f[2].c_str());
  return g;
}

// Whether nodes offering `offered` (comma-separated) can give a task `wanted`.
bool gres_fits(const std::string& wanted, const std::string& offered) {
  if (wanted.empty()) return true;
  const Gres w = parse_gres(wanted);
  for (const std::string& one : split(offered, ',')) {
    const Gres o = parse_gres(one);
    if (o.name == w.name && (w.type.empty() || w.type == o.type) && o.count >= w.count) return true;
  }
  return false;
}

}  // namespace

std::string class_mismatch(const std::string& name, const std::string& partition, const std::string& gres, int cores,
                           const std::vector<PartitionNodes>& partitions) {
  const std::string field = "the cluster file's class " + name + ": classes." + name + ".";
  std::vector<const PartitionNodes*> nodes;
  std::string known;
  for (const PartitionNodes& p : partitions) {
    if (p.partition == partition) nodes.push_back(&p);
    if (known.find(" " + p.partition + ",") == std::string::npos) known += " " + p.partition + ",";
  }
  if (nodes.empty()) {
    return field + "partition '" + partition + "' is not a partition of this cluster (sinfo lists:" +
           (known.empty() ? " none" : known.substr(0, known.size() - 1)) + "; is SLURM_CONF set?)";
  }
  int most_cpus = 0;
  std::string offered;
  for (const PartitionNodes* p : nodes) {
    if (p->cpus >= cores && gres_fits(gres, p->gres)) return "";
    most_cpus = std::max(most_cpus, p->cpus);
    offered += (offered.empty() ? "" : ", ") + (p->gres.empty() ? std::string("none") : p->gres);
  }
  if (most_cpus < cores) {
    return field + "cores is " + std::to_string(cores) + ", but the nodes of partition " + partition + " have at most " +
           std::to_string(most_cpus) + " CPUs";
  }
  return field + "gres '" + gres + "' is not offered by the nodes of partition " + partition + " (their GRES: " + offered +
         ")";
}

NodeCounts SlurmCli::nodes(const std::string& partition) {
  NodeCounts c;
  for (const auto& [node, state] : node_states(partition)) {
    ++c.total;
    if (node_powered_down(state)) {
      ++c.powered_down;
    } else if (state.find("POWERING_UP") != std::string::npos || state.back() == '#') {
      ++c.booting;
    } else if (state == "idle") {
      ++c.idle;
    }
  }
  return c;
}

namespace {

// A time field ("KEY=2026-12-07T13:01:02", the controller's local time) of scontrol's
// one-line node record, Unix seconds; 0 when absent or "None".
double node_time_field(const std::string& record, const std::string& key) {
  const auto at = record.find(" " + key + "=");
  if (at == std::string::npos) return 0;
  std::tm tm{};
  std::istringstream in(record.substr(at + key.size() + 2, 19));
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
  if (in.fail()) return 0;
  tm.tm_isdst = -1;
  return static_cast<double>(std::mktime(&tm));
}

}  // namespace

double SlurmCli::node_started_unix_s(const std::string& node) {
  const CommandResult r = run_slurm({"scontrol", "--oneliner", "show", "node", node});
  return r.exit_code == 0 ? node_time_field(r.out, "SlurmdStartTime") : 0;
}

NodeUse SlurmCli::node_use(const std::string& node) {
  const CommandResult r = run_slurm({"scontrol", "--oneliner", "show", "node", node});
  NodeUse use;
  if (r.exit_code != 0) return use;
  const auto state = r.out.find(" State=");
  const std::string flags = state == std::string::npos ? "" : r.out.substr(state, r.out.find(' ', state + 1) - state);
  use.elastic = flags.find("CLOUD") != std::string::npos;
  use.last_busy_unix_s = node_time_field(r.out, "LastBusyTime");
  return use;
}

double SlurmCli::suspend_time_s() {
  const CommandResult r = run_slurm({"scontrol", "show", "config"});
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("SuspendTime ", 0) != 0) continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) return -1;
    try {
      return std::stod(line.substr(eq + 1));  // "15 sec"; "NONE" is never
    } catch (const std::exception&) {
      return -1;
    }
  }
  return -1;
}

}  // namespace reelscale::exec
