// tests/e2e/slurm_test.cpp — whole jobs through `reelscale run --executor slurm` on a real
// Slurm cluster on loopback (scripts/slurm-cluster.sh: munge, slurmctld, two always-on and
// two elastic nodes, each its own slurmd), started once for this binary. Where the host lets
// the script make CPU cgroups (root), every node is a quota node of one core: its slurmd and
// its tasks in a cgroup of their own. Faults are the
// cluster's own: a chunk process killed on its node, a task that hangs past its time
// limit, a run interrupted with Ctrl-C. A wrapper named as the cluster file's binary
// makes a chosen task misbehave; every other task runs the real binary.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <tuple>
#include <chrono>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "test_media.h"
#include "test_services.h"

namespace fs = std::filesystem;
namespace rt = reelscale::testing;
using nlohmann::json;

namespace {

const std::string kBinary = REELSCALE_BINARY;
const std::string kClusterScript = std::string(REELSCALE_SOURCE_DIR) + "/scripts/slurm-cluster.sh";

// Whether this host lets us make CPU cgroups: root, and a writable cgroup v1 cpu controller
// or a v2 hierarchy with the cpu controller.
bool quota_nodes_possible() {
  if (geteuid() != 0) return false;
  if (fs::exists("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")) return access("/sys/fs/cgroup/cpu", W_OK) == 0;
  std::ifstream controllers("/sys/fs/cgroup/cgroup.controllers");
  const std::string text((std::istreambuf_iterator<char>(controllers)), std::istreambuf_iterator<char>());
  return text.find("cpu") != std::string::npos;
}

class SlurmEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    dir = std::make_unique<rt::TempDir>();
    const std::string quota = quota_nodes_possible() ? " --node-cpus 1" : "";
    const auto r = rt::run_command(kClusterScript + " start " + dir->path().string() + " --boot-s 3 --suspend-s 15" + quota);
    ASSERT_EQ(r.status, 0) << r.output;
    ::setenv("SLURM_CONF", (dir->path() / "slurm.conf").c_str(), 1);
  }
  void TearDown() override {
    rt::run_command(kClusterScript + " stop " + dir->path().string());
    dir.reset();
  }
  static inline std::unique_ptr<rt::TempDir> dir;
};
[[maybe_unused]] auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new SlurmEnvironment);

using rt::iota;

// A barcode clip and a framing job that keeps its pictures, so frames can be read back.
struct Job {
  rt::TempDir dir;
  rt::ClipSpec spec;
  std::string spec_path, output;

  explicit Job(int frames) {
    spec.width = 320;
    spec.height = 180;
    spec.frames = frames;
    spec.keyint = 30;
    rt::make_clip(dir / "in.mp4", spec);
    output = (dir / "out.mp4").string();
    const json job = {{"endpoint", "framing"}, {"input", (dir / "in.mp4").string()}, {"output", output},
                      {"output_width", spec.width}, {"output_height", spec.height}, {"fps", 30},
                      {"preset", "ultrafast"},
                      {"crop_keyframes", json::array({{{"time", 0}, {"x", 0}, {"y", 0}, {"width", spec.width},
                                                       {"height", spec.height}}})}};
    spec_path = (dir / "job.json").string();
    std::ofstream(spec_path) << job.dump();
  }
  std::vector<int64_t> output_indices() const {
    return rt::read_indices(rt::decode_gray(output), spec.width, spec.height);
  }
  // Files the run left beside the output (chunks, task files, outcomes).
  std::vector<std::string> leftovers() const {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir.path())) {
      const std::string name = e.path().filename().string();
      if (name != "in.mp4" && name != "out.mp4" && name != "job.json" && name != "cluster.json" && name != "wrapper.sh" &&
          name.find(".log") == std::string::npos) {
        out.push_back(e.path().string());
      }
    }
    return out;
  }
  // A cluster file for one class on `partition`; `wrapper`: a shell script run in place of
  // the binary (it gets the binary's arguments; "$REELSCALE" runs the real one).
  std::string cluster(const std::string& partition, const std::string& wrapper = "") const {
    json c = {{"classes", {{"T4", {{"partition", partition}, {"gres", "gpu:1"}, {"cores", 1}, {"usd_per_hour", 0.53}}}}},
              {"poll_s", 0.2}, {"task_log", (dir / "task-%A_%a.log").string()}};
    if (!wrapper.empty()) {
      const fs::path script = dir / "wrapper.sh";
      std::ofstream(script) << "#!/bin/sh\nREELSCALE='" << kBinary << "'\n" << wrapper << "\nexec \"$REELSCALE\" \"$@\"\n";
      fs::permissions(script, fs::perms::owner_all);
      c["binary"] = script.string();
    }
    const std::string path = (dir / "cluster.json").string();
    std::ofstream(path) << c.dump();
    return path;
  }
};

