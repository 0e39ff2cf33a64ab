// tests/exec/exec_test.cpp — chunk execution against in-process workers (the real
// WorkerService over HTTP on loopback): a busy worker's 429 sends the task elsewhere,
// a straggler gets a speculative second run that wins, a deadline fires by itself when
// speculation is off; shared slots hold each job to the slots it claimed; and the task and
// record JSON round trips.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <thread>

#include "common/cores.h"
#include "common/stopwatch.h"
#include "exec/node_ledger.h"
#include "exec/remote_executor.h"
#include "exec/shared_slots.h"
#include "exec/slurm_cluster.h"
#include "exec/slurm_control.h"
#include "exec/task.h"
#include "exec/worker.h"
#include "job/job_flow.h"
#include "job/temporaries.h"
#include "process/copy_processor.h"
#include "process/processors.h"
#include "test_media.h"

namespace fs = std::filesystem;
namespace rt = reelscale::testing;
using namespace reelscale;
using nlohmann::json;

namespace {

// The copy endpoint, slowed down by `delay_ms` per frame (a loaded or slow machine);
// stops waiting once `stop` is set, so a test can end a hung worker.
class SlowCopy final : public process::FrameProcessor {
 public:
  SlowCopy(const media::VideoProbe& probe, int delay_ms, const std::atomic<bool>& stop)
      : copy_(probe), delay_ms_(delay_ms), stop_(stop) {}
  int output_width() const override { return copy_.output_width(); }
  int output_height() const override { return copy_.output_height(); }
  void process(std::span<process::FrameJob> jobs) override {
    for (int waited = 0; waited < delay_ms_ && !stop_.load(); waited += 5) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    copy_.process(jobs);
  }

 private:
  process::CopyProcessor copy_;
  int delay_ms_;
  const std::atomic<bool>& stop_;
};

// A worker service on a free loopback port, serving on its own thread.
class InProcessWorker {
 public:
  InProcessWorker(store::ObjectStore& store, int delay_ms_per_frame, int concurrency = 1, double max_task_s = 3600) {
    exec::WorkerOptions options;
    options.port = 0;
    options.max_task_seconds = max_task_s;
    options.max_concurrency = concurrency;
    options.scratch = dir_.path();
    options.allow = access::StorageAllowlist({dir_.path().parent_path().string()});  // the tests' local files
    service_ = std::make_unique<exec::WorkerService>(
        options,
        [this, delay_ms_per_frame](const process::JobSpec&) -> process::SlotProcessorFactory {
          return [this, delay_ms_per_frame](const media::VideoProbe& p) {
            return std::make_unique<SlowCopy>(p, delay_ms_per_frame, stop_);
          };
        },
        store);
    url_ = "http://127.0.0.1:" + std::to_string(service_->bind());
    thread_ = std::thread([this] { service_->serve(); });
  }
  ~InProcessWorker() {
    stop_ = true;
    service_->stop();
    thread_.join();
  }
  const std::string& url() const { return url_; }

 private:
  rt::TempDir dir_;
  std::atomic<bool> stop_{false};
  std::unique_ptr<exec::WorkerService> service_;
  std::string url_;
  std::thread thread_;
};

struct Clip {
  rt::TempDir dir;
  fs::path input;
  Clip(int frames = 40) : input(dir / "in.mp4") {
    rt::ClipSpec spec;
    spec.frames = frames;
    spec.keyint = 10;
    rt::make_clip(input, spec);
  }
  process::JobSpec copy_job(const std::string& name) const {
    return process::parse_job_spec(
        {{"endpoint", "copy"}, {"input", input.string()}, {"output", (dir / name).string()}, {"preset", "ultrafast"}});
  }
};

record::JobRecord run_remote(const Clip& clip, const std::string& name, exec::RemoteExecutor& executor, int chunks,
                             double deadline_s = 0) {
  store::ObjectStore store;
  job::JobOptions options;
  options.chunks = chunks;
  options.task_deadline_s = deadline_s;
  return job::run_job(clip.copy_job(name), executor, store, options);
}

}  // namespace

