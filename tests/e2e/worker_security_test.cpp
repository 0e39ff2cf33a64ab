// tests/e2e/worker_security_test.cpp — a worker started with tokens and a storage
// allowlist, against the real S3 server: every request it may not serve is refused with
// the right status and a JSON error, nothing is written, and it keeps serving; a task
// inside the rules runs, and `reelscale run` works against it with the token.
#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "exec/task.h"
#include "media/probe.h"
#include "process/job_spec.h"
#include "sandbox_traps.h"
#include "store/store.h"
#include "test_media.h"
#include "test_services.h"

namespace fs = std::filesystem;
namespace rt = reelscale::testing;
using namespace reelscale;
using nlohmann::json;

namespace {

const std::string kToken = "token-one-0123456789abcdef";
const std::string kRotated = "token-two-fedcba9876543210";

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) out.push_back(e.path().string());
  return out;
}

class WorkerSecurity : public ::testing::Test {
 protected:
  void SetUp() override {
    rt::ClipSpec spec;
    spec.frames = 30;
    rt::make_clip(allowed_ / "in.mp4", spec);
    store_.create_bucket("videos");
    store_.put_file((allowed_ / "in.mp4").string(), "s3://videos/allowed/in.mp4");
    std::ofstream(token_file_) << "# two tokens, for rotation\n" << kToken << "\n" << kRotated << "\n";
    port_ = rt::free_port();
    worker_ = std::make_unique<rt::ChildProcess>(
        std::vector<std::string>{REELSCALE_BINARY, "worker", "--listen", "127.0.0.1:" + std::to_string(port_), "--scratch",
                                 scratch_.path().string(), "--token-file", token_file_.string(), "--allow",
                                 allowed_.path().string(), "--allow", "s3://videos/allowed/", "--max-body-bytes", "65536"},
        (scratch_ / "worker.log").string());
    ASSERT_TRUE(rt::wait_for_http(url() + "/healthz", 20));
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // A real chunk task (copy, 10 frames) from `input` to `output`.
  std::string task(const std::string& input, const std::string& output) const {
    exec::ChunkTaskSpec t;
    t.task_id = "t-" + std::to_string(++tasks_);
    t.job = process::parse_job_spec({{"endpoint", "copy"}, {"input", input}, {"output", output}, {"fps", 30},
                                     {"preset", "ultrafast"}});
    t.probe = media::probe_video(media::MediaSource::local((allowed_ / "in.mp4").string()));
    t.range = {0, 10};
    t.output = output;
    return exec::to_json(t).dump();
  }

  httplib::Result post(const std::string& body, const std::string& token) const {
    httplib::Client c(url());
    c.set_read_timeout(60, 0);
    if (!token.empty()) c.set_bearer_token_auth(token);
    return c.Post("/tasks", body, "application/json");
  }

  // Posts and checks the status and the JSON error, then that the worker still answers.
  void expect_refused(const std::string& body, int status, const std::string& token, const std::string& what) {
    const auto res = post(body, token);
    ASSERT_TRUE(res) << what;
    EXPECT_EQ(res->status, status) << what << ": " << res->body;
    const json j = json::parse(res->body, nullptr, false);
    EXPECT_TRUE(j.is_object() && j.contains("error") && j.contains("message")) << what << ": " << res->body;
    EXPECT_TRUE(rt::wait_for_http(url() + "/healthz", 5)) << "the worker stopped serving after " << what;
  }

  store::ObjectStore store_;
  rt::TempDir allowed_, outside_, scratch_;
  fs::path token_file_ = scratch_ / "tokens";
  std::unique_ptr<rt::ChildProcess> worker_;
  int port_ = 0;
  mutable int tasks_ = 0;
};

}  // namespace

TEST_F(WorkerSecurity, WithoutTheTokenNothingButHealthz) {
  const std::string good = task((allowed_ / "in.mp4").string(), (allowed_ / "out.mp4").string());
  expect_refused(good, 401, "", "no token");
  expect_refused(good, 401, "not-the-token-0123456789", "a wrong token");
  EXPECT_FALSE(fs::exists(allowed_ / "out.mp4"));
  httplib::Client c(url());
  const auto health = c.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(json::parse(health->body), (json{{"status", "ok"}})) << "healthz reveals nothing else";
  const auto status = c.Get("/status");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->status, 401);
  EXPECT_EQ(status->get_header_value("WWW-Authenticate"), "Bearer");
  c.set_bearer_token_auth(kRotated);
  const auto allowed = c.Get("/status");
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->status, 200) << "either of the two tokens is accepted";
}