json run_json(const std::string& args, int* status = nullptr) {
  const auto r = rt::run_command(kBinary + " run " + args + " --json", false);
  if (status) *status = r.status;
  if (r.status != 0) return json{{"exit", r.status}, {"output", r.output}};
  return json::parse(r.output);
}

// Tasks of reelscale runs Slurm has in these states.
int live_tasks(const std::string& states = "PENDING,CONFIGURING,RUNNING,COMPLETING") {
  const auto r = rt::run_command("squeue --noheader --array --states=" + states + " --format=%j", false);
  int n = 0;
  std::istringstream lines(r.output);
  std::string line;
  while (std::getline(lines, line)) n += line.rfind("reelscale-", 0) == 0 ? 1 : 0;
  return n;
}

// Waits until Slurm has powered the elastic nodes down (SuspendTime after their last task).
bool elastic_nodes_down(double timeout_s = 90) {
  for (int i = 0; i < timeout_s * 5; ++i) {
    const auto r = rt::run_command("sinfo --noheader --Node --partition=elastic '--format=%N|%t'", false);
    std::istringstream lines(r.output);
    std::string line;
    int up = 0, seen = 0;
    while (std::getline(lines, line)) {
      ++seen;
      up += line.back() == '~' ? 0 : 1;
    }
    if (seen > 0 && up == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

TEST(Slurm, ElasticNodesStartColdWithTheirBootTimeAndAJobRightAfterFindsThemWarm) {
  ASSERT_TRUE(elastic_nodes_down());
  Job job(60);
  const std::string cluster = job.cluster("elastic");
  const json first = run_json(job.spec_path + " --executor slurm --cluster " + cluster + " --chunks 2 --no-speculate");
  ASSERT_FALSE(first.contains("exit")) << first.dump();
  EXPECT_EQ(job.output_indices(), iota(60));
  for (const auto& c : first["chunk_results"]) {
    EXPECT_EQ(c["start"], "cold") << c.dump();
    // The cluster boots a node in 3 s (slurmd's start time has whole seconds).
    EXPECT_GE(c["timings_s"]["boot"].get<double>(), 1.5) << c.dump();
    EXPECT_LE(c["timings_s"]["boot"].get<double>(), 6.0) << c.dump();
    EXPECT_EQ(c["worker"].get<std::string>().rfind("cloud", 0), 0u) << c.dump();
  }
  const json second = run_json(job.spec_path + " --executor slurm --cluster " + cluster + " --chunks 2 --no-speculate");
  ASSERT_FALSE(second.contains("exit")) << second.dump();
  for (const auto& c : second["chunk_results"]) {
    EXPECT_EQ(c["start"], "warm") << c.dump();
    EXPECT_EQ(c["timings_s"]["boot"].get<double>(), 0.0);
  }
}

TEST(Slurm, AJobOnTheAlwaysOnNodesIsFrameExactAndRanOnBothNodes) {
  Job job(120);
  const json r = run_json(job.spec_path + " --executor slurm --cluster " + job.cluster("always") + " --chunks 2");
  ASSERT_FALSE(r.contains("exit")) << r.dump();
  EXPECT_EQ(r["outcome"], "done");
  EXPECT_EQ(r["executor"].get<std::string>().rfind("slurm", 0), 0u) << r["executor"];
  EXPECT_EQ(job.output_indices(), iota(120));
  std::set<std::string> nodes;
  for (const auto& c : r["chunk_results"]) nodes.insert(c["worker"].get<std::string>());
  EXPECT_EQ(nodes, (std::set<std::string>{"gpu1", "gpu2"})) << "one GPU each: the two tasks ran side by side";
  // Billed node-seconds: each chunk's time on its node, at least its busy time; the queue
  // wait, which held no node, is not billed.
  double busy = 0, billed = 0;
  for (const auto& c : r["chunk_results"]) {
    busy += c["timings_s"]["task"].get<double>();
    billed += c["billed_seconds"].get<double>();
    EXPECT_GE(c["billed_seconds"].get<double>(), c["timings_s"]["task"].get<double>()) << c.dump();
  }
  EXPECT_NEAR(r["billed_seconds"].get<double>(), billed, 1e-6);
  EXPECT_NEAR(r["cost_usd"].get<double>(), billed * 0.53 / 3600, 1e-9);
  EXPECT_GT(busy, 0);
  EXPECT_NE(r["billing_note"].get<std::string>().find("`reelscale run` ends before that"), std::string::npos)
      << "run says its bill leaves out the idle tails, and where to find them";
  EXPECT_TRUE(job.leftovers().empty()) << job.leftovers().front();
}

TEST(Slurm, AChunkKilledOnItsNodeRunsAgainAndTheOutputIsFrameExact) {
  Job job(90);
  // The first wave's chunk 1 dies as a killed process would (no outcome stored).
  const std::string cluster = job.cluster("always", "case \"$2\" in *slurm-1-task-1.json) kill -9 $$ ;; esac");
  const json r = run_json(job.spec_path + " --executor slurm --cluster " + cluster + " --chunks 3 --no-speculate");
  ASSERT_FALSE(r.contains("exit")) << r.dump();
  EXPECT_EQ(job.output_indices(), iota(90));
  EXPECT_EQ(r["chunk_results"][1]["attempts"], 2);
  EXPECT_EQ(r["chunk_results"][0]["attempts"], 1);
  EXPECT_TRUE(job.leftovers().empty()) << job.leftovers().front();
}

TEST(Slurm, ATaskThatFailsEveryTimeFailsTheJobClearlyWithinItsBudget) {
  Job job(60);
  const std::string cluster = job.cluster("always", "case \"$2\" in *task-0.json) exit 3 ;; esac");
  const json r = run_json(job.spec_path + " --executor slurm --cluster " + cluster + " --chunks 2 --no-speculate --max-attempts 2");
  ASSERT_TRUE(r.contains("exit")) << r.dump();
  const std::string out = r["output"];
  EXPECT_NE(out.find("chunk 0 failed after 2 attempt(s)"), std::string::npos) << out;
  EXPECT_NE(out.find("FAILED"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(job.output));
  EXPECT_TRUE(job.leftovers().empty()) << job.leftovers().front();
}

TEST(Slurm, ATaskThatHangsEndsByItsTimeLimitAndRunsAgain) {
  Job job(60);
  // The first wave's chunk 0 hangs; the task deadline (30 s) makes Slurm's limit 1 minute.
  const std::string cluster = job.cluster("always", "case \"$2\" in *slurm-1-task-0.json) sleep 600 ;; esac");
  const json r =
      run_json(job.spec_path + " --executor slurm --cluster " + cluster + " --chunks 2 --no-speculate --task-deadline 30");
  ASSERT_FALSE(r.contains("exit")) << r.dump();
  EXPECT_EQ(job.output_indices(), iota(60));
  EXPECT_EQ(r["chunk_results"][0]["attempts"], 2);
  EXPECT_TRUE(job.leftovers().empty()) << job.leftovers().front();
}

// Where a running task of a reelscale run is: its own job id and its node (empty when none runs yet).
std::pair<std::string, std::string> task_running(const std::string& task_index) {
  const auto r = rt::run_command("squeue --noheader --array --states=RUNNING '--format=%j|%K|%A|%N'", false);
  std::istringstream lines(r.output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("reelscale-", 0) != 0) continue;
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string x; std::getline(fields, x, '|');) f.push_back(x);
    if (f.size() == 4 && f[1] == task_index) return {f[2], f[3]};
  }
  return {};
}

TEST(Slurm, ANodeThatDiesMidTaskFailsItsTaskAndTheChunkRunsAgainElsewhere) {
  Job job(60);
  // The first wave's chunk 0 runs long enough to lose its node under it.
  const std::string cluster = job.cluster("always", "case \"$2\" in *slurm-1-task-0.json) sleep 120 ;; esac");
  const fs::path dir = SlurmEnvironment::dir->path();
  std::atomic<bool> killed{false};
  std::string victim;
  std::thread killer([&] {
    std::string job_id;
    for (int i = 0; i < 300 && victim.empty(); ++i) {
      std::tie(job_id, victim) = task_running("0");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (victim.empty()) return;
    // The node dies with everything on it (SIGKILL, no goodbye): its slurmd, the task's
    // step daemon (which would otherwise report the task's end) and the task.
    rt::run_command("pkill -9 -f -- 'slurmd -f " + (dir / "slurm.conf").string() + " -N " + victim + "$'; " +
                        "pkill -9 -f -- 'slurmstepd: \\[" + job_id + "\\.'; pkill -9 -f -- 'slurm-1-task-0.json'",
                    false);
    killed = true;
  });
  const json r = run_json(job.spec_path + " --executor slurm --cluster " + cluster + " --chunks 2 --no-speculate");
  killer.join();
  // Bring the node back for the tests after this one (ReturnToService=2 takes it back).
  if (!victim.empty()) rt::run_command((dir / "start-node.sh").string() + " " + victim + " 0 >/dev/null 2>&1 &", false);
  ASSERT_TRUE(killed.load());
  ASSERT_FALSE(r.contains("exit")) << r.dump();
  EXPECT_EQ(job.output_indices(), iota(60));
  EXPECT_EQ(r["chunk_results"][0]["attempts"], 2);
  EXPECT_NE(r["chunk_results"][0]["worker"], victim) << "the dead node is down: the chunk ran on the other one";
  std::ifstream completions(dir / "jobcomp.txt");
  const std::string finished((std::istreambuf_iterator<char>(completions)), std::istreambuf_iterator<char>());
  EXPECT_NE(finished.find("JobState=NODE_FAIL"), std::string::npos) << "Slurm ended the first copy for its node\n" << finished;
  EXPECT_TRUE(job.leftovers().empty()) << job.leftovers().front();
  for (int i = 0; i < 300; ++i) {
    const auto state = rt::run_command("sinfo --noheader --Node --nodes=" + victim + " --format=%t", false);
    if (state.output.rfind("idle", 0) == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

TEST(Slurm, CtrlCCancelsTheArrayAndLeavesNothing) {
  Job job(60);
  const std::string cluster = job.cluster("always", "sleep 600");
  rt::ChildProcess run({kBinary, "run", job.spec_path, "--executor", "slurm", "--cluster", cluster, "--chunks", "2"},
                       (job.dir / "run.log").string());
  for (int i = 0; i < 200 && live_tasks("RUNNING") < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(live_tasks("RUNNING"), 2) << "both tasks running before the interrupt";
  run.kill_now(SIGINT);
  EXPECT_NE(run.wait(), 0);
  for (int i = 0; i < 100 && live_tasks() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(live_tasks(), 0) << "the array was cancelled";
  EXPECT_FALSE(fs::exists(job.output));
  EXPECT_TRUE(job.leftovers().empty()) << job.leftovers().front();
}

// The cluster file `slurm-cluster.sh start` wrote fits the cluster it started, as written;
// a class from the example file (partition t4, 4 cores, typed GRES) fails before any chunk
// is sent, naming the class and the field, and leaves nothing (issue 31).
TEST(Slurm, TheStartedClustersOwnFileRunsAndAClassThatDoesNotFitIsNamedBeforeDispatch) {
  Job job(30);
  const fs::path own = SlurmEnvironment::dir->path() / "cluster.json";
  ASSERT_TRUE(fs::exists(own));
  const json done = run_json(job.spec_path + " --executor slurm --cluster " + own.string() + " --chunks 1");
  ASSERT_EQ(done.value("outcome", ""), "done") << done.dump();
  EXPECT_EQ(job.output_indices(), iota(30));
  fs::remove(job.output);
  std::ofstream(job.dir / "t4.json")
      << R"({"classes": {"T4": {"partition": "t4", "gres": "gpu:t4:1", "cores": 4, "usd_per_hour": 0.526}}})";
  const auto refused = rt::run_command(kBinary + " run " + job.spec_path + " --executor slurm --cluster " +
                                       (job.dir / "t4.json").string() + " 2>&1", false);
  EXPECT_EQ(refused.status, 2) << refused.output;
  EXPECT_NE(refused.output.find("class T4: classes.T4.partition 't4' is not a partition of this cluster"), std::string::npos)
      << refused.output;
  EXPECT_FALSE(fs::exists(job.output));
  const std::vector<std::string> left = job.leftovers();
  EXPECT_TRUE(std::all_of(left.begin(), left.end(), [](const std::string& f) { return f.ends_with("t4.json"); }))
      << "nothing was sent: " << left.front();
}

// A quota node is a machine of its own size: the task's processes run in its node's cgroup,
// under its quota, and reelscale there counts the node's share (rounded up), not the host's
// cores; `stop` removes the cgroups (checked on a cluster of its own).
TEST(SlurmQuota, ATaskRunsInItsNodesCgroupOnItsShareAndStopRemovesTheGroups) {
  if (!quota_nodes_possible()) GTEST_SKIP() << "no CPU cgroups here";
  Job job(30);
  const fs::path seen = job.dir / "seen.log";
  const std::string cluster =
      job.cluster("always", "grep -E ':cpu[,:]|^0::' /proc/self/cgroup >> '" + seen.string() + "'; \"$REELSCALE\" cores >> '" +
                                seen.string() + "'");
  const json r = run_json(job.spec_path + " --executor slurm --cluster " + cluster + " --chunks 1");
  ASSERT_EQ(r.value("outcome", ""), "done") << r.dump();
  std::ifstream in(seen);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string node = r["chunk_results"][0]["worker"];
  EXPECT_NE(text.find("reelscale-nodes-"), std::string::npos) << text;
  EXPECT_NE(text.find("/" + node + "\n"), std::string::npos) << "the task ran in its node's group: " << text;
  EXPECT_NE(text.find("cores 1 (quota 1)"), std::string::npos) << text;
  std::ifstream groups(SlurmEnvironment::dir->path() / "cgroups");
  std::string top;
  ASSERT_TRUE(std::getline(groups, top));
  std::ifstream quota(fs::path(top) / node / (fs::exists(fs::path(top) / node / "cpu.max") ? "cpu.max" : "cpu.cfs_quota_us"));
  std::string value;
  quota >> value;
  EXPECT_EQ(value, "100000") << "one core over a 100 ms period";

  // A cluster of its own, with 0.5-core nodes, started and stopped: its groups go with it.
  rt::TempDir other;
  const auto started = rt::run_command(kClusterScript + " start " + other.path().string() +
                                       " --always 1 --elastic 0 --node-cpus 0.5 --node-period-ms 20");
  ASSERT_EQ(started.status, 0) << started.output;
  std::ifstream other_groups(other / "cgroups");
  std::string other_top;
  ASSERT_TRUE(std::getline(other_groups, other_top));
  EXPECT_TRUE(fs::exists(fs::path(other_top) / "gpu1"));
  std::ifstream conf(other / "slurm.conf");
  const std::string conf_text((std::istreambuf_iterator<char>(conf)), std::istreambuf_iterator<char>());
  EXPECT_NE(conf_text.find("NodeName=gpu1 NodeHostname=localhost NodeAddr=127.0.0.1"), std::string::npos);
  EXPECT_NE(conf_text.find("CPUs=1 "), std::string::npos) << "a 0.5-core node declares one CPU";
  rt::run_command(kClusterScript + " stop " + other.path().string());
  EXPECT_FALSE(fs::exists(other_top)) << other_top;
}

// A class profiled on its node (`profile --cluster`): its cells say the node and its cores,
// and planning on the cluster with them is quiet, while the host's built-in figures standing
// for the class are named as such (issue 30).
TEST(SlurmQuota, AClassProfiledOnItsNodeIsMarkedSoAndHostFiguresStandingForItAreNamed) {
  Job job(30);
  const std::string cluster = job.cluster("always");
  const fs::path out = job.dir / "node-profile";
  const auto r = rt::run_command(kBinary + " profile --cluster " + cluster + " --hardware T4 --quick --lengths 1 --ai-frames 2 --out " +
                                 out.string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("profile of class T4 measured on node gpu"), std::string::npos) << r.output;
  std::ifstream in(out / "profile.json");
  const json profile = json::parse(in);
  for (const std::string endpoint : {"framing", "framing_ai", "overlay"}) {
    const json& cell = profile["endpoints"][endpoint]["T4"];
    EXPECT_EQ(cell["measured_on"]["class"], "T4") << cell.dump();
    EXPECT_EQ(cell["measured_on"]["node"].get<std::string>().rfind("gpu", 0), 0u) << cell.dump();
    EXPECT_EQ(cell["measured_on"]["cores"], 1) << "the task's cores, not the host's: " << cell.dump();
    EXPECT_TRUE(cell.contains("stages")) << cell.dump();
    EXPECT_NE(cell["warm_start_s"]["source"].get<std::string>().find("dispatch"), std::string::npos) << cell.dump();
  }
  const std::string plan_args = " plan --cluster " + cluster + " --endpoint framing --length 2 --json";
  // Standard error alone (the plan's JSON goes to /dev/null).
  const auto quiet =
      rt::run_command(kBinary + plan_args + " --profile " + (out / "profile.json").string() + " 2>&1 >/dev/null", false);
  EXPECT_EQ(quiet.status, 0) << quiet.output;
  EXPECT_EQ(quiet.output, "") << "measured on a node of the class: nothing to say";
  const auto named = rt::run_command(kBinary + plan_args + " 2>&1 >/dev/null", false);
  EXPECT_NE(named.output.find("were not measured on a node of class T4"), std::string::npos) << named.output;
  EXPECT_NE(named.output.find("reelscale profile --cluster"), std::string::npos) << named.output;
}

// `reelscale serve --executor slurm` over the job's folder, and an authorised client.
struct SlurmService {
  static constexpr const char* kToken = "slurm-test-token-0123456789";
  std::unique_ptr<rt::ChildProcess> process;
  std::string url;

  SlurmService(const Job& job, const std::string& cluster) {
    std::ofstream(job.dir / "token") << kToken << "\n";
    const int port = rt::free_port();
    url = "http://127.0.0.1:" + std::to_string(port);
    process = std::make_unique<rt::ChildProcess>(
        std::vector<std::string>{kBinary, "serve", "--listen", "127.0.0.1:" + std::to_string(port), "--db",
                                 (job.dir / "jobs.db").string(), "--token-file", (job.dir / "token").string(), "--allow",
                                 job.dir.path().string(), "--executor", "slurm", "--cluster", cluster},
        (job.dir / "serve.log").string());
    EXPECT_TRUE(rt::wait_for_http(url + "/readyz", 30));
  }
  httplib::Client client() const {
    httplib::Client c(url);
    c.set_bearer_token_auth(kToken);
    c.set_read_timeout(30, 0);
    return c;
  }
  json submit(const json& spec) {
    auto res = client().Post("/v1/jobs", spec.dump(), "application/json");
    EXPECT_TRUE(res && res->status == 202) << (res ? res->body : "no answer");
    return res ? json::parse(res->body) : json();
  }
  json job(const std::string& id) {
    auto res = client().Get("/v1/jobs/" + id);
    return res && res->status == 200 ? json::parse(res->body) : json();
  }
  // The job once an idle charge reached its record (or after 10 s, as it is then).
  json wait_for_idle_charge(const std::string& id) {
    json j;
    for (int i = 0; i < 100; ++i) {
      j = job(id);
      if (j["record"].value("idle_billed_seconds", 0.0) > 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return j;
  }
  json wait(const std::string& id) {
    for (int i = 0; i < 600; ++i) {
      const json j = job(id);
      const std::string state = j.value("state", "");
      if (state == "done" || state == "failed" || state == "cancelled") return j;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return job(id);
  }
};

json spec_of(const Job& job, int chunks) {
  std::ifstream in(job.spec_path);
  json spec = json::parse(in);
  spec["chunks"] = chunks;
  return spec;
}

TEST(SlurmServe, PlansWithTheIdleNodesItSeesAndRunsFrameExact) {
  ASSERT_TRUE(elastic_nodes_down());
  Job job(120);
  SlurmService service(job, job.cluster("gpu"));
  const json accepted = service.submit(spec_of(job, 4));
  // Four chunks on the whole partition: the two always-on nodes are up and idle (warm),
  // the two elastic ones are powered down.
  EXPECT_EQ(accepted["plan"]["warm_chunks"], 2) << accepted.dump();
  // The cluster's SuspendTime (15 s here) is the scale-down window the plan charges, on its class.
  auto plan = service.client().Get("/v1/plan?endpoint=framing&length=4&width=320&height=180");
  ASSERT_TRUE(plan && plan->status == 200) << (plan ? plan->body : "no answer");
  const json planned = json::parse(plan->body);
  EXPECT_EQ(planned["hardware"], "T4");
  EXPECT_NE(planned["reason"].get<std::string>().find("a 15 s idle tail"), std::string::npos) << planned["reason"];
  const json done = service.wait(accepted["id"]);
  ASSERT_EQ(done["state"], "done") << done.dump();
  EXPECT_EQ(job.output_indices(), iota(120));
  // The cold starts the record holds are the ones /metrics counts.
  int cold = 0;
  for (const auto& c : done["record"]["chunk_results"]) cold += c["start"] == "cold" ? 1 : 0;
  auto metrics = service.client().Get("/metrics");
  ASSERT_TRUE(metrics && metrics->status == 200);
  const std::string line = "reelscale_starts_total{hardware=\"T4\",kind=\"cold\"} " + std::to_string(cold);
  if (cold > 0) {
    EXPECT_NE(metrics->body.find(line), std::string::npos) << line << "\n" << metrics->body;
  } else {
    EXPECT_EQ(metrics->body.find("kind=\"cold\""), std::string::npos);
  }
}

// An elastic node's idle tail (SuspendTime, 15 s here, from its last task to its power
// down) is billed to the job that left it idle, once serve sees the node suspended: in the
// job's record, its cost, and /metrics.
TEST(SlurmServe, AnElasticNodesIdleTailIsBilledToTheJobOnceTheNodeIsSuspended) {
  ASSERT_TRUE(elastic_nodes_down());
  Job job(60);
  SlurmService service(job, job.cluster("elastic"));
  const json accepted = service.submit(spec_of(job, 2));
  const json done = service.wait(accepted["id"]);
  ASSERT_EQ(done["state"], "done") << done.dump();
  double held = 0;
  std::set<std::string> cold_nodes;
  for (const auto& c : done["record"]["chunk_results"]) {
    held += c["billed_seconds"].get<double>();
    if (c["start"] == "cold") cold_nodes.insert(c["worker"].get<std::string>());
  }
  ASSERT_FALSE(cold_nodes.empty()) << "the elastic nodes were powered down: they had to boot";
  ASSERT_TRUE(elastic_nodes_down());
  const json billed = service.wait_for_idle_charge(accepted["id"]);
  const double idle = billed["record"].value("idle_billed_seconds", 0.0);
  EXPECT_GE(idle, 10.0 * static_cast<double>(cold_nodes.size())) << "about SuspendTime a node: " << billed["record"].dump();
  EXPECT_LE(idle, 60.0 * static_cast<double>(cold_nodes.size()));
  EXPECT_NEAR(billed["actual"]["billed_seconds"].get<double>(), held + idle, 1e-6);
  EXPECT_NEAR(billed["record"]["billed_seconds"].get<double>(), held + idle, 1e-6);
  EXPECT_NEAR(billed["actual"]["cost_usd"].get<double>(), (held + idle) * 0.53 / 3600, 1e-9);
  const std::string metrics = service.client().Get("/metrics")->body;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(metrics, m, std::regex(R"re(reelscale_billed_seconds_total\{hardware="T4"\} ([0-9.e+-]+))re")))
      << metrics;
  EXPECT_NEAR(std::stod(m[1]), held + idle, 1e-3);
  // Planning now takes the idle tails the nodes showed as the scale-down window (from two
  // observed suspends; before them, SuspendTime).
  auto plan = service.client().Get("/v1/plan?endpoint=framing&length=4&width=320&height=180");
  ASSERT_TRUE(plan && plan->status == 200);
  const double window = json::parse(plan->body)["scale_down_window_s"].get<double>();
  if (cold_nodes.size() >= 2) {
    EXPECT_GE(window, 10.0);  // as the idle bound above: the observed tails, not a figure of the config
    EXPECT_LE(window, idle + 1e-6);
  } else {
    EXPECT_DOUBLE_EQ(window, 15.0);
  }
}

// Slurm's LastBusyTime of a node, Unix seconds (0 when it has none).
double last_busy_unix_s(const std::string& node) {
  const auto r = rt::run_command("scontrol --oneliner show node " + node, false);
  std::smatch m;
  if (!std::regex_search(r.output, m, std::regex(R"( LastBusyTime=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d))"))) return 0;
  std::tm tm{};
  std::istringstream in(m[1].str());
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
  tm.tm_isdst = -1;
  return static_cast<double>(std::mktime(&tm));
}

// The suspends power.log holds for `node` after `after_unix_s`: the first one's time (0: none).
double suspended_at(const std::string& node, double after_unix_s) {
  std::ifstream log(SlurmEnvironment::dir->path() / "power.log");
  double t = 0;
  std::string what, name;
  while (log >> t >> what >> name) {
    if (what == "suspend" && name == node && t > after_unix_s) return t;
  }
  return 0;
}

// Two gaps of the bill, closed (issue 30): elastic nodes already up when `serve` starts open
// their period at Slurm's LastBusyTime, so their idle time before this job's tasks is charged;
// and a failed attempt's node time is in the ledger, so it is not charged a second time as
// idle. The job's whole bill is then the two nodes' time from their last busy to their suspend.
TEST(SlurmServe, NodesUpBeforeServeStartedAndAFailedAttemptAreBilledOnce) {
  ASSERT_TRUE(elastic_nodes_down());
  Job warmup(30);
  const json woke = run_json(warmup.spec_path + " --executor slurm --cluster " + warmup.cluster("elastic") + " --chunks 2");
  ASSERT_EQ(woke.value("outcome", ""), "done") << woke.dump();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const std::map<std::string, double> last_busy = {{"cloud1", last_busy_unix_s("cloud1")}, {"cloud2", last_busy_unix_s("cloud2")}};
  ASSERT_GT(last_busy.at("cloud1"), 0);
  ASSERT_GT(last_busy.at("cloud2"), 0);
  Job job(60);
  // The first attempt of chunk 0 holds its node 6 s, then dies without an outcome.
  SlurmService service(job, job.cluster("elastic", "case \"$2\" in *slurm-1-task-0.json) sleep 6; kill -9 $$ ;; esac"));
  const json accepted = service.submit(spec_of(job, 2));
  const json done = service.wait(accepted["id"]);
  ASSERT_EQ(done["state"], "done") << done.dump();
  EXPECT_EQ(done["record"]["chunk_results"][0]["attempts"], 2) << done.dump();
  EXPECT_NE(done["record"]["billing_note"].get<std::string>().find("added as idle_billed_seconds"), std::string::npos);
  ASSERT_TRUE(elastic_nodes_down());
  const json billed = service.wait_for_idle_charge(accepted["id"]);
  const double idle = billed["record"].value("idle_billed_seconds", 0.0);
  EXPECT_GT(idle, 0) << "the adopted nodes' idle time is charged";
  double periods = 0;
  for (const auto& [node, busy] : last_busy) {
    const double suspend = suspended_at(node, busy);
    ASSERT_GT(suspend, 0) << node;
    periods += suspend - busy;
  }
  // LastBusyTime has whole seconds, and serve sees a suspend at its next poll.
  EXPECT_NEAR(billed["record"]["billed_seconds"].get<double>(), periods, 3.0)
      << "every second of both periods billed once: " << billed["record"].dump();
}

TEST(SlurmServe, CancellingAJobEndsItsArrayAndLeavesNothing) {
  Job job(60);
  SlurmService service(job, job.cluster("always", "sleep 600"));
  const json accepted = service.submit(spec_of(job, 2));
  for (int i = 0; i < 200 && live_tasks("RUNNING") < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(live_tasks("RUNNING"), 2);
  auto res = service.client().Delete("/v1/jobs/" + accepted["id"].get<std::string>());
  ASSERT_TRUE(res && res->status < 300) << (res ? res->body : "no answer");
  EXPECT_EQ(service.wait(accepted["id"])["state"], "cancelled");
  for (int i = 0; i < 100 && live_tasks() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(live_tasks(), 0) << "the array was cancelled";
  EXPECT_FALSE(fs::exists(job.output));
  std::vector<std::string> left;
  for (const std::string& f : job.leftovers()) {
    if (f.find("jobs.db") == std::string::npos && f.find("token") == std::string::npos) left.push_back(f);
  }
  EXPECT_TRUE(left.empty()) << left.front();
}

}  // namespace