TEST(RemoteExecutor, BusyWorkerAnswers429AndTheTaskRunsElsewhere) {
  Clip clip;
  store::ObjectStore store;
  InProcessWorker busy(store, 40), free(store, 0);
  exec::RemoteOptions options;
  options.workers = {busy.url(), free.url()};
  options.per_worker = 2;  // the dispatcher sends two at once to a worker that takes one
  options.speculate = false;
  exec::RemoteExecutor executor(options, store);
  const record::JobRecord r = run_remote(clip, "out.mp4", executor, 4);
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_GT(executor.counters().busy_replies, 0);
  EXPECT_EQ(executor.counters().failures, 0);
  EXPECT_EQ(rt::read_indices(rt::decode_gray(clip.dir / "out.mp4"), 192, 108).size(), 40u);
}

TEST(RemoteExecutor, StragglerGetsASpeculativeRunThatWins) {
  Clip clip;
  store::ObjectStore store;
  InProcessWorker slow(store, 400), fast_a(store, 0), fast_b(store, 0);
  exec::RemoteOptions options;
  options.workers = {fast_a.url(), fast_b.url(), slow.url()};
  options.speculate_min_s = 0.5;
  exec::RemoteExecutor executor(options, store);
  const Stopwatch clock;
  const record::JobRecord r = run_remote(clip, "out.mp4", executor, 3);
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_LT(clock.seconds(), 8.0);  // the slow copy alone would take 13 frames x 0.4 s
  EXPECT_GE(executor.counters().speculative, 1);
  int won_by_speculation = 0;
  for (const auto& c : r.chunk_results) won_by_speculation += c.speculative;
  EXPECT_GE(won_by_speculation, 1);
  // The loser's output was deleted; nothing is left beside the output but the output.
  EXPECT_TRUE(rt::hidden_files(clip.dir.path()).empty());
}

TEST(RemoteExecutor, DeadlineFiresWithSpeculationOff) {
  Clip clip;
  store::ObjectStore store;
  InProcessWorker hung(store, 30000);  // 30 s per frame
  exec::RemoteOptions options;
  options.workers = {hung.url()};
  options.speculate = false;
  options.max_attempts = 1;
  exec::RemoteExecutor executor(options, store);
  const Stopwatch clock;
  const record::JobRecord r = run_remote(clip, "out.mp4", executor, 1, 1.5);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error_kind, "unavailable");
  EXPECT_NE(r.error_message.find("chunk 0 failed"), std::string::npos) << r.error_message;
  EXPECT_LT(clock.seconds(), 10.0);  // the 1.5 s deadline, not the worker, ended it
  EXPECT_EQ(executor.counters().speculative, 0);
  EXPECT_FALSE(fs::exists(clip.dir / "out.mp4"));
}

TEST(RemoteExecutor, TheWorkersTimeLimitStopsALongTaskWith408) {
  Clip clip;
  store::ObjectStore store;
  InProcessWorker limited(store, 200, 1, 1.0);  // 40 frames x 0.2 s, but at most 1 s a task
  exec::RemoteOptions options;
  options.workers = {limited.url()};
  options.speculate = false;
  options.max_attempts = 1;
  exec::RemoteExecutor executor(options, store);
  const Stopwatch clock;
  const record::JobRecord r = run_remote(clip, "out.mp4", executor, 1, 60);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error_message.find("408"), std::string::npos) << r.error_message;
  EXPECT_NE(r.error_message.find("time limit of 1 s"), std::string::npos) << r.error_message;
  EXPECT_LT(clock.seconds(), 6.0);
  EXPECT_FALSE(fs::exists(clip.dir / "out.mp4"));
  // The worker is still serving: a short task runs.
  Clip short_clip(3);  // 0.6 s
  const record::JobRecord ok = run_remote(short_clip, "out.mp4", executor, 1, 60);
  EXPECT_TRUE(ok.ok()) << ok.error_message;
}

