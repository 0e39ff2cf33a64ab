// tests/e2e/e2e_test.cpp — storage against a real S3-compatible server that checks SigV4
// (OpenStack Swift with s3api, started once for this binary), and whole jobs through the
// real `reelscale` binary: local slots, three remote worker processes, and the faults —
// a worker killed mid-task, storage failing a share of requests, a worker that never
// answers, all workers down, a job cancelled midway.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/error.h"
#include "store/store.h"
#include "test_media.h"
#include "test_services.h"

namespace fs = std::filesystem;
namespace rt = reelscale::testing;
using namespace reelscale;
using nlohmann::json;

namespace {

class S3Environment : public ::testing::Environment {
 public:
  void SetUp() override { server = std::make_unique<rt::S3Server>(); }
  void TearDown() override { server.reset(); }
  static inline std::unique_ptr<rt::S3Server> server;
};
[[maybe_unused]] auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new S3Environment);

const std::string kBinary = REELSCALE_BINARY;

using rt::iota;

// A barcode clip uploaded to s3://videos/<name>, with its frame count.
struct Uploaded {
  std::string url;
  rt::ClipSpec spec;
};

Uploaded upload_clip(store::ObjectStore& store, const std::string& name, int frames, const std::string& extra = "",
                     int width = 480, int height = 270) {
  rt::TempDir dir;
  Uploaded u;
  u.spec.width = width;
  u.spec.height = height;
  u.spec.frames = frames;
  u.spec.audio_seconds = frames / 30.0;
  u.spec.keyint = 30;
  u.spec.extra_args = extra;
  rt::make_clip(dir / "clip.mp4", u.spec);
  store.create_bucket("videos");
  u.url = "s3://videos/raw/" + name;
  store.put_file((dir / "clip.mp4").string(), u.url);
  return u;
}

// A framing job that keeps the picture as it is (full-frame crop, same size), so the
// barcodes can be read back from the output.
std::string write_job(const rt::TempDir& dir, const Uploaded& in, const std::string& output) {
  const json job = {{"endpoint", "framing"}, {"input", in.url}, {"output", output},
                    {"output_width", in.spec.width}, {"output_height", in.spec.height}, {"fps", 30},
                    {"preset", "ultrafast"},
                    {"crop_keyframes", json::array({{{"time", 0}, {"x", 0}, {"y", 0}, {"width", in.spec.width},
                                                     {"height", in.spec.height}}})}};
  const std::string path = (dir / "job.json").string();
  std::ofstream(path) << job.dump();
  return path;
}

std::vector<int64_t> output_indices(store::ObjectStore& store, const std::string& url, const rt::ClipSpec& spec) {
  rt::TempDir dir;
  store.get_to_file(url, (dir / "out.mp4").string());
  return rt::read_indices(rt::decode_gray(dir / "out.mp4"), spec.width, spec.height);
}

size_t leftovers(store::ObjectStore& store, const std::string& prefix) { return store.list(prefix).size(); }

struct Workers {
  std::vector<std::unique_ptr<rt::ChildProcess>> processes;
  std::vector<std::string> urls;
  rt::TempDir logs;
  explicit Workers(int n) {
    for (int i = 0; i < n; ++i) {
      const int port = rt::free_port();
      const std::string url = "http://127.0.0.1:" + std::to_string(port);
      processes.push_back(std::make_unique<rt::ChildProcess>(
          std::vector<std::string>{kBinary, "worker", "--listen", "127.0.0.1:" + std::to_string(port), "--scratch",
                                   logs.path().string(), "--allow", logs.path().parent_path().string(), "--allow",
                                   "s3://videos/"},
          (logs / ("worker" + std::to_string(i) + ".log")).string()));
      urls.push_back(url);
    }
    for (const auto& u : urls) EXPECT_TRUE(rt::wait_for_http(u + "/healthz", 20)) << u;
  }
  std::string list() const {
    std::string s;
    for (const auto& u : urls) s += (s.empty() ? "" : ",") + u;
    return s;
  }
};

