// common/cores.cpp — core sharing between slots, and the CPU quota a cgroup sets.
#include "common/cores.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace reelscale {

namespace {

// The quota one cgroup folder sets, in cores (0: none). v1: cpu.cfs_quota_us over
// cpu.cfs_period_us (-1: none); v2: cpu.max "QUOTA PERIOD" ("max": none).
double folder_quota(const std::filesystem::path& folder) {
  double quota = -1, period = 0;
  if (std::ifstream v2(folder / "cpu.max"); v2) {
    std::string q;
    if (!(v2 >> q >> period) || q == "max") return 0;
    quota = std::atof(q.c_str());
  } else {
    std::ifstream q(folder / "cpu.cfs_quota_us"), p(folder / "cpu.cfs_period_us");
    if (!(q >> quota) || !(p >> period)) return 0;
  }
  return quota > 0 && period > 0 ? quota / period : 0;
}

// The tightest quota from `folder` up to `top` (inclusive).
double tightest_quota(std::filesystem::path folder, const std::filesystem::path& top) {
  double tightest = 0;
  for (;;) {
    const double q = folder_quota(folder);
    if (q > 0 && (tightest == 0 || q < tightest)) tightest = q;
    if (folder == top || !folder.has_parent_path() || folder.parent_path() == folder) return tightest;
    folder = folder.parent_path();
  }
}

// Where the cpu controller of a /proc/self/cgroup line is mounted, under `fs`.
std::filesystem::path controller_mount(const std::filesystem::path& fs, const std::string& controllers) {
  if (controllers.empty()) return fs / "sys/fs/cgroup";  // v2: the unified hierarchy
  for (const std::string name : {"cpu", "cpu,cpuacct", "cpuacct,cpu"}) {
    if (std::filesystem::exists(fs / "sys/fs/cgroup" / name / "cpu.cfs_quota_us")) return fs / "sys/fs/cgroup" / name;
  }
  return {};
}

// Whether a v1 controller list ("cpu,cpuacct") holds the cpu controller.
bool has_cpu_controller(const std::string& controllers) {
  std::istringstream names(controllers);
  std::string name;
  while (std::getline(names, name, ',')) {
    if (name == "cpu") return true;
  }
  return false;
}

}  // namespace

double cgroup_cpu_quota(const std::filesystem::path& root) {
  std::ifstream lines(root / "proc/self/cgroup");
  std::string line;
  double tightest = 0;
  while (std::getline(lines, line)) {
    // "ID:CONTROLLERS:PATH"; v2 is "0::PATH".
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    if (!controllers.empty() && !has_cpu_controller(controllers)) continue;
    const std::filesystem::path mount = controller_mount(root, controllers);
    if (mount.empty()) continue;
    const std::string path = line.substr(b + 1);
    const std::filesystem::path folder = mount / std::filesystem::path(path).relative_path();
    const double q = tightest_quota(folder, mount);
    if (q > 0 && (tightest == 0 || q < tightest)) tightest = q;
  }
  return tightest;
}

int machine_cores() {
  cpu_set_t set;
  int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  if (sched_getaffinity(0, sizeof set, &set) == 0) cores = std::max(1, CPU_COUNT(&set));
  if (const double quota = cgroup_cpu_quota(); quota > 0) cores = std::min(cores, static_cast<int>(std::ceil(quota - 1e-9)));
  return std::max(1, cores);
}

int threads_per_slot(int slots, int cores) { return std::max(1, cores / std::max(1, slots)); }

int slots_for(int chunks, int requested, int cores) {
  return std::max(1, std::min(std::max(1, chunks), requested > 0 ? requested : cores));
}

}  // namespace reelscale
