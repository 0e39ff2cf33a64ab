// tests/exec/cores_test.cpp — the CPU quota a process's cgroups set (common/cores.h), read
// from made-up cgroup trees (v1 and v2, a quota on a parent folder, none), and this
// process's own core count bounded by a real v1 quota group where the host lets us make one.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>

#include "common/cores.h"
#include "common/cpu_quota_group.h"
#include "common/error.h"
#include "common/subprocess.h"
#include "test_media.h"

namespace fs = std::filesystem;
namespace rt = reelscale::testing;

namespace {

void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

TEST(CgroupQuota, V1QuotaOfTheProcesssOwnGroupInCores) {
  rt::TempDir root;
  write(root / "proc/self/cgroup", "4:memory:/a\n2:cpu,cpuacct:/nodes/gpu1\n0::/\n");
  write(root / "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
  write(root / "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  write(root / "sys/fs/cgroup/cpu,cpuacct/nodes/gpu1/cpu.cfs_quota_us", "20000\n");
  write(root / "sys/fs/cgroup/cpu,cpuacct/nodes/gpu1/cpu.cfs_period_us", "100000\n");
  EXPECT_DOUBLE_EQ(reelscale::cgroup_cpu_quota(root.path()), 0.2);
}

TEST(CgroupQuota, ATighterQuotaOnAParentFolderIsTheOneThatHolds) {
  rt::TempDir root;
  write(root / "proc/self/cgroup", "1:cpu:/outer/inner\n");
  write(root / "sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1\n");
  write(root / "sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n");
  write(root / "sys/fs/cgroup/cpu/outer/cpu.cfs_quota_us", "50000\n");
  write(root / "sys/fs/cgroup/cpu/outer/cpu.cfs_period_us", "100000\n");
  write(root / "sys/fs/cgroup/cpu/outer/inner/cpu.cfs_quota_us", "150000\n");
  write(root / "sys/fs/cgroup/cpu/outer/inner/cpu.cfs_period_us", "100000\n");
  EXPECT_DOUBLE_EQ(reelscale::cgroup_cpu_quota(root.path()), 0.5);
}

TEST(CgroupQuota, V2CpuMaxAndItsUnlimitedForm) {
  rt::TempDir root;
  write(root / "proc/self/cgroup", "0::/node/cloud3\n");
  write(root / "sys/fs/cgroup/node/cpu.max", "max 100000\n");
  write(root / "sys/fs/cgroup/node/cloud3/cpu.max", "25000 100000\n");
  EXPECT_DOUBLE_EQ(reelscale::cgroup_cpu_quota(root.path()), 0.25);
  write(root / "sys/fs/cgroup/node/cloud3/cpu.max", "max 100000\n");
  EXPECT_DOUBLE_EQ(reelscale::cgroup_cpu_quota(root.path()), 0.0);
}

TEST(CgroupQuota, NoCgroupFileMeansNoQuota) {
  rt::TempDir root;
  EXPECT_DOUBLE_EQ(reelscale::cgroup_cpu_quota(root.path()), 0.0);
}

// A child process in a real 0.5-core v1 group counts one core (the host has more, or the
// same: the quota rounds up to 1 either way, so it is exactly 1).
TEST(CgroupQuota, AProcessInARealQuotaGroupCountsItsShareRoundedUp) {
  const fs::path v1 = "/sys/fs/cgroup/cpu";
  if (geteuid() != 0 || !fs::exists(v1 / "cpu.cfs_quota_us") || access(v1.c_str(), W_OK) != 0) {
    GTEST_SKIP() << "no writable cgroup v1 cpu controller here";
  }
  const fs::path group = v1 / ("reelscale-cores-test-" + std::to_string(getpid()));
  fs::create_directory(group);
  write(group / "cpu.cfs_period_us", "100000\n");
  write(group / "cpu.cfs_quota_us", "50000\n");
  const auto r = rt::run_command("sh -c 'echo $$ > " + (group / "tasks").string() + " && exec " +
                                 std::string(REELSCALE_BINARY) + " cores'");
  std::error_code ignored;
  fs::remove(group, ignored);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("cores 1 (quota 0.5)"), std::string::npos) << r.output;
}

// The group the profiler makes: the quota it sets holds for the program it starts inside,
// and the folder is gone with the object.
TEST(CpuQuotaGroup, RunsAProgramInsideItsQuotaAndRemovesItself) {
  if (geteuid() != 0 || access("/sys/fs/cgroup", W_OK) != 0) GTEST_SKIP() << "not root: no cgroup can be made";
  fs::path made;
  {
    reelscale::CpuQuotaGroup group("reelscale-quota-group-test-" + std::to_string(getpid()));
    made = group.path();
    ASSERT_TRUE(fs::is_directory(made));
    group.set_cores(0.5);
    const reelscale::CommandResult r = reelscale::run_command(group.inside({REELSCALE_BINARY, "cores"}));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("cores 1 (quota 0.5)"), std::string::npos) << r.out;
  }
  EXPECT_FALSE(fs::exists(made));
}

TEST(CpuQuotaGroup, AHierarchyWithoutACpuControllerIsRefusedNamingIt) {
  rt::TempDir root;
  try {
    reelscale::CpuQuotaGroup group("x", root.path());
    FAIL() << "made a group without a CPU controller";
  } catch (const reelscale::Error& e) {
    EXPECT_EQ(e.kind(), reelscale::ErrorKind::kUnavailable);
    EXPECT_NE(std::string(e.what()).find("no cgroup v1 `cpu` or v2 `cpu` controller under " + root.path().string()),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