TEST(TaskJson, RoundTripsEveryField) {
  Clip clip(12);
  exec::ChunkTaskSpec t;
  t.task_id = "job-c1";
  t.index = 1;
  t.job = clip.copy_job("o.mp4");
  t.job.fps = media::Rational{25, 1};
  t.job.fps_given = true;
  t.probe = media::probe_video(media::MediaSource::local(clip.input.string()));
  t.range = {4, 9};
  t.output = "s3://b/tmp/chunk-1.mp4";
  t.encoding = {3, 17, "libx264"};
  t.deadline_s = 42;
  t.cores = 6;
  const exec::ChunkTaskSpec back = exec::task_from_json(json::parse(exec::to_json(t).dump()));
  EXPECT_EQ(exec::to_json(back), exec::to_json(t));
  EXPECT_EQ(back.cores, 6);
  EXPECT_EQ(back.probe.pts, t.probe.pts);
  EXPECT_EQ(back.encoder_settings().fps.num, 25);
  EXPECT_EQ(back.encoder_settings().gop, 17);
  // A task without an output rate is refused (the worker must not guess it).
  json j = exec::to_json(t);
  j["job"].erase("fps");
  EXPECT_NE(rt::error_message([&] { exec::task_from_json(j); }).find("no output fps"), std::string::npos);
}

// A class's core range: the counts a plan may give a task (its ends and the powers of two
// between), priced per core; a fixed class has none.
TEST(ClusterFile, ACoreRangeGivesItsEndsAndThePowersOfTwoBetween) {
  rt::TempDir dir;
  std::ofstream(dir / "cluster.json") << R"({"classes": {
      "T4": {"partition": "t4", "cores": [1, 8], "usd_per_hour": 0.3, "usd_per_core_hour": 0.04},
      "L4": {"partition": "l4", "cores": [3, 6], "usd_per_core_hour": 0.05},
      "A10G": {"partition": "a10g", "cores": [2, 2], "usd_per_core_hour": 0.05},
      "CPU": {"partition": "cpu", "cores": 4}}})";
  const exec::ClusterFile f = exec::read_cluster_file((dir / "cluster.json").string());
  EXPECT_EQ(f.classes.at("T4").core_options(), (std::vector<double>{1, 2, 4, 8}));
  EXPECT_EQ(f.classes.at("T4").cores, 8) << "the most a task asks for";
  EXPECT_DOUBLE_EQ(f.classes.at("T4").usd_per_core_hour, 0.04);
  EXPECT_EQ(f.classes.at("L4").core_options(), (std::vector<double>{3, 4, 6}));
  EXPECT_EQ(f.classes.at("A10G").core_options(), (std::vector<double>{2}));
  EXPECT_TRUE(f.classes.at("CPU").core_options().empty());
  EXPECT_FALSE(f.classes.at("CPU").core_range());
}

// A copy task over the clip's `frames` frames, written beside it.
static exec::ChunkTaskSpec whole_clip_task(const Clip& clip, int frames) {
  exec::ChunkTaskSpec t;
  t.task_id = "t";
  t.job = clip.copy_job("out.mp4");
  t.job.fps_given = true;
  t.probe = media::probe_video(media::MediaSource::local(clip.input.string()));
  t.range = {0, frames};
  t.output = (clip.dir / "chunk.mp4").string();
  return t;
}

// A place gives a chunk the cores the plan gave its container, at most its own, and the
// record says so; a task that names none records 0 (the place shared its own).
TEST(TaskCores, APlaceGivesTheChunkThePlannedCoresAtMostItsOwn) {
  Clip clip(6);
  exec::ChunkTaskSpec t = whole_clip_task(clip, 6);
  store::ObjectStore store;
  for (const auto& [planned, granted] : std::vector<std::pair<int, int>>{{1, 1}, {1000, machine_cores()}, {0, 0}}) {
    t.cores = planned;
    std::unique_ptr<process::FrameProcessor> processor = process::make_basic_factory(t.job)(t.probe);
    const record::ChunkRecord r = exec::execute_task(t, *processor, store, clip.dir.path());
    EXPECT_EQ(r.cores, granted) << "planned " << planned;
    EXPECT_EQ(r.frames, 6);
  }
}

