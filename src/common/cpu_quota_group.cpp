// common/cpu_quota_group.cpp — making, setting and removing a CPU-quota cgroup.
#include "common/cpu_quota_group.h"

#include <unistd.h>

#include <cmath>
#include <fstream>

#include "common/error.h"

namespace reelscale {

namespace {

constexpr long kPeriodUs = 100000;

void write_control(const std::filesystem::path& file, const std::string& value) {
  std::ofstream out(file);
  out << value << std::flush;
  if (!out) fail(ErrorKind::kUnavailable, "cannot write '" + value + "' to " + file.string());
}

bool v2_has_cpu(const std::filesystem::path& root) {
  std::ifstream in(root / "cgroup.controllers");
  std::string word;
  while (in >> word) {
    if (word == "cpu") return true;
  }
  return false;
}

}  // namespace

CpuQuotaGroup::CpuQuotaGroup(const std::string& name, const std::filesystem::path& root) {
  const std::filesystem::path v1 = root / "cpu";
  if (std::filesystem::exists(v1 / "cpu.cfs_quota_us")) {
    if (access(v1.c_str(), W_OK) != 0) {
      fail(ErrorKind::kUnavailable, "cannot make a CPU cgroup: " + v1.string() + " is not writable (run as root)");
    }
    dir_ = v1 / name;
  } else if (v2_has_cpu(root)) {
    if (access(root.c_str(), W_OK) != 0) {
      fail(ErrorKind::kUnavailable, "cannot make a CPU cgroup: " + root.string() + " is not writable (run as root)");
    }
    write_control(root / "cgroup.subtree_control", "+cpu");
    dir_ = root / name;
    v2_ = true;
  } else {
    fail(ErrorKind::kUnavailable, "cannot make a CPU cgroup: no cgroup v1 `cpu` or v2 `cpu` controller under " +
                                      root.string());
  }
  std::error_code ec;
  std::filesystem::create_directory(dir_, ec);
  if (ec) fail(ErrorKind::kUnavailable, "cannot make the CPU cgroup " + dir_.string() + ": " + ec.message());
}

CpuQuotaGroup::~CpuQuotaGroup() {
  std::error_code ec;
  std::filesystem::remove(dir_, ec);  // a cgroup folder goes with rmdir once its programs have ended
}

void CpuQuotaGroup::set_cores(double cores) {
  if (!(cores > 0)) fail(ErrorKind::kBadInput, "a CPU quota must be more than 0 cores");
  const long quota = std::lround(cores * kPeriodUs);
  if (v2_) {
    write_control(dir_ / "cpu.max", std::to_string(quota) + " " + std::to_string(kPeriodUs));
  } else {
    write_control(dir_ / "cpu.cfs_period_us", std::to_string(kPeriodUs));
    write_control(dir_ / "cpu.cfs_quota_us", std::to_string(quota));
  }
}

std::vector<std::string> CpuQuotaGroup::inside(const std::vector<std::string>& argv) const {
  const std::filesystem::path tasks = dir_ / (v2_ ? "cgroup.procs" : "tasks");
  std::vector<std::string> out = {"sh", "-c", "echo $$ > \"$0\" && shift && exec \"$@\"", tasks.string(), "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

}  // namespace reelscale