TEST_F(WorkerSecurity, StorageOutsideTheAllowlistIsRefusedAndNothingIsWritten) {
  const std::string in = (allowed_ / "in.mp4").string();
  fs::create_directory_symlink(outside_.path(), allowed_ / "link");
  fs::copy_file(in, outside_ / "secret.mp4");
  const std::vector<std::pair<std::string, std::string>> outputs = {
      {"plain", (outside_ / "out.mp4").string()},
      {"through ..", (allowed_ / ".." / outside_.path().filename() / "out.mp4").string()},
      {"through a symlink", (allowed_ / "link" / "out.mp4").string()},
      {"doubled slash", allowed_.path().string() + "//out.mp4"},
      {"percent-encoded", allowed_.path().string() + "/%2e%2e/out.mp4"},
      {"relative", "out.mp4"},
      {"another bucket", "s3://elsewhere/out.mp4"},
      {"another prefix", "s3://videos/other/out.mp4"},
      {"an S3 key through ..", "s3://videos/allowed/../other/out.mp4"},
      {"an encoded S3 key", "s3://videos/allowed/%2E%2E/other/out.mp4"},
  };
  for (const auto& [how, output] : outputs) expect_refused(task(in, output), 403, kToken, "output " + how);
  const std::vector<std::pair<std::string, std::string>> inputs = {
      {"plain", (outside_ / "secret.mp4").string()},
      {"through a symlink", (allowed_ / "link" / "secret.mp4").string()},
      {"another prefix", "s3://videos/other/in.mp4"},
  };
  for (const auto& [how, input] : inputs) {
    expect_refused(task(input, (allowed_ / "out.mp4").string()), 403, kToken, "input " + how);
  }
  const auto refused = post(task(in, (outside_ / "out.mp4").string()), kToken);
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->body.find("outside the allowed folders"), std::string::npos) << "the error names the rule";
  EXPECT_EQ(files_in(outside_.path()), std::vector<std::string>{(outside_ / "secret.mp4").string()}) << "nothing written";
  EXPECT_FALSE(fs::exists(allowed_ / "out.mp4"));
  EXPECT_TRUE(store_.list("s3://videos/other/").empty());
  // A task inside the rules still runs, locally and on S3.
  const auto ok = post(task(in, (allowed_ / "out.mp4").string()), kToken);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(rt::ffprobe_packet_count(allowed_ / "out.mp4"), 10);
  const auto s3 = post(task("s3://videos/allowed/in.mp4", "s3://videos/allowed/out.mp4"), kRotated);
  ASSERT_TRUE(s3);
  EXPECT_EQ(s3->status, 200) << s3->body;
}

TEST_F(WorkerSecurity, OversizedAndMalformedBodiesAreRefused) {
  expect_refused(std::string(100000, ' ') + "{}", 413, kToken, "a 100 kB body");
  expect_refused("{\"task_id\": ", 400, kToken, "malformed JSON");
  expect_refused("[1, 2, 3]", 400, kToken, "not a task");
  json t = json::parse(task((allowed_ / "in.mp4").string(), (allowed_ / "out.mp4").string()));
  t["job"]["segments"] = json::array();
  for (int i = 0; i < 1001; ++i) t["job"]["segments"].push_back({{"start", 0}, {"end", 0.1}});
  expect_refused(t.dump(), 400, kToken, "1001 segments (the body fits)");
  EXPECT_FALSE(fs::exists(allowed_ / "out.mp4"));
}

TEST_F(WorkerSecurity, RunSendsTheToken) {
  const json job = {{"endpoint", "copy"}, {"input", "s3://videos/allowed/in.mp4"},
                    {"output", "s3://videos/allowed/run.mp4"}, {"preset", "ultrafast"}};
  const fs::path job_file = scratch_ / "job.json";
  std::ofstream(job_file) << job.dump();
  const std::string run = std::string(REELSCALE_BINARY) + " run " + job_file.string() + " --chunks 2 --workers " + url();
  const auto with = rt::run_command(run + " --token-file " + token_file_.string());
  EXPECT_EQ(with.status, 0) << with.output;
  EXPECT_EQ(store_.list("s3://videos/allowed/run.mp4").size(), 1u);
  const auto without = rt::run_command(run + " 2>&1");
  EXPECT_NE(without.status, 0);
  EXPECT_NE(without.output.find("401"), std::string::npos) << without.output;
  EXPECT_TRUE(rt::wait_for_http(url() + "/healthz", 5));
}

// Playlists, manifests and lists uploaded inside the allowlist (on disk and in S3) are
// refused by the worker when it opens them (400 naming the format), and by `reelscale run`
// on this worker before any task; nothing outside is opened and nothing is connected to.
TEST_F(WorkerSecurity, AnUploadThatPointsOutsideIsRefusedAndReadsNothing) {
  rt::ConnectionCounter http;
  fs::copy_file(allowed_ / "in.mp4", outside_ / "secret.mp4");
  fs::create_directory(allowed_ / "traps");
  const std::vector<rt::Trap> traps = rt::make_traps(allowed_ / "traps", outside_ / "secret.mp4", http.base_url());
  rt::FolderWatch watch(outside_.path());
  int checked = 0;
  for (const rt::Trap& trap : traps) {
    if (!fs::exists(trap.path)) continue;
    const std::string key = "s3://videos/allowed/traps/" + trap.path.filename().string();
    store_.put_file(trap.path.string(), key);
    for (const std::string& input : {trap.path.string(), key}) {
      const auto res = post(task(input, "s3://videos/allowed/trap-out.mp4"), kToken);
      ASSERT_TRUE(res) << trap.name;
      EXPECT_EQ(res->status, 400) << trap.name << " from " << input << ": " << res->body;
      EXPECT_NE(res->body.find(trap.refusal), std::string::npos) << trap.name << ": " << res->body;
    }
    const fs::path job_file = scratch_ / "trap-job.json";
    std::ofstream(job_file) << json{{"endpoint", "copy"}, {"input", key}, {"output", "s3://videos/allowed/trap-out.mp4"},
                                    {"preset", "ultrafast"}}.dump();
    const auto run = rt::run_command(std::string(REELSCALE_BINARY) + " run " + job_file.string() + " --workers " + url() +
                                     " --token-file " + token_file_.string());
    EXPECT_EQ(run.status, 2) << trap.name << ": " << run.output;
    EXPECT_NE(run.output.find(trap.refusal), std::string::npos) << trap.name << ": " << run.output;
    EXPECT_EQ(watch.take_events(), 0) << trap.name << " opened a file outside";
    ++checked;
  }
  EXPECT_GE(checked, 7);
  EXPECT_EQ(http.connections(), 0) << "a trap reached the loopback HTTP server";
  EXPECT_TRUE(store_.list("s3://videos/allowed/trap-out").empty());
  EXPECT_TRUE(rt::wait_for_http(url() + "/healthz", 5));
}