json run_json(const std::string& args, int* status = nullptr) {
  const auto r = rt::run_command(kBinary + " run " + args + " --json", false);
  if (status) *status = r.status;
  if (r.status != 0) return json{{"exit", r.status}};
  return json::parse(r.output);
}

}  // namespace

// ---- store ------------------------------------------------------------------------

TEST(Store, RoundTripsRangesMultipartAndListing) {
  store::S3Config cfg = store::S3Config::from_env();
  cfg.multipart_threshold = 8 << 20;
  cfg.part_size = 5 << 20;
  store::ObjectStore s(cfg);
  s.create_bucket("store-test");
  s.put_bytes("hello, range reads", "s3://store-test/a/small.txt");
  EXPECT_EQ(s.get("s3://store-test/a/small.txt"), "hello, range reads");
  uint8_t buf[16] = {0};
  EXPECT_EQ(s.get_range("s3://store-test/a/small.txt", 7, 5, buf), 5);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), 5), "range");
  EXPECT_EQ(s.get_range("s3://store-test/a/small.txt", 14, 16, buf), 4);  // short at the end
  EXPECT_EQ(s.head("s3://store-test/a/small.txt").size, 18);
  // A 21 MB file goes up in 5 MB parts and comes back identical.
  rt::TempDir dir;
  {
    std::ofstream f(dir / "big.bin", std::ios::binary);
    std::string data(21 << 20, '\0');
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 2654435761u) >> 13);
    f << data;
  }
  const int64_t before = s.stats().requests.load();
  s.put_file((dir / "big.bin").string(), "s3://store-test/a/big.bin");
  EXPECT_GE(s.stats().requests.load() - before, 1 + 5 + 1);  // initiate, 5 parts, complete
  s.get_to_file("s3://store-test/a/big.bin", (dir / "back.bin").string());
  EXPECT_EQ(rt::sha256_file(dir / "back.bin"), rt::sha256_file(dir / "big.bin"));
  std::vector<uint8_t> mid(1000);
  EXPECT_EQ(s.get_range("s3://store-test/a/big.bin", 10 << 20, 1000, mid.data()), 1000);
  s.put_bytes("x", "s3://store-test/b/other.txt");
  const auto listed = s.list("s3://store-test/a/");
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].url, "s3://store-test/a/big.bin");
  EXPECT_EQ(listed[0].size, 21 << 20);
  s.remove_prefix("s3://store-test/a/");
  EXPECT_TRUE(s.list("s3://store-test/a/").empty());
  EXPECT_EQ(s.list("s3://store-test/").size(), 1u);
}

TEST(Store, WrongSecretMissingObjectsAndRetries) {
  store::S3Config bad = store::S3Config::from_env();
  bad.secret_key = "not-the-secret";
  store::ObjectStore wrong(bad);
  try {
    wrong.get("s3://store-test/b/other.txt");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kDenied);
    EXPECT_NE(std::string(e.what()).find("SignatureDoesNotMatch"), std::string::npos) << e.what();
  }
  store::ObjectStore s;
  s.create_bucket("store-test");
  try {
    s.get("s3://store-test/nothing-here");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("no such object"), std::string::npos);
  }
  try {
    s.head("s3://no-such-bucket-here/x");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  }
  // Two failures per request are retried away; a store that always fails gives up clearly.
  int calls = 0;
  s.set_fault_injector([&](const std::string&, const std::string&) { return (calls++ % 3) < 2 ? 503 : 0; });
  s.put_bytes("retried", "s3://store-test/r.txt");
  EXPECT_EQ(s.get("s3://store-test/r.txt"), "retried");
  EXPECT_GE(s.stats().retries.load(), 4);
  s.set_fault_injector([](const std::string&, const std::string&) { return 500; });
  try {
    s.get("s3://store-test/r.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUnavailable);
    EXPECT_NE(std::string(e.what()).find("after 5 attempts"), std::string::npos) << e.what();
  }
  s.set_fault_injector(nullptr);
  // Through a proxy that fails 30% of requests with 500: everything still works.
  rt::FaultyProxy proxy(S3Environment::server->port(), 0.3);
  store::S3Config via = store::S3Config::from_env();
  via.endpoint = proxy.endpoint();
  store::ObjectStore flaky(via);
  for (int i = 0; i < 10; ++i) flaky.put_bytes("n" + std::to_string(i), "s3://store-test/p/" + std::to_string(i));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(flaky.get("s3://store-test/p/" + std::to_string(i)), "n" + std::to_string(i));
  EXPECT_GT(proxy.failures(), 0);
  EXPECT_GT(flaky.stats().retries.load(), 0);
}