// Found by fuzz/chunk_task_fuzz: a float where the probe holds integers was converted to
// int64 (undefined behaviour when out of range); now the field is named.
TEST(TaskJson, FuzzFoundFloatsWhereIntegersBelongAreBadInput) {
  Clip clip(3);
  const exec::ChunkTaskSpec t = whole_clip_task(clip, 3);
  const json good = exec::to_json(t);
  ASSERT_NO_THROW(exec::task_from_json(good));
  for (const auto& [path, value] : std::vector<std::pair<std::string, json>>{
           {"/probe/pts/0", 1.1e265}, {"/probe/width", 1e12}, {"/range/1", 2.5}, {"/encoding/threads", 1e30},
           {"/probe/end_pts", "12"}, {"/cores", -1}, {"/cores", 1e9}, {"/cores", 2.5}}) {
    json bad = good;
    bad[json::json_pointer(path)] = value;
    try {
      exec::task_from_json(bad);
      ADD_FAILURE() << path << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kBadInput) << path;
    }
  }
}

TEST(RecordJson, RoundTripsEveryFieldAndNamesBadOnes) {
  record::JobRecord r;
  r.job_id = "abc";
  r.endpoint = "framing_ai";
  r.model = "realesr-animevideov3";
  r.source = {640, 360, 90, "h264", 240, 10, 12345, true};
  r.frames = 90;
  r.chunks = 2;
  record::PlanRecord p;
  p.hardware = "T4";
  p.chunks = 2;
  p.breakdown_s = {{"compute", 3.5}};
  p.wall_by_chunks_s = {{"1", 7.5}, {"2", 4.25}};
  p.local_speed = 1.125;
  p.profile_version = "v7";
  p.budget_moved = "per-user[user_id=u1]";
  p.budget_moved_from = {"T4", 3, 8, 2.5, 0.0125};
  r.plan = p;
  record::ChunkRecord c;
  c.index = 1;
  c.worker = "http://w";
  c.attempts = 2;
  c.speculative = true;
  c.timings_s.preroll = 0.25;
  c.billed_seconds = 4.5;
  r.chunk_results = {c, c};
  r.timings_s = {{"join", 0.5}, {"total", 9}};
  r.outcome = "failed";
  r.error_kind = "timeout";
  r.error_message = "deadline";
  r.result = json{{"people", json::array()}};
  const json j = record::to_json(r);
  const record::JobRecord back = record::record_from_json(json::parse(j.dump()));
  EXPECT_EQ(record::to_json(back), j);
  EXPECT_EQ(back.plan->profile_version, "v7");
  EXPECT_EQ(back.plan->wall_by_chunks_s.at("2"), 4.25);
  EXPECT_EQ(back.plan->local_speed, 1.125);
  EXPECT_EQ(back.plan->budget_moved_from.chunks, 3);
  EXPECT_EQ(back.plan->budget_moved_from.cost_usd, 0.0125);
  EXPECT_FALSE(record::to_json(record::PlanRecord{}).contains("budget_moved_from")) << "only where a budget moved it";
  EXPECT_EQ(back.chunk_results[1].timings_s.preroll, 0.25);
  json bad = j;
  bad["chunk_results"][0]["frames"] = "many";
  EXPECT_NE(rt::error_message([&] { record::record_from_json(bad); }).find("chunk_results[].frames"), std::string::npos);
  bad = j;
  bad["schema_version"] = 99;
  EXPECT_NE(rt::error_message([&] { record::record_from_json(bad); }).find("schema_version 99"), std::string::npos);
}

