// common/cpu_quota_group.h — a CPU cgroup this process makes, holds and removes (RAII):
// a quota of some cores for the programs it starts inside, so that one machine can be
// measured as a smaller one. cgroup v1's `cpu` controller, or v2's `cpu.max`; making one
// needs write access to the hierarchy (root has it).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace reelscale {

class CpuQuotaGroup {
 public:
  // Makes the group `name` under the CPU hierarchy; Error(kUnavailable) says why it cannot.
  explicit CpuQuotaGroup(const std::string& name, const std::filesystem::path& root = "/sys/fs/cgroup");
  ~CpuQuotaGroup();
  CpuQuotaGroup(const CpuQuotaGroup&) = delete;
  CpuQuotaGroup& operator=(const CpuQuotaGroup&) = delete;

  // Programs in the group get at most `cores` cores (a CFS quota over a 100 ms period).
  void set_cores(double cores);
  // The argument vector that runs `argv` inside the group: a shell joins it, then execs.
  std::vector<std::string> inside(const std::vector<std::string>& argv) const;
  const std::filesystem::path& path() const { return dir_; }

 private:
  std::filesystem::path dir_;
  bool v2_ = false;
};

}  // namespace reelscale