// ---- jobs -------------------------------------------------------------------------

TEST(Run, LocalSlotsWithS3InputAndOutput) {
  store::ObjectStore s;
  const Uploaded in = upload_clip(s, "local.mp4", 60);
  rt::TempDir dir;
  const json r = run_json(write_job(dir, in, "s3://videos/exports/local.mp4") + " --chunks 3");
  ASSERT_FALSE(r.contains("exit")) << r.dump();
  EXPECT_EQ(r["frames"], 60);
  EXPECT_EQ(output_indices(s, "s3://videos/exports/local.mp4", in.spec), iota(60));
  EXPECT_EQ(r["audio"], "copied");
  for (const char* stage : {"orchestrator_start", "probe", "plan", "dispatch", "join", "final_upload", "cleanup"}) {
    EXPECT_TRUE(r["timings_s"].contains(stage)) << stage;
  }
  EXPECT_GT(r["plan"]["wall_mean_s"].get<double>(), 0);  // the prediction beside the actuals
  EXPECT_FALSE(r["plan"]["profile_version"].get<std::string>().empty());
  EXPECT_EQ(r["schema_version"], 1);
  EXPECT_EQ(r["outcome"], "done");
  EXPECT_EQ(r["billed_seconds"].get<double>(), 0) << "owned local slots bill nothing";
  EXPECT_GT(r["core_seconds"].get<double>(), 0);
  EXPECT_EQ(r["plan"]["platform_model"], "local");
  EXPECT_EQ(leftovers(s, "s3://videos/exports/.reelscale-tmp-"), 0u);
}

TEST(Run, DetectReadsAStoredInputAndWritesItsJsonToStorage) {
  store::ObjectStore s;
  s.create_bucket("videos");
  const std::string clip = std::string(REELSCALE_SAMPLES_DIR) + "/one-by-one-person-8s_derived.mp4";
  s.put_file(clip, "s3://videos/raw/person.mp4");
  rt::TempDir dir;
  const std::string job = (dir / "detect.json").string();
  std::ofstream(job) << json{{"endpoint", "detect"}, {"input", "s3://videos/raw/person.mp4"},
                             {"output", "s3://videos/exports/people.json"}, {"time", 6.0}}.dump();
  const json r = run_json(job);
  ASSERT_FALSE(r.contains("exit")) << r.dump();
  EXPECT_EQ(r["result"]["frame"], 60);
  ASSERT_GE(r["result"]["people"].size(), 1u);
  EXPECT_EQ(json::parse(s.get("s3://videos/exports/people.json")), r["result"]);
  // The same frame read from the local file gives the same people.
  const auto local = rt::run_command(kBinary + " process detect " + clip + " --time 6", false);
  ASSERT_EQ(local.status, 0) << local.output;
  EXPECT_EQ(json::parse(local.output)["people"], r["result"]["people"]);
  // A missing input is a clear error and writes nothing.
  std::ofstream(job) << json{{"endpoint", "detect"}, {"input", "s3://videos/raw/nobody.mp4"},
                             {"output", "s3://videos/exports/none.json"}, {"frame", 0}}.dump();
  int status = 0;
  run_json(job, &status);
  EXPECT_EQ(status, 2);
  EXPECT_FALSE(s.exists("s3://videos/exports/none.json"));
}