namespace {
// The pid of a process that has exited (and been reaped): no live process owns it.
long dead_pid() {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  int status = 0;
  waitpid(pid, &status, 0);
  return pid;
}

void write_owner(const fs::path& prefix, long pid, double started) {
  fs::create_directories(prefix);
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  std::ofstream(prefix / "owner.json") << json{{"job_id", "x"}, {"host", host}, {"pid", pid}, {"started_unix_s", started}}.dump();
  std::ofstream(prefix / "chunk-0.mp4") << "partial chunk";
}
}  // namespace

TEST(Temporaries, ALaterJobRemovesWhatKilledJobsLeftAndKeepsLiveOnes) {
  Clip clip;
  const long dead = dead_pid();
  const fs::path killed = clip.dir / ".reelscale-tmp-killed/";
  const fs::path live = clip.dir / ".reelscale-tmp-live/";
  write_owner(killed, dead, record::unix_now() - 3600);
  write_owner(live, getpid(), record::unix_now());
  const fs::path partial = clip.dir / (".out.part-" + std::to_string(dead) + "-1-0.mp4");
  std::ofstream(partial) << "half an output";
  std::ofstream(clip.dir / "keep.txt") << "not ours";
  store::ObjectStore store;
  exec::LocalExecutor executor({}, [](const process::JobSpec& s) { return process::make_basic_factory(s); }, store);
  job::JobOptions options;
  options.stale.dead_owner_age_s = 0;
  const record::JobRecord r = job::run_job(clip.copy_job("out.mp4"), executor, store, options);
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_FALSE(fs::exists(killed));
  EXPECT_FALSE(fs::exists(partial));
  EXPECT_TRUE(fs::exists(live / "owner.json"));  // its owner (this process) is alive
  EXPECT_TRUE(fs::exists(clip.dir / "keep.txt"));
  EXPECT_TRUE(fs::exists(clip.dir / "out.mp4"));
  // Leftovers younger than the bound stay too: the default gives a dead owner a minute.
  write_owner(killed, dead, record::unix_now());
  const job::SweepReport sweep = job::remove_stale_temporaries(store, clip.dir.path().string(), {});
  EXPECT_TRUE(fs::exists(killed / "owner.json"));
  EXPECT_EQ(sweep.removed.size(), 0u);
}

namespace {
// Shared slots whose chunks copy at `delay_ms` a frame, whatever the job's endpoint; a job
// whose output is named held*.mp4 waits at its first frame until `release` is set.
exec::SharedSlots slow_shared_slots(store::ObjectStore& store, int slots, int delay_ms, const std::atomic<bool>& never,
                                    const std::atomic<bool>& release) {
  exec::SharedSlotsOptions options;
  options.slots = slots;
  return exec::SharedSlots(options, [delay_ms, &never, &release](const process::JobSpec& job) -> process::SlotProcessorFactory {
    const bool held = fs::path(job.output).filename().string().rfind("held", 0) == 0;
    return [delay_ms, held, &never, &release](const media::VideoProbe& p) {
      return held ? std::make_unique<SlowCopy>(p, 3'600'000, release) : std::make_unique<SlowCopy>(p, delay_ms, never);
    };
  }, store);
}
// An overlay job (one the built-in local profile plans) on a clip.
process::JobSpec overlay_job(const Clip& clip, const std::string& name) {
  return process::parse_job_spec({{"endpoint", "overlay"}, {"input", clip.input.string()},
                                  {"output", (clip.dir / name).string()}, {"preset", "ultrafast"},
                                  {"highlight_keyframes", json::array({{{"time", 0}, {"x", 96}, {"y", 54}, {"rx", 20}, {"ry", 20}}})}});
}
// Waits for `done` (at most a minute: a machine that slow fails the caller's checks).
void wait_for(const std::function<bool()>& done) {
  const Stopwatch waited;
  while (!done() && waited.seconds() < 60) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}
}  // namespace