TEST(Run, ThreeWorkersSixChunksFrameExactWithRangeReads) {
  store::ObjectStore s;
  // Large enough (several MB) for range reads to show against the 256 KB read blocks.
  const Uploaded in = upload_clip(s, "six.mp4", 180, "-crf 6", 1280, 720);
  Workers workers(3);
  rt::TempDir dir;
  const json r = run_json(write_job(dir, in, "s3://videos/exports/six.mp4") + " --chunks 6 --workers " + workers.list());
  ASSERT_FALSE(r.contains("exit")) << r.dump();
  EXPECT_EQ(r["chunks"], 6);
  EXPECT_EQ(output_indices(s, "s3://videos/exports/six.mp4", in.spec), iota(180));
  std::set<std::string> used;
  int64_t read = 0, whole = 0;
  for (const auto& c : r["chunk_results"]) {
    used.insert(c["worker"].get<std::string>());
    EXPECT_GT(c["timings_s"]["process"].get<double>(), 0);
    read += c["input_bytes_read"].get<int64_t>();
    whole += c["input_bytes"].get<int64_t>();
  }
  // Workers read ranges, not each the whole input (the index and read-ahead blocks are
  // shared overhead, so a small input is still read mostly).
  EXPECT_LT(read, whole * 8 / 10);
  EXPECT_GE(used.size(), 2u);
  EXPECT_EQ(leftovers(s, "s3://videos/exports/.reelscale-tmp-"), 0u);
}