// Shared slots (the service's local executor): a job claims the slots free when it starts
// and never runs more chunks at once, so it runs as planned, and the slot a neighbour frees
// goes to the next job, not to a second chunk the plan did not count on. The first job is
// held until the test lets it go, so the order of events does not depend on the machine's
// speed; time is checked only from below (a loaded machine can only slow the jobs down).
TEST(SharedSlots, AJobClaimsTheSlotsFreeWhenItStartsAndRunsNoMoreAtOnce) {
  Clip short_clip(5), long_clip(60);
  store::ObjectStore store;
  const std::atomic<bool> never{false};
  std::atomic<bool> release{false};
  exec::SharedSlots slots = slow_shared_slots(store, 2, 40, never, release);
  EXPECT_EQ(slots.owned_capacity().slots, 2) << "nothing running: both slots";
  EXPECT_EQ(slots.owned_capacity().cores, 2 * threads_per_slot(2));
  // A one-chunk job first, held: it claims one slot, and a job planned now gets the other.
  record::JobRecord first;
  std::thread one([&] {
    job::JobOptions options;
    options.chunks = 1;
    first = job::run_job(overlay_job(short_clip, "held.mp4"), slots, store, options);
  });
  wait_for([&] { return slots.load().claimed == 1; });
  EXPECT_EQ(slots.load().claimed, 1);
  EXPECT_EQ(slots.owned_capacity().slots, 1);
  EXPECT_EQ(slots.owned_capacity().cores, threads_per_slot(2));
  // A long four-chunk job beside it, planned on one slot. Once it has claimed, the first job
  // is let go: the slot that frees is what a job planned then is offered, and the second
  // job's chunks still run one at a time on its own slot (60 frames x 40 ms at least).
  record::JobRecord second;
  std::atomic<bool> second_done{false};
  const Stopwatch clock;
  std::thread four([&] {
    job::JobOptions options;
    options.chunks = 4;
    second = job::run_job(overlay_job(long_clip, "four.mp4"), slots, store, options);
    second_done = true;
  });
  wait_for([&] { return slots.load().claimed == 2 || second_done; });
  release = true;
  one.join();
  const int offered = slots.owned_capacity().slots;
  const bool second_was_running = !second_done;
  four.join();
  const double second_s = clock.seconds();
  ASSERT_TRUE(first.ok()) << first.error_message;
  ASSERT_TRUE(second.ok()) << second.error_message;
  if (second_was_running) {
    EXPECT_EQ(offered, 1) << "the slot the first job freed, not both";
  }
  ASSERT_TRUE(second.plan.has_value());
  EXPECT_EQ(second.plan->concurrent, 1) << "planned on the one slot left";
  EXPECT_EQ(second.plan->threads_per_chunk, threads_per_slot(2));
  EXPECT_GE(second_s, 60 * 0.040) << "its chunks ran one at a time";
  std::set<std::string> used;
  for (const auto& c : second.chunk_results) used.insert(c.worker);
  EXPECT_EQ(used.size(), 1u) << "it never took the slot the first job freed";
  // Both ended: nothing claimed, both slots for the next job.
  EXPECT_EQ(slots.load().claimed, 0);
  EXPECT_EQ(slots.owned_capacity().slots, 2);
  EXPECT_EQ(rt::read_indices(rt::decode_gray(long_clip.dir / "four.mp4"), 192, 108).size(), 60u);
}

// An elastic node's period, resumed at 100 and suspended at 200: every second no task held
// is charged once, the idle tail to the job that ran last, and the charges with the holds
// add up to the whole period.
TEST(NodeLedger, ANodesUnheldSecondsAreChargedToTheJobThatLeftItIdle) {
  exec::NodeLedger ledger;
  ledger.held("cloud1", "early", 90, 95);  // before the period opens: an always-on node's way, ignored
  ledger.resumed("cloud1", 100);
  ledger.resumed("cloud1", 105);           // a second task that found it booting: the same period
  ledger.held("cloud1", "a", 104, 130);    // waited for the boot from 100: 4 s before its hold start
  ledger.held("cloud1", "b", 120, 140);    // overlaps a: the node was busy throughout
  ledger.held("cloud1", "a", 150, 160);    // after a 10 s gap that b's task left
  ASSERT_EQ(ledger.open_nodes(), std::vector<std::string>{"cloud1"});
  const std::vector<exec::IdleCharge> charges = ledger.suspended("cloud1", 200);
  std::map<std::string, double> by_job;
  for (const auto& c : charges) {
    EXPECT_EQ(c.node, "cloud1");
    by_job[c.job_id] += c.seconds;
  }
  EXPECT_DOUBLE_EQ(by_job["a"], 4 + 40);  // before its first hold, and the tail from 160 to 200
  EXPECT_DOUBLE_EQ(by_job["b"], 10);      // the gap from 140 to 150
  EXPECT_EQ(by_job.count("early"), 0u);
  EXPECT_EQ(charges.size(), 2u) << "one charge per job";
  for (const auto& c : charges) EXPECT_DOUBLE_EQ(c.tail_s, c.job_id == "a" ? 40 : 0) << c.job_id;
  const double held = (140 - 104) + (160 - 150);
  EXPECT_DOUBLE_EQ(by_job["a"] + by_job["b"] + held, 200 - 100);
  EXPECT_TRUE(ledger.open_nodes().empty());
  EXPECT_TRUE(ledger.suspended("cloud1", 300).empty()) << "a closed period is charged once";
  ledger.resumed("cloud2", 10);
  EXPECT_TRUE(ledger.suspended("cloud2", 50).empty()) << "booted, never held: nobody to charge";
}

// A cluster file's class checked against what sinfo says of the partitions (fixed figures):
// the loopback cluster's partitions, and the example file's classes that do not fit it.
TEST(SlurmClass, AClassTheClusterCannotRunIsNamedWithItsField) {
  const std::vector<exec::PartitionNodes> loopback = {
      {"gpu", 2, "gpu:1"}, {"always", 2, "gpu:1"}, {"elastic", 2, "gpu:1"}, {"big", 32, "gpu:t4:4(S:0-1),gpu:l4:2"}};
  EXPECT_EQ(exec::class_mismatch("T4", "gpu", "gpu:1", 1, loopback), "");
  EXPECT_EQ(exec::class_mismatch("T4", "gpu", "", 2, loopback), "");
  EXPECT_EQ(exec::class_mismatch("T4", "big", "gpu:t4:1", 16, loopback), "");
  EXPECT_EQ(exec::class_mismatch("L4", "big", "gpu:l4:2", 4, loopback), "");
  const std::string no_partition = exec::class_mismatch("T4", "t4", "gpu:t4:1", 4, loopback);
  EXPECT_NE(no_partition.find("classes.T4.partition 't4' is not a partition of this cluster"), std::string::npos)
      << no_partition;
  EXPECT_NE(no_partition.find("gpu, always, elastic, big"), std::string::npos) << no_partition;
  const std::string cores = exec::class_mismatch("T4", "gpu", "gpu:1", 4, loopback);
  EXPECT_NE(cores.find("classes.T4.cores is 4, but the nodes of partition gpu have at most 2 CPUs"), std::string::npos)
      << cores;
  const std::string typed = exec::class_mismatch("T4", "gpu", "gpu:t4:1", 1, loopback);
  EXPECT_NE(typed.find("classes.T4.gres 'gpu:t4:1' is not offered by the nodes of partition gpu (their GRES: gpu:1)"),
            std::string::npos)
      << typed;
  EXPECT_NE(exec::class_mismatch("L4", "big", "gpu:l4:3", 1, loopback).find("gres 'gpu:l4:3'"), std::string::npos);
  EXPECT_NE(exec::class_mismatch("CPU", "cpu", "", 1, {}).find("sinfo lists: none"), std::string::npos);
}