TEST(Faults, WorkerKilledMidTask) {
  store::ObjectStore s;
  const Uploaded in = upload_clip(s, "kill.mp4", 360);
  Workers workers(3);
  rt::TempDir dir;
  const std::string job = write_job(dir, in, "s3://videos/exports/kill.mp4");
  std::atomic<bool> killed{false};
  std::thread killer([&] {
    // Kill the first worker seen busy (its /status; /healthz says only that it is up).
    for (int tries = 0; tries < 600 && !killed; ++tries) {
      for (size_t i = 0; i < workers.urls.size() && !killed; ++i) {
        const auto res = rt::run_command("curl -s -m 1 " + workers.urls[i] + "/status", false);
        if (res.output.find("\"active\":1") != std::string::npos) {
          workers.processes[i]->kill_now(SIGKILL);
          killed = true;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  const json r = run_json(job + " --chunks 6 --no-speculate --workers " + workers.list());
  killer.join();
  ASSERT_TRUE(killed);
  ASSERT_FALSE(r.contains("exit")) << r.dump();
  int reruns = 0;
  for (const auto& c : r["chunk_results"]) reruns += c["attempts"].get<int>() > 1;
  EXPECT_GE(reruns, 1);
  EXPECT_EQ(output_indices(s, "s3://videos/exports/kill.mp4", in.spec), iota(360));
  EXPECT_EQ(leftovers(s, "s3://videos/exports/.reelscale-tmp-"), 0u);
}

TEST(Faults, StorageFailingAShareOfRequests) {
  store::ObjectStore s;
  const Uploaded in = upload_clip(s, "flaky.mp4", 90);
  rt::FaultyProxy proxy(S3Environment::server->port(), 0.2);
  const std::string real = S3Environment::server->endpoint();
  setenv("AWS_ENDPOINT_URL", proxy.endpoint().c_str(), 1);  // orchestrator and workers go through it
  {
    Workers workers(3);
    rt::TempDir dir;
    const json r = run_json(write_job(dir, in, "s3://videos/exports/flaky.mp4") + " --chunks 6 --workers " + workers.list());
    setenv("AWS_ENDPOINT_URL", real.c_str(), 1);
    ASSERT_FALSE(r.contains("exit")) << r.dump();
    EXPECT_GT(proxy.failures(), 0);
    EXPECT_GT(r["store_retries"].get<int64_t>(), 0);
  }
  setenv("AWS_ENDPOINT_URL", real.c_str(), 1);
  EXPECT_EQ(output_indices(s, "s3://videos/exports/flaky.mp4", in.spec), iota(90));
  EXPECT_EQ(leftovers(s, "s3://videos/exports/.reelscale-tmp-"), 0u);
}

TEST(Faults, WorkerThatNeverAnswersHitsItsDeadline) {
  store::ObjectStore s;
  const Uploaded in = upload_clip(s, "silent.mp4", 60);
  rt::SilentServer silent;
  Workers workers(1);
  rt::TempDir dir;
  const json r = run_json(write_job(dir, in, "s3://videos/exports/silent.mp4") + " --chunks 2 --task-deadline 8 --workers " +
                          silent.url() + "," + workers.list());
  ASSERT_FALSE(r.contains("exit")) << r.dump();
  int reruns = 0;
  for (const auto& c : r["chunk_results"]) {
    EXPECT_EQ(c["worker"], workers.urls[0]);
    reruns += c["attempts"].get<int>() > 1;
  }
  EXPECT_GE(reruns, 1);
  EXPECT_EQ(output_indices(s, "s3://videos/exports/silent.mp4", in.spec), iota(60));
}

TEST(Faults, AllWorkersDownIsAClearError) {
  store::ObjectStore s;
  const Uploaded in = upload_clip(s, "down.mp4", 30);
  rt::TempDir dir;
  const std::string dead = "http://127.0.0.1:" + std::to_string(rt::free_port()) + ",http://127.0.0.1:" +
                           std::to_string(rt::free_port());
  const auto r = rt::run_command(kBinary + " run " + write_job(dir, in, "s3://videos/exports/down.mp4") +
                                 " --chunks 2 --workers " + dead);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("failed after 3 attempt(s)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Connection"), std::string::npos) << r.output;
  EXPECT_FALSE(s.exists("s3://videos/exports/down.mp4"));
  EXPECT_EQ(leftovers(s, "s3://videos/exports/.reelscale-tmp-"), 0u);
}

TEST(Faults, CancelledJobRemovesItsTemporaryObjects) {
  store::ObjectStore s;
  const Uploaded in = upload_clip(s, "cancel.mp4", 600);
  Workers workers(2);
  rt::TempDir dir;
  const std::string job = write_job(dir, in, "s3://videos/exports/cancel.mp4");
  rt::ChildProcess run({kBinary, "run", job, "--chunks", "8", "--workers", workers.list()}, (dir / "run.log").string());
  // Cancel once the first chunk objects exist.
  bool saw_chunks = false;
  for (int i = 0; i < 600 && !saw_chunks; ++i) {
    saw_chunks = leftovers(s, "s3://videos/exports/.reelscale-tmp-") > 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(saw_chunks);
  run.kill_now(SIGTERM);
  const int status = run.wait();
  std::ifstream log(dir / "run.log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_EQ(status, 1) << text;
  EXPECT_NE(text.find("cancelled"), std::string::npos) << text;
  EXPECT_FALSE(s.exists("s3://videos/exports/cancel.mp4"));
  // Workers drop their tasks too: nothing reappears later.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(leftovers(s, "s3://videos/exports/.reelscale-tmp-"), 0u);
}

// ---- rotation -----------------------------------------------------------------------
// Phone videos carry a display matrix. Every endpoint, on every path (`process`, `run` on
// local slots, `run` on a remote worker), must show the picture as a player does. The
// reference is the ffmpeg CLI's own autorotation: the same clip decoded upright by ffmpeg
// and stored losslessly, run through the same job.

namespace {

struct RotatedClip {
  fs::path rotated;  // display matrix set, pixels stored sideways
  fs::path upright;  // ffmpeg's autorotated decode of it, lossless, no matrix
};

// With `display_as_source`, the pixels are first turned the other way, so the clip
// displays as the source does (a phone held upright).
RotatedClip make_rotated(const rt::TempDir& dir, const fs::path& source, int degrees, bool display_as_source = false) {
  RotatedClip c{dir / ("rot" + std::to_string(degrees) + ".mp4"), dir / ("up" + std::to_string(degrees) + ".mp4")};
  auto ffmpeg = [](const std::string& args) {
    const auto r = rt::run_command("ffmpeg -v error -y " + args);
    if (r.status != 0) throw std::runtime_error("ffmpeg failed: " + r.output);
  };
  fs::path stored = source;
  if (display_as_source) {
    stored = dir / ("sideways" + std::to_string(degrees) + ".mp4");
    const std::string turn = degrees == 90 ? "transpose=1" : degrees == 270 ? "transpose=2" : "hflip,vflip";
    ffmpeg("-i " + rt::shell_quote(source.string()) + " -t 6.5 -an -vf " + turn + " -c:v libx264 -qp 0 " +
           rt::shell_quote(stored.string()));
  }
  ffmpeg("-i " + rt::shell_quote(stored.string()) + " -c copy -metadata:s:v:0 rotate=" + std::to_string(degrees) + " " +
         rt::shell_quote(c.rotated.string()));
  ffmpeg("-i " + rt::shell_quote(c.rotated.string()) + " -an -c:v libx264 -qp 0 -pix_fmt yuv420p " +
         rt::shell_quote(c.upright.string()));
  return c;
}

fs::path test_pattern(const rt::TempDir& dir) {
  const fs::path p = dir / "pattern.mp4";
  const auto r = rt::run_command("ffmpeg -v error -y -f lavfi -i testsrc2=size=160x96:rate=10 -t 1 -pix_fmt yuv420p "
                                 "-c:v libx264 -g 5 " + rt::shell_quote(p.string()));
  if (r.status != 0) throw std::runtime_error("ffmpeg failed: " + r.output);
  return p;
}

// The lowest per-frame PSNR between two videos decoded by the ffmpeg CLI (0 when their
// sizes or frame counts differ).
double worst_psnr(const fs::path& a, const fs::path& b) {
  const rt::DecodedVideo va = rt::decode_gray(a), vb = rt::decode_gray(b);
  if (va.width != vb.width || va.height != vb.height || va.frames.size() != vb.frames.size() || va.frames.empty()) {
    ADD_FAILURE() << a << " is " << va.width << "x" << va.height << " x" << va.frames.size() << ", " << b << " is "
                  << vb.width << "x" << vb.height << " x" << vb.frames.size();
    return 0;
  }
  double worst = 1e9;
  for (size_t i = 0; i < va.frames.size(); ++i) worst = std::min(worst, rt::psnr(va.frames[i], vb.frames[i]));
  return worst;
}

// The job for an endpoint on an upright picture of `w` x `h`.
json rotation_job(const std::string& endpoint, int w, int h) {
  json j = {{"endpoint", endpoint}, {"preset", "ultrafast"}, {"crf", 10}};
  if (endpoint == "framing" || endpoint == "framing_ai") {
    j["output_width"] = endpoint == "framing" ? 64 : 48;
    j["output_height"] = endpoint == "framing" ? 112 : 80;
    j["crop_keyframes"] = json::array({{{"time", 0}, {"x", w / 8}, {"y", h / 10}, {"width", w / 2}, {"height", h / 2}}});
  }
  if (endpoint == "overlay") {
    j["highlight_keyframes"] = json::array({{{"time", 0}, {"x", w / 3}, {"y", h / 3}, {"rx", w / 6}, {"ry", h / 5}}});
  }
  return j;
}

// Runs `job` on `input` into `output` through one path: "process", "run" or "remote".
void run_on_path(const std::string& path, json job, const fs::path& input, const fs::path& output,
                 const rt::TempDir& dir, const std::string& workers = "") {
  job["input"] = input.string();
  job["output"] = output.string();
  const fs::path job_file = dir / ("job-" + output.stem().string() + ".json");
  std::ofstream(job_file) << job.dump();
  std::string cmd = kBinary + " ";
  if (path == "process") cmd += "process " + job["endpoint"].get<std::string>() + " --job " + job_file.string() + " --chunks 2";
  else cmd += "run " + job_file.string() + " --chunks 2" + (path == "remote" ? " --workers " + workers : "");
  const auto r = rt::run_command(cmd);
  ASSERT_EQ(r.status, 0) << cmd << "\n" << r.output;
}

}  // namespace

TEST(Rotation, CopyShowsThePictureUprightOnEveryPath) {
  rt::TempDir dir;
  const fs::path pattern = test_pattern(dir);
  Workers worker(1);
  for (int degrees : {90, 180, 270}) {
    const RotatedClip clip = make_rotated(dir, pattern, degrees);
    for (const std::string path : {"process", "run", "remote"}) {
      const fs::path out = dir / ("copy-" + path + std::to_string(degrees) + ".mp4");
      run_on_path(path, {{"endpoint", "copy"}, {"preset", "ultrafast"}, {"crf", 0}}, clip.rotated, out, dir, worker.list());
      EXPECT_GT(worst_psnr(out, clip.upright), 40) << path << " at " << degrees << " degrees";
    }
  }
}

TEST(Rotation, FramingOverlayAndFramingAiSeeTheUprightPicture) {
  rt::TempDir dir;
  const fs::path pattern = test_pattern(dir);
  Workers worker(1);
  for (int degrees : {90, 270}) {
    const RotatedClip clip = make_rotated(dir, pattern, degrees);
    for (const std::string endpoint : {"framing", "overlay", "framing_ai"}) {
      const json job = rotation_job(endpoint, 96, 160);  // upright size of a 160x96 clip turned a quarter
      const fs::path reference = dir / (endpoint + "-ref" + std::to_string(degrees) + ".mp4");
      run_on_path("process", job, clip.upright, reference, dir);
      for (const std::string path : {"process", "run", "remote"}) {
        const fs::path out = dir / (endpoint + "-" + path + std::to_string(degrees) + ".mp4");
        run_on_path(path, job, clip.rotated, out, dir, worker.list());
        EXPECT_GT(worst_psnr(out, reference), 35) << endpoint << " via " << path << " at " << degrees << " degrees";
      }
    }
  }
}

TEST(Rotation, DetectBoxesAreInDisplayCoordinates) {
  rt::TempDir dir;
  const fs::path person = fs::path(REELSCALE_SAMPLES_DIR) / "one-by-one-person-8s_derived.mp4";
  for (int degrees : {90, 270}) {
    const RotatedClip clip = make_rotated(dir, person, degrees, true);
    auto boxes = [&](const fs::path& input, const std::string& how) {
      const std::string cmd = how == "process" ? kBinary + " process detect " + input.string() + " --time 6"
                                               : kBinary + " run " + (dir / "detect.json").string();
      if (how == "run") std::ofstream(dir / "detect.json") << json{{"endpoint", "detect"}, {"input", input.string()}, {"time", 6}}.dump();
      const auto r = rt::run_command(cmd, false);
      EXPECT_EQ(r.status, 0) << cmd;
      return r.status == 0 ? json::parse(r.output) : json();
    };
    const json upright = boxes(clip.upright, "process");
    ASSERT_FALSE(upright["people"].empty());
    for (const std::string how : {"process", "run"}) {
      const json rotated = boxes(clip.rotated, how);
      ASSERT_EQ(rotated["people"].size(), upright["people"].size()) << how << " at " << degrees;
      EXPECT_EQ(rotated["width"], upright["width"]);
      EXPECT_EQ(rotated["height"], upright["height"]);
      for (size_t i = 0; i < upright["people"].size(); ++i) {
        for (const char* k : {"x", "y", "width", "height"}) {
          EXPECT_NEAR(rotated["people"][i][k].get<double>(), upright["people"][i][k].get<double>(), 3.0)
              << how << " at " << degrees << " degrees, box " << i << " " << k;
        }
      }
    }
  }
}

// ---- temporaries of killed jobs --------------------------------------------------------

TEST(Temporaries, RunKilledWithSigkillLeavesObjectsThatStoreGcRemoves) {
  store::ObjectStore s;
  const Uploaded in = upload_clip(s, "sigkill.mp4", 900);
  rt::TempDir dir;
  const std::string job = write_job(dir, in, "s3://videos/killed/out.mp4");
  rt::ChildProcess run({kBinary, "run", job, "--chunks", "6", "--slots", "1"}, (dir / "run.log").string());
  bool started = false;
  for (int i = 0; i < 200 && !started; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    started = leftovers(s, "s3://videos/killed/.reelscale-tmp-") >= 2;  // the owner record and a chunk
  }
  ASSERT_TRUE(started) << "the job never wrote its temporaries";
  run.kill_now(SIGKILL);
  run.wait();
  EXPECT_GE(leftovers(s, "s3://videos/killed/.reelscale-tmp-"), 2u);
  EXPECT_FALSE(s.exists("s3://videos/killed/out.mp4"));
  // Recent leftovers of a dead job stay until they are older than the bound...
  auto gc = rt::run_command(kBinary + " store gc s3://videos/killed/ --older-than 3600");
  EXPECT_EQ(gc.status, 0) << gc.output;
  EXPECT_GE(leftovers(s, "s3://videos/killed/.reelscale-tmp-"), 2u);
  // ...and go once they are.
  gc = rt::run_command(kBinary + " store gc s3://videos/killed/ --older-than 0");
  EXPECT_EQ(gc.status, 0) << gc.output;
  EXPECT_NE(gc.output.find("1 removed"), std::string::npos) << gc.output;
  EXPECT_EQ(leftovers(s, "s3://videos/killed/.reelscale-tmp-"), 0u);
}


TEST(Temporaries, StoreGcAbortsADeadJobsUnfinishedMultipartUpload) {
  store::ObjectStore s;
  s.create_bucket("videos");
  rt::TempDir dir;
  // A 20 MB output whose multipart upload is started but never completed nor aborted, as
  // when its process is killed: the upload starts (the first POST), then completion (the
  // second POST) and the abort (DELETE) fail.
  const fs::path big = dir / "big.mp4";
  std::ofstream(big, std::ios::binary) << std::string(20 << 20, 'x');
  store::S3Config quick = store::S3Config::from_env();
  quick.max_attempts = 1;
  store::ObjectStore failing(quick);
  std::atomic<int> posts{0};
  failing.set_fault_injector([&posts](const std::string& method, const std::string&) {
    if (method == "POST") return ++posts > 1 ? 500 : 0;
    return method == "DELETE" ? 500 : 0;
  });
  const std::string output = "s3://videos/mp/out.mp4";
  EXPECT_THROW(failing.put_file(big.string(), output), Error);
  posts = 0;
  EXPECT_THROW(failing.put_file(big.string(), "s3://videos/mp/other.mp4"), Error);  // another job's
  ASSERT_EQ(s.unfinished_uploads("s3://videos/mp/").size(), 2u);
  EXPECT_FALSE(s.exists(output));
  // Its job's owner record names a process that is gone.
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, nullptr, 0);
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  s.put_bytes(json{{"job_id", "gone"}, {"host", host}, {"pid", pid}, {"started_unix_s", 0}, {"output", output}}.dump(),
              "s3://videos/mp/.reelscale-tmp-gone/owner.json");
  const auto gc = rt::run_command(kBinary + " store gc s3://videos/mp/ --older-than 0");
  EXPECT_EQ(gc.status, 0) << gc.output;
  EXPECT_NE(gc.output.find("1 unfinished upload(s) aborted"), std::string::npos) << gc.output;
  // The upload of another object is not the dead job's: it stays.
  const auto left = s.unfinished_uploads("s3://videos/mp/");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].url, "s3://videos/mp/other.mp4");
  s.abort_upload(left[0]);
  EXPECT_EQ(leftovers(s, "s3://videos/mp/"), 0u);
}
