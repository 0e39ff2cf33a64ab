// tests/e2e/serve_test.cpp — `reelscale serve` over real HTTP on loopback, as a child
// process with its SQLite job store: submit and poll to a frame-exact output (local disk
// and the S3 test server), idempotency, refusals (token, spec, allowlist) while it keeps
// serving, cancelling mid-job, SIGKILL mid-job and a restart that leaves nothing behind,
// a burst against a small queue, and the API document against the routes served.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "common/cores.h"
#include "plan/inputs.h"
#include "sandbox_traps.h"
#include "serve_service.h"
#include "store/store.h"
#include "test_media.h"
#include "test_services.h"

namespace fs = std::filesystem;
namespace rt = reelscale::testing;
using namespace reelscale;
using nlohmann::json;

namespace {

const std::string& kToken = rt::kServeToken;
using Service = rt::ServeService;

rt::ClipSpec clip_spec(int frames) {
  rt::ClipSpec spec;
  spec.width = 320;
  spec.height = 180;
  spec.frames = frames;
  spec.keyint = 30;
  return spec;
}

// A framing job that keeps the picture (full-frame crop, same size): its barcodes read back.
json framing_job(const std::string& input, const std::string& output, const rt::ClipSpec& spec, int chunks = 2,
                 const std::string& preset = "ultrafast") {
  return {{"endpoint", "framing"}, {"input", input}, {"output", output}, {"output_width", spec.width},
          {"output_height", spec.height}, {"fps", 30}, {"preset", preset}, {"chunks", chunks},
          {"crop_keyframes", json::array({{{"time", 0}, {"x", 0}, {"y", 0}, {"width", spec.width}, {"height", spec.height}}})}};
}

// The same scaled up to 1280x720 with x264 medium: slow enough to catch mid-job.
json slow_job(const std::string& input, const std::string& output, const rt::ClipSpec& spec) {
  json j = framing_job(input, output, spec, 2, "medium");
  j["output_width"] = 1280;
  j["output_height"] = 720;
  return j;
}

using rt::iota;

const std::string kWorkerToken = "worker-token-for-serve-0123456789";

// Starts `count` remote workers on loopback that accept `allow` and the token written to
// DIR/worker-token: their URLs, comma-separated ("" : one did not answer).
std::string start_workers(const fs::path& dir, int count, const std::string& allow,
                          std::vector<std::unique_ptr<rt::ChildProcess>>& workers) {
  std::ofstream(dir / "worker-token") << kWorkerToken << "\n";
  std::string urls;
  for (int i = 0; i < count; ++i) {
    const int port = rt::free_port();
    workers.push_back(std::make_unique<rt::ChildProcess>(
        std::vector<std::string>{REELSCALE_BINARY, "worker", "--listen", "127.0.0.1:" + std::to_string(port), "--scratch",
                                 dir.string(), "--allow", allow, "--token-file", (dir / "worker-token").string()},
        (dir / ("worker" + std::to_string(workers.size()) + ".log")).string()));
    const std::string url = "http://127.0.0.1:" + std::to_string(port);
    if (!rt::wait_for_http(url + "/healthz", 20)) return "";
    urls += (urls.empty() ? "" : ",") + url;
  }
  return urls;
}

httplib::Result submit(const Service& s, const json& job, const std::string& key = "") { return s.submit(job, key); }

class Serve : public ::testing::Test {
 protected:
  void SetUp() override {
    clip_ = dir_ / "clip.mp4";
    rt::make_clip(clip_, spec_);
  }
  rt::TempDir dir_;
  rt::ClipSpec spec_ = clip_spec(90);
  fs::path clip_;
};

}  // namespace

TEST_F(Serve, ASubmittedJobRunsToAFrameExactOutputOnDiskAndInS3) {
  Service service(dir_.path());
  store::ObjectStore store;
  store.create_bucket("videos");
  store.put_file(clip_.string(), "s3://videos/serve/in/clip.mp4");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {clip_.string(), (dir_ / "out.mp4").string()},
      {"s3://videos/serve/in/clip.mp4", "s3://videos/serve/out/clip.mp4"}};
  for (const auto& [input, output] : cases) {
    auto r = submit(service, framing_job(input, output, spec_));
    ASSERT_TRUE(r) << service.log();
    ASSERT_EQ(r->status, 202) << r->body;
    const json accepted = json::parse(r->body);
    EXPECT_EQ(accepted["state"], "queued");
    EXPECT_EQ(accepted["plan"]["hardware"], "CPU");
    EXPECT_EQ(accepted["plan"]["chunks"], 2);
    EXPECT_FALSE(accepted["plan"]["profile_version"].get<std::string>().empty());
    const std::string id = accepted["id"];
    const json done = service.wait_finished(id);
    ASSERT_EQ(done["state"], "done") << done.dump(2) << service.log();
    EXPECT_EQ(done["progress"]["frames_done"], spec_.frames);
    EXPECT_EQ(done["progress"]["chunks_done"], 2);
    EXPECT_EQ(done["record"]["job_id"], id) << "the typed record of the job";
    EXPECT_EQ(done["record"]["chunk_results"].size(), 2u);
    EXPECT_EQ(done["output"], output);
    EXPECT_GT(done["actual"]["wall_s"].get<double>(), 0);
    rt::TempDir back;
    store.get_to_file(output, (back / "out.mp4").string());
    EXPECT_EQ(rt::read_indices(rt::decode_gray(back / "out.mp4"), spec_.width, spec_.height), iota(spec_.frames));
  }
  EXPECT_TRUE(rt::hidden_files(dir_.path()).empty()) << "no temporaries left beside the output";
  EXPECT_TRUE(store.list("s3://videos/serve/out/.reelscale-tmp").empty());
  // The listing pages through both, oldest first.
  auto page = service.client().Get("/v1/jobs?limit=1");
  ASSERT_TRUE(page);
  const json p1 = json::parse(page->body);
  ASSERT_EQ(p1["jobs"].size(), 1u);
  ASSERT_TRUE(p1["next_cursor"].is_string());
  const json p2 = json::parse(service.client().Get("/v1/jobs?limit=5&cursor=" + p1["next_cursor"].get<std::string>())->body);
  ASSERT_EQ(p2["jobs"].size(), 1u);
  EXPECT_NE(p2["jobs"][0]["id"], p1["jobs"][0]["id"]);
  EXPECT_EQ(json::parse(service.client().Get("/v1/jobs?state=failed")->body)["jobs"].size(), 0u);
}

TEST_F(Serve, JobsRunOnRemoteWorkersWithS3Storage) {
  const std::string worker_token = kWorkerToken;
  std::vector<std::unique_ptr<rt::ChildProcess>> workers;
  const std::string urls = start_workers(dir_.path(), 2, "s3://videos/serve/", workers);
  ASSERT_FALSE(urls.empty());
  store::ObjectStore store;
  store.create_bucket("videos");
  store.put_file(clip_.string(), "s3://videos/serve/remote/in.mp4");
  Service service(dir_.path(), {"--workers", urls, "--worker-token-file", (dir_ / "worker-token").string()});
  auto r = submit(service, framing_job("s3://videos/serve/remote/in.mp4", "s3://videos/serve/remote/out.mp4", spec_, 2));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  const json done = service.wait_finished(json::parse(r->body)["id"]);
  ASSERT_EQ(done["state"], "done") << done.dump(2) << service.log();
  std::set<std::string> ran_on;
  for (const auto& c : done["record"]["chunk_results"]) ran_on.insert(c["worker"].get<std::string>());
  for (const std::string& w : ran_on) EXPECT_NE(urls.find(w), std::string::npos) << w << " is not one of " << urls;
  rt::TempDir back;
  store.get_to_file("s3://videos/serve/remote/out.mp4", (back / "out.mp4").string());
  EXPECT_EQ(rt::read_indices(rt::decode_gray(back / "out.mp4"), spec_.width, spec_.height), iota(spec_.frames));
  EXPECT_EQ(store.list("s3://videos/serve/remote/").size(), 2u) << "the input and the output, no temporaries";
  // Each worker's /metrics (behind its token) counts the tasks it ran.
  double done_tasks = 0;
  for (size_t from = 0; from < urls.size();) {
    const size_t comma = urls.find(',', from);
    const std::string url = urls.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
    from = comma == std::string::npos ? urls.size() : comma + 1;
    httplib::Client c("127.0.0.1", std::stoi(url.substr(url.rfind(':') + 1)));
    EXPECT_EQ(c.Get("/metrics")->status, 401);
    c.set_bearer_token_auth(worker_token);
    auto m = c.Get("/metrics");
    ASSERT_EQ(m->status, 200);
    EXPECT_NE(m->body.find("reelscale_worker_up 1"), std::string::npos) << m->body;
    std::smatch hit;
    if (std::regex_search(m->body, hit, std::regex(R"(reelscale_worker_tasks_total\{outcome="done"\} (\d+))"))) {
      done_tasks += std::stod(hit[1]);
    }
  }
  EXPECT_GE(done_tasks, 2) << "the job's two chunks";
  auto metrics = service.client().Get("/metrics");
  EXPECT_NE(metrics->body.find("reelscale_workers_up 2"), std::string::npos) << metrics->body;
}

TEST_F(Serve, TheSameIdempotencyKeyGivesTheSameJobAndAnotherBodyConflicts) {
  Service service(dir_.path());
  const json job = framing_job(clip_.string(), (dir_ / "idem.mp4").string(), spec_);
  auto first = submit(service, job, "key-1");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 202) << first->body;
  auto again = submit(service, job, "key-1");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(json::parse(again->body)["id"], json::parse(first->body)["id"]);
  json other = job;
  other["output"] = (dir_ / "other.mp4").string();
  auto conflict = submit(service, other, "key-1");
  ASSERT_TRUE(conflict);
  EXPECT_EQ(conflict->status, 409) << conflict->body;
  service.wait_finished(json::parse(first->body)["id"]);
  EXPECT_EQ(json::parse(service.client().Get("/v1/jobs")->body)["jobs"].size(), 1u) << "one job for one key";
}

TEST_F(Serve, RefusesWhatItMayNotDoAndKeepsServing) {
  Service service(dir_.path());
  const json job = framing_job(clip_.string(), (dir_ / "ok.mp4").string(), spec_);
  auto no_token = service.client(false).Post("/v1/jobs", job.dump(), "application/json");
  ASSERT_TRUE(no_token);
  EXPECT_EQ(no_token->status, 401);
  httplib::Client wrong("127.0.0.1", std::stoi(service.url().substr(service.url().rfind(':') + 1)));
  wrong.set_bearer_token_auth("not-the-token-at-all-0000");
  EXPECT_EQ(wrong.Get("/v1/jobs")->status, 401);
  json bad = job;
  bad["output_width"] = 333;
  auto bad_spec = submit(service, bad);
  EXPECT_EQ(bad_spec->status, 400);
  EXPECT_NE(bad_spec->body.find("output_width"), std::string::npos) << bad_spec->body;
  EXPECT_EQ(service.client().Post("/v1/jobs", "{not json", "application/json")->status, 400);
  json outside = job;
  outside["output"] = "/tmp/reelscale-serve-outside.mp4";
  auto denied = submit(service, outside);
  EXPECT_EQ(denied->status, 403);
  EXPECT_NE(denied->body.find("allow"), std::string::npos) << denied->body;
  EXPECT_FALSE(fs::exists("/tmp/reelscale-serve-outside.mp4"));
  json dotdot = job;
  dotdot["output"] = (dir_ / ".." / "escape.mp4").string();
  EXPECT_EQ(submit(service, dotdot)->status, 403);
  EXPECT_EQ(service.client().Get("/v1/jobs/0123456789ab")->status, 404);
  // Any id that names no job, hex or not, is "no job", not "no route" (issue 31).
  for (const std::string id : {"nosuchjob", "0123456789ab"}) {
    const auto expect_no_job = [&](const httplib::Result& r) {
      ASSERT_TRUE(r) << id;
      EXPECT_EQ(r->status, 404) << id;
      EXPECT_NE(r->body.find("no job " + id), std::string::npos) << r->body;
    };
    expect_no_job(service.client().Get("/v1/jobs/" + id));
    expect_no_job(service.client().Delete("/v1/jobs/" + id));
    expect_no_job(service.client().Get("/v1/jobs/" + id + "/deliveries"));
  }
  EXPECT_EQ(service.client().Get("/v1/plan?endpoint=framing")->status, 400) << "length is required";
  // Every refusal above is in the log, with its status.
  const std::string log = service.log();
  EXPECT_NE(log.find("submission refused from"), std::string::npos) << log;
  EXPECT_NE(log.find(" 403 "), std::string::npos) << log;
  EXPECT_NE(log.find(" 400 "), std::string::npos) << log;
  // Still serving: a good job runs.
  EXPECT_EQ(service.client(false).Get("/healthz")->status, 200);
  auto ok = submit(service, job);
  ASSERT_EQ(ok->status, 202);
  EXPECT_EQ(service.wait_finished(json::parse(ok->body)["id"])["state"], "done");
}

TEST_F(Serve, CancellingMidJobLeavesNoOutputAndNoTemporaries) {
  rt::ClipSpec long_spec = clip_spec(1500);
  rt::make_clip(dir_ / "long.mp4", long_spec);
  Service service(dir_.path());
  auto r = submit(service, slow_job((dir_ / "long.mp4").string(), (dir_ / "cancelled.mp4").string(), long_spec));
  ASSERT_EQ(r->status, 202) << r->body;
  const std::string id = json::parse(r->body)["id"];
  ASSERT_TRUE(service.wait_running(id)) << service.log();
  auto del = service.client().Delete("/v1/jobs/" + id);
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 202);
  const json j = service.wait_finished(id, 30);
  EXPECT_EQ(j["state"], "cancelled") << j.dump(2);
  EXPECT_FALSE(fs::exists(dir_ / "cancelled.mp4"));
  EXPECT_TRUE(rt::hidden_files(dir_.path()).empty());
  EXPECT_EQ(service.client().Delete("/v1/jobs/fedcba987654")->status, 404);
}

TEST_F(Serve, KilledMidJobAndRestartedLeavesNothingRunningAndNothingBehind) {
  // Long enough (a minute or more each) that neither can finish before the other has started,
  // however loaded the machine: both are killed mid-job. Each job claims one slot of the two
  // (--max-chunks-per-job 1), so both run at once; a job claiming both would hold the second
  // back until it ended, and then only a race decided whether the first was still running.
  rt::ClipSpec long_spec = clip_spec(4500);
  rt::make_clip(dir_ / "long.mp4", long_spec);
  store::ObjectStore store;
  store.create_bucket("videos");
  std::string local_id, s3_id, queued_id;
  {
    Service service(dir_.path(), {"--max-running", "2", "--slots", "2", "--max-chunks-per-job", "1"});
    auto a = submit(service, slow_job((dir_ / "long.mp4").string(), (dir_ / "killed.mp4").string(), long_spec));
    auto b = submit(service, slow_job((dir_ / "long.mp4").string(), "s3://videos/serve/killed/out.mp4", long_spec));
    ASSERT_EQ(a->status, 202) << a->body;
    ASSERT_EQ(b->status, 202) << b->body;
    local_id = json::parse(a->body)["id"];
    s3_id = json::parse(b->body)["id"];
    // A third waits in the queue (two run at once): accepted, so it must survive the kill.
    auto c = submit(service, framing_job(clip_.string(), (dir_ / "queued.mp4").string(), spec_));
    ASSERT_EQ(c->status, 202) << c->body;
    queued_id = json::parse(c->body)["id"];
    ASSERT_TRUE(service.wait_running(local_id)) << service.log();
    ASSERT_TRUE(service.wait_running(s3_id)) << service.log();
    EXPECT_FALSE(rt::hidden_files(dir_.path()).empty()) << "the running job has temporaries";
    service.process().kill_now(9);
    service.process().wait();
  }
  Service restarted(dir_.path());
  for (const std::string& id : {local_id, s3_id}) {
    const json j = restarted.get_job(id);
    ASSERT_EQ(j["state"], "failed") << j.dump(2);
    EXPECT_EQ(j["error"]["kind"], "interrupted");
  }
  EXPECT_FALSE(fs::exists(dir_ / "killed.mp4"));
  EXPECT_TRUE(store.list("s3://videos/serve/killed/").empty()) << "S3 temporaries removed at start";
  const json resumed = restarted.wait_finished(queued_id);
  EXPECT_EQ(resumed["state"], "done") << "the queued job ran after the restart";
  // (Checked once the resumed job, which writes beside them, has finished.)
  EXPECT_TRUE(rt::hidden_files(dir_.path()).empty()) << "local temporaries removed at start";
  EXPECT_EQ(rt::read_indices(rt::decode_gray(dir_ / "queued.mp4"), spec_.width, spec_.height), iota(spec_.frames));
  EXPECT_EQ(json::parse(restarted.client().Get("/v1/queue")->body)["running"], 0);
}

TEST_F(Serve, ABurstAgainstASmallQueueIsEitherAcceptedAndFinishedOrRefusedWith429) {
  // Jobs that each take a while (scaled up to 1280x720 with x264 medium), so the 50
  // submissions arrive faster than any machine runs them: a planned submission (probe,
  // content sample) takes milliseconds, and tiny jobs could drain the queue as fast.
  rt::ClipSpec tiny = clip_spec(30);
  rt::make_clip(dir_ / "tiny.mp4", tiny);
  Service service(dir_.path(), {"--max-queued", "3", "--max-running", "2"});  // two at once share a folder
  std::vector<std::string> accepted;
  int refused = 0;
  for (int i = 0; i < 50; ++i) {
    auto r = submit(service, slow_job((dir_ / "tiny.mp4").string(), (dir_ / ("burst" + std::to_string(i) + ".mp4")).string(),
                                      tiny));
    ASSERT_TRUE(r);
    if (r->status == 202) {
      accepted.push_back(json::parse(r->body)["id"]);
    } else {
      EXPECT_EQ(r->status, 429) << r->body;
      EXPECT_FALSE(r->get_header_value("Retry-After").empty());
      ++refused;
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_GE(accepted.size(), 3u);
  EXPECT_EQ(accepted.size() + refused, 50u);
  for (const std::string& id : accepted) EXPECT_EQ(service.wait_finished(id)["state"], "done") << id;
  const json all = json::parse(service.client().Get("/v1/jobs?limit=1000")->body);
  EXPECT_EQ(all["jobs"].size(), accepted.size()) << "every accepted job is recorded, no refused one";
  EXPECT_EQ(json::parse(service.client().Get("/v1/jobs?state=done&limit=1000")->body)["jobs"].size(), accepted.size());
}

TEST_F(Serve, ALongJobDoesNotStarveAShortOneThatArrivesAfterIt) {
  rt::ClipSpec long_spec = clip_spec(1500);
  rt::make_clip(dir_ / "long.mp4", long_spec);
  Service service(dir_.path(), {"--slots", "2", "--max-chunks-per-job", "1", "--max-running", "2"});
  json long_job = slow_job((dir_ / "long.mp4").string(), (dir_ / "long-out.mp4").string(), long_spec);
  long_job["chunks"] = 4;
  auto l = submit(service, long_job);
  ASSERT_EQ(l->status, 202) << l->body;
  const std::string long_id = json::parse(l->body)["id"];
  ASSERT_TRUE(service.wait_running(long_id));
  const auto t0 = std::chrono::steady_clock::now();
  auto s = submit(service, framing_job(clip_.string(), (dir_ / "short.mp4").string(), spec_, 1));
  ASSERT_EQ(s->status, 202) << s->body;
  const json short_done = service.wait_finished(json::parse(s->body)["id"], 30);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(short_done["state"], "done");
  EXPECT_EQ(service.get_job(long_id)["state"], "running") << "the short job finished while the long one ran";
  EXPECT_LT(waited, 10) << "it did not wait for the long job's chunks";
  service.client().Delete("/v1/jobs/" + long_id);
  EXPECT_EQ(service.wait_finished(long_id, 30)["state"], "cancelled");
}

// Without a profile, on local slots, the service fits the built-in local profile to the
// machine at start: every CPU per-frame figure scaled by one factor its start-up check
// measured, stored as the first version with the check in its provenance, and readable
// whole at /v1/profiles/{version}. With --no-machine-check the built-in figures stand.
TEST_F(Serve, OnTheDefaultsTheBuiltInProfileIsFittedToTheMachineAtStart) {
  const plan::Profile built_in = plan::default_local_profile();
  const double built_in_ms = plan::to_json(built_in)["endpoints"]["framing"]["CPU"]["ms_per_frame"].get<double>();
  for (const bool checked : {true, false}) {
    const fs::path home = dir_ / (checked ? "checked" : "unchecked");
    fs::create_directories(home);
    Service service(home, checked ? std::vector<std::string>{} : std::vector<std::string>{"--no-machine-check"});
    const json profiles = json::parse(service.client().Get("/v1/profiles")->body);
    const std::string in_use = profiles["in_use"];
    auto got = service.client().Get("/v1/profiles/" + in_use);
    if (!checked) {
      EXPECT_EQ(in_use, built_in.version()) << profiles.dump(2);
      EXPECT_EQ(got->status, 404) << "the built-in profile as it is is not stored: " << got->body;
      continue;
    }
    ASSERT_EQ(got->status, 200) << got->body;
    const json version = json::parse(got->body);
    EXPECT_TRUE(version["active"].get<bool>());
    EXPECT_NE(version["provenance"].get<std::string>().find("fitted to this machine"), std::string::npos) << version.dump(2);
    const json& p = version["profile"];
    const plan::Profile fitted = plan::parse_profile(p);
    const double reference = 810.0 * 1440.0;
    const double factor = fitted.cell("framing", "CPU").frame_time.ms(reference) / built_in.cell("framing", "CPU").frame_time.ms(reference);
    EXPECT_NEAR(p["endpoints"]["framing"]["CPU"]["ms_per_frame"].get<double>(), factor * built_in_ms, 1e-6 * built_in_ms);
    EXPECT_GE(factor, 1.0 / 16 - 1e-9);
    EXPECT_LE(factor, 16 + 1e-9);
    // One factor for every CPU cell, none for a GPU's; the figures say where it came from.
    for (const std::string endpoint : {"framing", "overlay", "framing_ai"}) {
      EXPECT_NEAR(fitted.cell(endpoint, "CPU").frame_time.ms(reference),
                  factor * built_in.cell(endpoint, "CPU").frame_time.ms(reference), 1e-6 * built_in_ms)
          << endpoint;
      EXPECT_DOUBLE_EQ(fitted.cell(endpoint, "T4").frame_time.ms(reference), built_in.cell(endpoint, "T4").frame_time.ms(reference))
          << endpoint;
    }
    EXPECT_NE(p["endpoints"]["framing"]["CPU"]["source"].get<std::string>().find("start-up check"), std::string::npos)
        << p["endpoints"]["framing"]["CPU"].dump(2);
    EXPECT_EQ(service.client().Get("/v1/profiles/no-such-version")->status, 404);
  }
}

// The profile is biased relative to what this machine measures in the same test (the one
// the service fitted at start), not to the built-in figures: a machine three times faster
// than those turned an 8x bias into a 24x one, past the old fixed bound on a refit's move.
TEST_F(Serve, OnlineCalibrationFromABiasedProfileLowersThePredictionError) {
  json biased;
  {
    fs::create_directories(dir_ / "measure");
    Service measure(dir_ / "measure");
    const std::string fitted = json::parse(measure.client().Get("/v1/profiles")->body)["in_use"];
    auto got = measure.client().Get("/v1/profiles/" + fitted);
    ASSERT_EQ(got->status, 200) << got->body;
    biased = json::parse(got->body)["profile"];
  }
  // Framing 8 times too slow for this machine (every stage of its cell).
  plan::Profile slow = plan::parse_profile(biased);
  slow.name = "biased";
  slow.declared_version.clear();
  slow.cells["framing"]["CPU"].frame_time.scale(8);
  std::ofstream(dir_ / "biased.json") << plan::to_json(slow).dump();
  Service service(dir_.path(), {"--profile", (dir_ / "biased.json").string(), "--calibrate-every", "4",
                                "--calibrate-min-records", "3", "--max-running", "1"});
  // Jobs long enough that their frames, not the fixed overheads, make their time.
  rt::ClipSpec bigger = clip_spec(240);
  bigger.width = 640;
  bigger.height = 360;
  rt::make_clip(dir_ / "bigger.mp4", bigger);
  const json before = json::parse(service.client().Get("/v1/profiles")->body);
  ASSERT_EQ(before["versions"].size(), 1u) << before.dump(2);
  int submitted = 0;
  const auto error_of = [&]() {
    auto r = submit(service, framing_job((dir_ / "bigger.mp4").string(),
                                         (dir_ / ("cal" + std::to_string(submitted++) + ".mp4")).string(), bigger, 1));
    EXPECT_EQ(r->status, 202) << r->body;
    const json j = service.wait_finished(json::parse(r->body)["id"]);
    EXPECT_EQ(j["state"], "done");
    return std::abs(j["record"]["timings_s"]["total"].get<double>() / j["predicted"]["wall_s"].get<double>() - 1);
  };
  const auto active = [&] { return json::parse(service.client().Get("/v1/profiles")->body)["active"]; };
  // An 8x move needs 3 held-back records won (1 in 8 by chance): the refit at 12 records
  // holds back 3, the one at 16 holds back 4 (enough up to a 16x move: a check taken on a
  // loaded machine may bias it further). Bounded: by 24 jobs.
  std::vector<double> early, late;
  for (int i = 0; i < 24 && active() == before["active"]; ++i) {
    const double e = error_of();
    if (i < 4) early.push_back(e);
    if (i >= 11) {  // the refit runs as the job finishes: let it land before asking again
      for (int k = 0; k < 50 && active() == before["active"]; ++k) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  const json after = json::parse(service.client().Get("/v1/profiles")->body);
  ASSERT_NE(after["active"], before["active"]) << after.dump(2);
  EXPECT_LE(submitted, 24);
  EXPECT_GE(after["versions"].size(), 2u);
  EXPECT_LT(after["versions"][0]["error_after"].get<double>(), after["versions"][0]["error_before"].get<double>());
  for (int i = 0; i < 4; ++i) late.push_back(error_of());
  std::sort(early.begin(), early.end());
  std::sort(late.begin(), late.end());
  EXPECT_LT(late[2], early[2] / 2) << "median error before the refit " << early[2] << ", after " << late[2];
  // A restart keeps planning with the refit (no --profile given).
  const std::string refit = json::parse(service.client().Get("/v1/profiles")->body)["active"];
  service.process().kill_now(15);
  service.process().wait();
  Service restarted(dir_.path());
  EXPECT_EQ(json::parse(restarted.client().Get("/v1/profiles")->body)["in_use"], refit);
}

// Prometheus (Debian's, started here) scrapes /metrics with the bearer token; a PromQL
// query over its HTTP API counts the jobs that were run.
TEST_F(Serve, ARealPrometheusScrapesTheMetricsAndCountsTheJobs) {
  Service service(dir_.path());
  const std::string port = service.url().substr(service.url().rfind(':') + 1);
  for (int i = 0; i < 3; ++i) {
    auto r = submit(service, framing_job(clip_.string(), (dir_ / ("m" + std::to_string(i) + ".mp4")).string(), spec_, 1 + i % 2));
    ASSERT_EQ(r->status, 202) << r->body;
    EXPECT_EQ(service.wait_finished(json::parse(r->body)["id"])["state"], "done");
  }
  EXPECT_EQ(submit(service, json{{"endpoint", "framing"}})->status, 400);
  auto raw = service.client().Get("/metrics");
  ASSERT_EQ(raw->status, 200);
  EXPECT_NE(raw->body.find("reelscale_jobs_total{endpoint=\"framing\",state=\"done\"} 3"), std::string::npos) << raw->body;
  EXPECT_EQ(service.client(false).Get("/metrics")->status, 401);
  std::ofstream(dir_ / "prometheus.yml") << "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: reelscale\n"
                                         << "    authorization:\n      credentials_file: " << (dir_ / "token").string()
                                         << "\n    static_configs:\n      - targets: ['127.0.0.1:" << port << "']\n";
  const int prom_port = rt::free_port();
  rt::ChildProcess prometheus({"/usr/bin/prometheus", "--config.file=" + (dir_ / "prometheus.yml").string(),
                               "--storage.tsdb.path=" + (dir_ / "tsdb").string(),
                               "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
                              (dir_ / "prometheus.log").string());
  ASSERT_TRUE(rt::wait_for_http("http://127.0.0.1:" + std::to_string(prom_port) + "/-/ready", 30));
  httplib::Client prom("127.0.0.1", prom_port);
  std::string value;
  for (int i = 0; i < 100 && value.empty(); ++i) {
    auto r = prom.Get("/api/v1/query?query=sum(reelscale_jobs_total)");
    if (r && r->status == 200) {
      const json j = json::parse(r->body);
      if (!j["data"]["result"].empty()) value = j["data"]["result"][0]["value"][1];
    }
    if (value.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(value, "3") << "jobs counted by Prometheus";
  auto refused = prom.Get("/api/v1/query?query=sum(reelscale_submissions_refused_total)");
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->body.find("\"1\""), std::string::npos) << refused->body;
  auto up = prom.Get("/api/v1/query?query=up");
  EXPECT_NE(up->body.find("\"1\""), std::string::npos) << "the scrape with the token succeeded: " << up->body;
  // The cost-analysis spreadsheet from the same store's records.
  fs::create_directories(dir_ / "report");
  fs::create_directories(dir_ / "r2");
  const auto report = rt::run_command(std::string(REELSCALE_BINARY) + " report --from-db " + (dir_ / "jobs.db").string() +
                                      " --out " + (dir_ / "report").string() + " --volumes 100,1000");
  ASSERT_EQ(report.status, 0) << report.output;
  std::ifstream md(dir_ / "report" / "report.md");
  const std::string text(std::istreambuf_iterator<char>(md), {});
  EXPECT_NE(text.find("| framing | 3 | 0 |"), std::string::npos) << text;
  EXPECT_NE(text.find("| 1000 |"), std::string::npos) << text;
  EXPECT_TRUE(fs::exists(dir_ / "report" / "report.csv"));
  EXPECT_TRUE(fs::exists(dir_ / "report" / "report.svg"));
  EXPECT_NE(rt::run_command(std::string(REELSCALE_BINARY) + " report --from-db " + (dir_ / "nope.db").string() + " --out " +
                            (dir_ / "r2").string()).status, 0);
}

// Browsers accept brotli; httplib 0.11's brotli runs at its slowest setting, so the service
// gzips its large replies itself (serve/reply_compression.h).
TEST_F(Serve, LargeRepliesGoOutGzippedOnceEvenToClientsThatAcceptBrotli) {
  Service service(dir_.path());
  for (const std::string target : {"/static/chart.js", "/v1/stats?hours=24", "/"}) {
    httplib::Client c = service.client();
    c.set_decompress(false);
    auto r = c.Get(target, {{"Accept-Encoding", "gzip, deflate, br"}});
    ASSERT_TRUE(r && r->status == 200) << target;
    EXPECT_EQ(r->get_header_value("Content-Encoding"), "gzip") << target;
    EXPECT_EQ(r->get_header_value_count("Content-Type"), 1u) << target;
    EXPECT_EQ(r->get_header_value_count("Content-Encoding"), 1u) << target;
    const fs::path zipped = dir_ / "reply.gz";
    std::ofstream(zipped, std::ios::binary) << r->body;
    const auto plain = rt::run_command("gunzip -c " + zipped.string(), false);
    ASSERT_EQ(plain.status, 0) << target << " is not one gzip stream";
    httplib::Client direct = service.client();
    auto uncompressed = direct.Get(target, {{"Accept-Encoding", "identity"}});
    ASSERT_TRUE(uncompressed && uncompressed->status == 200);
    EXPECT_TRUE(uncompressed->get_header_value("Content-Encoding").empty());
    if (target != "/v1/stats?hours=24") {
      EXPECT_EQ(plain.output, uncompressed->body) << target;
    }
    if (target.rfind("/v1/", 0) == 0) {
      EXPECT_TRUE(nlohmann::json::accept(plain.output)) << target;
    }
  }
}

TEST_F(Serve, TheApiDocumentListsExactlyTheRoutesServed) {
  std::ifstream f(std::string(REELSCALE_SOURCE_DIR) + "/docs/api/openapi.yaml");
  ASSERT_TRUE(f) << "docs/api/openapi.yaml";
  std::set<std::string> documented;
  std::string line, path;
  const std::regex path_line(R"(^  (/[^:]*):\s*$)"), method_line(R"(^    (get|post|put|delete|patch):\s*$)");
  std::smatch m;
  while (std::getline(f, line)) {
    if (std::regex_match(line, m, path_line)) path = m[1];
    if (std::regex_match(line, m, method_line)) {
      std::string method = m[1];
      for (char& c : method) c = static_cast<char>(std::toupper(c));
      documented.insert(method + " " + path);
    }
  }
  Service service(dir_.path());
  std::set<std::string> served;
  for (const std::string route : {"POST /v1/jobs", "GET /v1/jobs", "GET /v1/jobs/{id}", "DELETE /v1/jobs/{id}",
                                   "GET /v1/jobs/{id}/deliveries",
                                   "GET /v1/plan", "GET /v1/queue", "GET /v1/budgets", "GET /v1/profiles", "GET /v1/profiles/{version}", "GET /v1/stats", "GET /metrics", "GET /", "POST /login", "GET /static/{file}", "GET /healthz", "GET /readyz", "PUT /v1/jobs",
                                   "GET /v1/other"}) {
    const std::string method = route.substr(0, route.find(' '));
    std::string target = std::regex_replace(route.substr(route.find(' ') + 1), std::regex(R"(\{id\})"), "0123456789ab");
    target = std::regex_replace(target, std::regex(R"(\{file\})"), "dashboard.js");
    target = std::regex_replace(target, std::regex(R"(\{version\})"), "no-such-version");
    if (target == "/v1/plan") target += "?endpoint=framing&length=10";
    httplib::Client c = service.client();
    httplib::Result r = method == "POST"     ? c.Post(target, "{}", "application/json")
                        : method == "DELETE" ? c.Delete(target)
                        : method == "PUT"    ? c.Put(target, "{}", "application/json")
                                             : c.Get(target);
    ASSERT_TRUE(r) << route;
    // A route that exists answers anything but "no route".
    if (r->body.find("no route") == std::string::npos && r->status != 405) served.insert(route);
  }
  EXPECT_EQ(documented, served);
}

// An upload inside the allowlist that is really a playlist, a manifest or a list is a 400
// naming its format at submission (on disk and in S3), nothing outside is opened and
// nothing connected to, and the service keeps serving: MKV and TS uploads run, and a
// damaged phone clip finishes with its damage in the record.
TEST_F(Serve, AnUploadThatPointsOutsideIsRefusedAtSubmission) {
  rt::ConnectionCounter http;
  rt::TempDir outside;
  fs::copy_file(clip_, outside / "secret.mp4");
  fs::create_directory(dir_ / "uploads");
  const std::vector<rt::Trap> traps = rt::make_traps(dir_ / "uploads", outside / "secret.mp4", http.base_url());
  rt::FolderWatch watch(outside.path());
  store::ObjectStore store;
  store.create_bucket("videos");
  Service service(dir_.path());
  for (const rt::Trap& trap : traps) {
    std::vector<std::string> inputs = {trap.path.string()};
    if (fs::exists(trap.path)) {
      inputs.push_back("s3://videos/serve/uploads/" + trap.path.filename().string());
      store.put_file(trap.path.string(), inputs.back());
    }
    for (const std::string& input : inputs) {
      for (const char* endpoint : {"framing", "detect"}) {
        json job = framing_job(input, (dir_ / "trap-out.mp4").string(), spec_);
        if (std::string(endpoint) == "detect") job = {{"endpoint", "detect"}, {"input", input}, {"frame", 0}};
        auto r = submit(service, job);
        ASSERT_TRUE(r) << trap.name;
        EXPECT_TRUE(r->status == 400 || r->status == 404) << trap.name << " (" << endpoint << ") from " << input << ": " << r->body;
        EXPECT_NE(r->body.find(trap.refusal), std::string::npos) << trap.name << ": " << r->body;
      }
    }
    EXPECT_EQ(watch.take_events(), 0) << trap.name << " opened a file outside";
  }
  EXPECT_EQ(http.connections(), 0);
  EXPECT_FALSE(fs::exists(dir_ / "trap-out.mp4"));
  EXPECT_EQ(json::parse(service.client().Get("/v1/jobs")->body)["jobs"].size(), 0u) << "no job was accepted";

  rt::ClipSpec phone = clip_spec(90);
  phone.audio_seconds = 3;
  rt::make_clip(dir_ / "phone.mp4", phone);
  rt::damage_copy(dir_ / "phone.mp4", dir_ / "uploads" / "damaged.mp4", 8, 32);
  rt::make_clip(dir_ / "uploads" / "clip.mkv", spec_);
  rt::make_clip(dir_ / "uploads" / "clip.ts", spec_);
  for (const char* name : {"clip.mkv", "clip.ts", "damaged.mp4"}) {
    json job = framing_job((dir_ / "uploads" / name).string(), (dir_ / (std::string(name) + ".out.mp4")).string(), spec_);
    job["audio"] = "reencode";
    auto r = submit(service, job);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 202) << name << ": " << r->body;
    const json done = service.wait_finished(json::parse(r->body)["id"]);
    ASSERT_EQ(done["state"], "done") << name << ": " << done.dump(2);
    EXPECT_EQ(done["record"]["damage"].empty(), std::string(name) != "damaged.mp4") << name << ": " << done["record"].dump(2);
  }
}

namespace {

// The machine's current speed is learned from every job on local slots (`jobs` of them so
// far), and not applied before 40 have judged it; remote workers are not this machine.
void expect_local_speed_learning(const json& profiles, bool local_slots, int jobs) {
  const json& speed = profiles["local_speed"];
  if (!local_slots) {
    EXPECT_TRUE(speed.is_null()) << profiles.dump(2);
    return;
  }
  ASSERT_TRUE(speed.is_object()) << profiles.dump(2);
  EXPECT_EQ(speed["judged_jobs"], jobs) << profiles.dump(2);
  EXPECT_EQ(speed["factor"], 1.0) << profiles.dump(2);
  EXPECT_NE(speed["state"].get<std::string>().find("learning"), std::string::npos) << profiles.dump(2);
}

}  // namespace

// The service's defaults (no --profile), short jobs where start-up dominates, a mix of
// endpoints, on local slots and on remote workers: calibration refits from the profile the
// jobs were planned with, names its versions by base and number, and the predictions after
// it are no worse than before (the bug this guards against made them 70x too high).
TEST_F(Serve, OnlineCalibrationOnTheDefaultsNeverMakesPredictionsWorse) {
  rt::ClipSpec tiny = clip_spec(20);
  rt::make_clip(dir_ / "tiny.mp4", tiny);
  const std::string worker_token = "worker-token-for-calibration-0123";
  std::ofstream(dir_ / "worker-token") << worker_token << "\n";
  const int port = rt::free_port();
  rt::ChildProcess worker({REELSCALE_BINARY, "worker", "--listen", "127.0.0.1:" + std::to_string(port), "--scratch",
                           dir_.path().string(), "--allow", dir_.path().string(), "--token-file",
                           (dir_ / "worker-token").string()},
                          (dir_ / "worker.log").string());
  const std::string worker_url = "http://127.0.0.1:" + std::to_string(port);
  ASSERT_TRUE(rt::wait_for_http(worker_url + "/healthz", 20));
  const std::vector<std::vector<std::string>> executors = {
      {}, {"--workers", worker_url, "--worker-token-file", (dir_ / "worker-token").string(), "--worker-hardware", "CPU"}};
  for (size_t e = 0; e < executors.size(); ++e) {
    const fs::path home = dir_ / ("home" + std::to_string(e));
    fs::create_directories(home);
    fs::copy_file(dir_ / "tiny.mp4", home / "tiny.mp4");
    std::vector<std::string> args = {"--calibrate-every", "6", "--calibrate-min-records", "3", "--max-running", "1",
                                     "--allow", dir_.path().string()};
    args.insert(args.end(), executors[e].begin(), executors[e].end());
    Service service(home, args);
    std::vector<std::pair<std::string, double>> ratios;  // profile version, measured / predicted
    for (int i = 0; i < 24; ++i) {
      json job = framing_job((home / "tiny.mp4").string(), (home / ("o" + std::to_string(i) + ".mp4")).string(), tiny, 1);
      if (i % 2) {
        job.erase("crop_keyframes");
        job.erase("output_width");
        job.erase("output_height");
        job["endpoint"] = "overlay";
        job["highlight_keyframes"] = json::array({{{"time", 0}, {"x", 100}, {"y", 60}, {"rx", 30}, {"ry", 20}}});
      }
      auto r = submit(service, job);
      ASSERT_EQ(r->status, 202) << r->body;
      const json done = service.wait_finished(json::parse(r->body)["id"]);
      ASSERT_EQ(done["state"], "done") << done.dump(2);
      ratios.push_back({done["record"]["plan"]["profile_version"],
                        done["record"]["timings_s"]["total"].get<double>() / done["predicted"]["wall_s"].get<double>()});
    }
    const json profiles = json::parse(service.client().Get("/v1/profiles")->body);
    expect_local_speed_learning(profiles, e == 0, 24);
    const std::string base = ratios.front().first;
    for (const auto& v : profiles["versions"]) {
      EXPECT_TRUE(std::regex_match(v["version"].get<std::string>(), std::regex(base + R"((\.r\d+)?)"))) << profiles.dump(2);
    }
    std::vector<double> before, after;
    for (const auto& [version, ratio] : ratios) (version == base ? before : after).push_back(std::abs(ratio - 1));
    ASSERT_FALSE(before.empty());
    std::sort(before.begin(), before.end());
    std::sort(after.begin(), after.end());
    const double median_before = before[before.size() / 2];
    if (!after.empty()) {
      EXPECT_LE(after[after.size() / 2], median_before + 0.2)
          << "executor " << e << ": median error " << median_before << " before calibration, " << after[after.size() / 2]
          << " after; " << profiles.dump(2);
    }
    // No refit may throw the predictions off by an order of magnitude (issue 21: 70x). Judged
    // on the median of the jobs planned with refits, not job by job: a refit fitted while the
    // machine was busy (other tests beside this one) rightly predicts slower than an idle
    // machine then runs, and single short jobs swing with the load.
    std::vector<double> refit_ratios;
    for (const auto& [version, ratio] : ratios) {
      if (version != base) refit_ratios.push_back(ratio);
    }
    if (!refit_ratios.empty()) {
      std::sort(refit_ratios.begin(), refit_ratios.end());
      const double median_ratio = refit_ratios[refit_ratios.size() / 2];
      EXPECT_GT(median_ratio, 0.1) << "executor " << e << ": jobs took a tenth of their refit predictions";
      EXPECT_LT(median_ratio, 10) << "executor " << e << ": jobs took ten times their refit predictions";
    }
  }
}

// ---- fair share ---------------------------------------------------------------------

namespace {

json labelled(json job, const std::string& user_id) {
  job["labels"] = {{"user_id", user_id}};
  return job;
}

std::string submitted_id(const httplib::Result& r) {
  EXPECT_TRUE(r);
  if (!r) return "";
  EXPECT_EQ(r->status, 202) << r->body;
  return r->status == 202 ? json::parse(r->body)["id"].get<std::string>() : "";
}

}  // namespace

// One runner, fair share by user_id: a user with 50 queued jobs, then a user who submits
// 2. A blocker holds the runner while they queue, so all 52 wait whatever the machine's
// speed. The second user's jobs start after at most two of the first user's: counted from
// the order the jobs started in, not timed. First come, first served ran 50 first.
TEST_F(Serve, AUserWithFiftyQueuedJobsDoesNotHoldBackOneWhoSubmitsTwoAfterwards) {
  Service service(dir_.path(), {"--max-running", "1", "--fair-share", "user_id"});
  rt::ClipSpec long_spec = clip_spec(1500);
  rt::make_clip(dir_ / "long.mp4", long_spec);
  const std::string blocker = submitted_id(
      submit(service, labelled(slow_job((dir_ / "long.mp4").string(), (dir_ / "blocker.mp4").string(), long_spec), "c")));
  ASSERT_TRUE(service.wait_running(blocker)) << service.log();
  const auto job_of = [&](const std::string& user, int i) {
    const fs::path out = dir_ / (user + std::to_string(i) + ".mp4");
    return submitted_id(submit(service, labelled(framing_job(clip_.string(), out.string(), spec_, 1), user)));
  };
  std::vector<std::string> bulk, late;
  for (int i = 0; i < 50; ++i) bulk.push_back(job_of("bulk", i));
  const json last_bulk = service.get_job(bulk.back());
  EXPECT_EQ(last_bulk["pending_reason"], "capacity") << "only its own user's jobs are ahead of it";
  EXPECT_EQ(last_bulk["pending"]["position"], 50);
  for (int i = 0; i < 2; ++i) late.push_back(job_of("late", i));
  // Neither user has spent: the cheaper of the two oldest goes first (a tie goes to the older).
  EXPECT_LE(service.get_job(late[0])["pending"]["position"].get<int>(), 2);
  EXPECT_EQ(service.get_job(bulk[2])["pending_reason"], "fair_share");
  service.client().Delete("/v1/jobs/" + blocker);
  const auto cost = [](const json& j, const char* which) {
    return std::string(which) == "predicted" ? j["predicted"]["cost_usd"].get<double>()
                                             : std::max(j["actual"]["cost_usd"].get<double>(),
                                                        j["actual"]["cloud_equivalent_usd"].get<double>());
  };
  double late_started = 0;
  std::vector<json> late_jobs;
  for (const std::string& id : late) {
    late_jobs.push_back(service.wait_finished(id, 120));
    ASSERT_EQ(late_jobs.back()["state"], "done") << late_jobs.back().dump(2);
    late_started = std::max(late_started, late_jobs.back()["started_unix_s"].get<double>());
  }
  // A bulk job goes before the late user's last only while the bulk user's usage plus its
  // cost is at most the late user's score, which never passes the late user's two costs (the
  // first at the larger of its predicted and real): what the bulk user spent first stays
  // within that, give or take its last job's real cost against its prediction. Counted from
  // the order and the costs the jobs ran at; first come, first served spent 50 jobs' worth.
  const double late_bound = std::max(cost(late_jobs[0], "predicted"), cost(late_jobs[0], "actual")) +
                            cost(late_jobs[1], "predicted");
  double bulk_spent_first = 0, overrun = 0;
  int bulk_went_first = 0;
  for (const std::string& id : bulk) {
    const json j = service.get_job(id);
    const double started = j["started_unix_s"];
    if (started <= 0 || started >= late_started) continue;
    ++bulk_went_first;
    bulk_spent_first += cost(j, "actual");
    overrun = std::max(overrun, cost(j, "actual") - cost(j, "predicted"));
  }
  EXPECT_LE(bulk_spent_first, 1.01 * (late_bound + overrun))
      << bulk_went_first << " of the bulk user's 50 jobs started before the late user's last";
  EXPECT_LT(bulk_went_first, 10);
  const json queue = json::parse(service.client().Get("/v1/queue")->body);
  EXPECT_EQ(queue["fair_share"]["levels"], json::array({"user_id"}));
  for (const std::string& id : bulk) service.client().Delete("/v1/jobs/" + id);
}

// The order is rebuilt from the store: after a kill, a user who spent before it still
// counts as having spent. A blocker holds the one runner while a job of the user who
// spent and then one of a new user queue; when the blocker is cancelled, the new user's
// goes first although it came second.
TEST_F(Serve, AfterAKillTheUsageBeforeItStillOrdersTheQueue) {
  const std::vector<std::string> args = {"--max-running", "1", "--fair-share", "user_id"};
  {
    Service service(dir_.path(), args);
    for (int i = 0; i < 3; ++i) {
      const std::string id = submitted_id(submit(
          service, labelled(framing_job(clip_.string(), (dir_ / ("spent" + std::to_string(i) + ".mp4")).string(), spec_, 1),
                            "spender")));
      ASSERT_EQ(service.wait_finished(id)["state"], "done");
    }
    service.process().kill_now(9);
    service.process().wait();
  }
  Service restarted(dir_.path(), args);
  rt::ClipSpec long_spec = clip_spec(1500);
  rt::make_clip(dir_ / "long.mp4", long_spec);
  const std::string blocker = submitted_id(
      submit(restarted, labelled(slow_job((dir_ / "long.mp4").string(), (dir_ / "blocker.mp4").string(), long_spec), "c")));
  ASSERT_TRUE(restarted.wait_running(blocker)) << restarted.log();
  const std::string spender = submitted_id(submit(
      restarted, labelled(framing_job(clip_.string(), (dir_ / "spender.mp4").string(), spec_, 1), "spender")));
  const std::string newcomer = submitted_id(submit(
      restarted, labelled(framing_job(clip_.string(), (dir_ / "newcomer.mp4").string(), spec_, 1), "newcomer")));
  const json waiting = restarted.get_job(spender);
  ASSERT_EQ(waiting["state"], "queued") << waiting.dump(2);
  EXPECT_EQ(waiting["pending_reason"], "fair_share") << waiting.dump(2);
  EXPECT_EQ(waiting["pending"]["position"], 2);
  EXPECT_EQ(restarted.get_job(newcomer)["pending"]["position"], 1);
  restarted.client().Delete("/v1/jobs/" + blocker);
  const json a = restarted.wait_finished(spender), b = restarted.wait_finished(newcomer);
  ASSERT_EQ(a["state"], "done");
  ASSERT_EQ(b["state"], "done");
  EXPECT_LT(b["started_unix_s"].get<double>(), a["started_unix_s"].get<double>()) << "the newcomer went first";
}

// A value's own queue limit refuses only that value, with Retry-After and a reason naming
// it; other users are still accepted.
TEST_F(Serve, AUsersFullQueueRefusesOnlyThatUser) {
  std::ofstream(dir_ / "weights.json") << R"({"user_id": {"bulk": {"max_queued": 2}}})";
  Service service(dir_.path(), {"--max-running", "1", "--fair-share", "user_id", "--fair-share-weights",
                                (dir_ / "weights.json").string()});
  rt::ClipSpec long_spec = clip_spec(1500);
  rt::make_clip(dir_ / "long.mp4", long_spec);
  const std::string blocker = submitted_id(
      submit(service, labelled(slow_job((dir_ / "long.mp4").string(), (dir_ / "blocker.mp4").string(), long_spec), "c")));
  ASSERT_TRUE(service.wait_running(blocker)) << service.log();
  for (int i = 0; i < 2; ++i) {
    submitted_id(submit(service, labelled(framing_job(clip_.string(), (dir_ / ("b" + std::to_string(i) + ".mp4")).string(),
                                                      spec_, 1), "bulk")));
  }
  auto refused = submit(service, labelled(framing_job(clip_.string(), (dir_ / "b2.mp4").string(), spec_, 1), "bulk"));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429) << refused->body;
  EXPECT_FALSE(refused->get_header_value("Retry-After").empty());
  EXPECT_NE(refused->body.find("user_id=bulk has 2 queued jobs"), std::string::npos) << refused->body;
  submitted_id(submit(service, labelled(framing_job(clip_.string(), (dir_ / "other.mp4").string(), spec_, 1), "other")));
  service.client().Delete("/v1/jobs/" + blocker);
}

// ---- budgets --------------------------------------------------------------------------

namespace {

// A job's reservation as the service makes it: its plan's cost at its p90.
double reservation_of(const httplib::Result& r) {
  const json plan = json::parse(r->body)["plan"];
  const double mean = plan.value("wall_mean_s", 0.0), p90 = plan.value("wall_p90_s", 0.0);
  return plan.value("cost_usd", 0.0) * (mean > 0 && p90 > mean ? p90 / mean : 1.0);
}

double spent_of(const json& job) {
  return std::max(job["actual"]["cost_usd"].get<double>(), job["actual"]["cloud_equivalent_usd"].get<double>());
}

void write_budgets(const fs::path& file, const json& budgets) {
  std::ofstream(file) << json{{"time_zone", "Europe/Paris"}, {"budgets", budgets}}.dump();
}

}  // namespace

// Caps sized from what the first job reserved and spent (so the same on any machine):
// a user's reject-budget admits jobs while their reservations fit and then answers 429
// naming it, with Retry-After at its reset, never reserving past the cap; another user is
// still accepted; near the cap the plan moves to cost and names the budget; a queue-budget
// at its cap accepts the job and holds it, saying so. The caps come in at a restart, so
// the spend before it is rebuilt from the store.
TEST_F(Serve, ABudgetAdmitsWhatFitsThenRejectsOrHoldsAtItsCapAndMovesPlansBeforeIt) {
  const fs::path file = dir_ / "budgets.json";
  write_budgets(file, {{{"name", "per-user"}, {"each", "user_id"}, {"per", "day"}, {"usd", 1000}, {"at_cap", "reject"}}});
  const std::vector<std::string> args = {"--max-running", "1", "--budgets", file.string()};
  const auto job_of = [&](const Service& s, const std::string& user, const std::string& name) {
    return submit(s, labelled(framing_job(clip_.string(), (dir_ / (name + ".mp4")).string(), spec_, 0), user));
  };
  double r1 = 0, c1 = 0;
  {
    Service first(dir_.path(), args);
    auto r = job_of(first, "u1", "first");
    r1 = reservation_of(r);
    const json done = first.wait_finished(json::parse(r->body)["id"]);
    ASSERT_EQ(done["state"], "done");
    c1 = spent_of(done);
    ASSERT_GT(r1, 0);
  }
  const double cap = c1 + 3 * r1;
  write_budgets(file, {{{"name", "per-user"}, {"each", "user_id"}, {"per", "day"}, {"usd", cap}, {"at_cap", "reject"},
                        {"adapt_at", 0.1}},
                       {{"name", "u9-cap"}, {"label", {{"user_id", "u9"}}}, {"per", "month"}, {"usd", r1 / 10},
                        {"queue_ttl_s", 15}}});
  Service service(dir_.path(), args);
  double reserved = 0;
  int admitted = 0;
  std::optional<httplib::Result> refused;
  for (int i = 0; i < 10 && !refused; ++i) {
    auto r = job_of(service, "u1", "u1-" + std::to_string(i));
    ASSERT_TRUE(r);
    if (r->status != 202) {
      refused = std::move(r);
      break;
    }
    if (admitted > 0) {
      EXPECT_EQ(json::parse(r->body)["plan"].value("budget_moved", ""), "per-user[user_id=u1]") << "past a tenth of the cap";
    }
    reserved += reservation_of(r);
    ++admitted;
  }
  ASSERT_TRUE(refused) << "ten jobs of about " << r1 << " each cannot fit in " << cap;
  EXPECT_EQ((*refused)->status, 429) << (*refused)->body;
  EXPECT_EQ(json::parse((*refused)->body)["error"], "budget_exceeded");
  EXPECT_NE((*refused)->body.find("per-user[user_id=u1]"), std::string::npos) << (*refused)->body;
  EXPECT_GE(std::stoi((*refused)->get_header_value("Retry-After")), 1);
  EXPECT_GE(admitted, 1);
  EXPECT_LE(c1 + reserved, cap * (1 + 1e-9)) << "what was reserved never passes the cap";
  auto other = job_of(service, "u2", "u2");
  EXPECT_EQ(other->status, 202) << other->body;
  EXPECT_FALSE(json::parse(other->body)["plan"].contains("budget_moved")) << "u2 has spent nothing";
  const json budgets = json::parse(service.client().Get("/v1/budgets")->body);
  EXPECT_EQ(budgets["time_zone"], "Europe/Paris");
  bool saw_u1 = false;
  for (const json& b : budgets["budgets"]) {
    if (b["name"] != "per-user[user_id=u1]") continue;
    saw_u1 = true;
    EXPECT_GE(b["spent_usd"].get<double>() + b["reserved_usd"].get<double>(), c1 * (1 - 1e-9))
        << "the spend from before the restart is counted";
    EXPECT_GE(b["forecast_usd"].get<double>(), b["spent_usd"].get<double>());
  }
  EXPECT_TRUE(saw_u1) << budgets.dump(2);
  auto held = job_of(service, "u9", "u9");
  ASSERT_EQ(held->status, 202) << held->body;
  const json waiting = service.get_job(json::parse(held->body)["id"]);
  EXPECT_EQ(waiting["state"], "queued");
  EXPECT_EQ(waiting["pending_reason"], "budget:u9-cap") << waiting.dump(2);
  const json expired = service.wait_finished(json::parse(held->body)["id"], 90);
  EXPECT_EQ(expired["state"], "cancelled") << "held past the budget's queue_ttl_s";
  EXPECT_EQ(expired["error"]["kind"], "budget");
  EXPECT_NE(expired["error"]["message"].get<std::string>().find("u9-cap"), std::string::npos);
  const std::string metrics = service.client().Get("/metrics")->body;
  EXPECT_NE(metrics.find("reelscale_budget_cap_usd{budget=\"u9-cap\"}"), std::string::npos);
}

// Two loopback workers priced as T4s, a policy whose objective is the fastest: with both
// workers idle it splits a job in two, and each chunk gets the container cores the plan chose. Once a user's spend passes the budget's adapt_at, the
// same job is planned for the cheapest choice within the deadline: one chunk, cheaper than
// the fastest choice the plan says it moved from, on the same fleet state (both workers
// idle after a restart). Further jobs are then refused at the cap. Costs come from the
// profile's T4 prices, the caps from what the first job spent: the same on any machine.
TEST_F(Serve, ANearCapBudgetMakesTheNextPlanCheaperWithinItsDeadlineThenRejectsAtTheCap) {
  std::vector<std::unique_ptr<rt::ChildProcess>> workers;
  const std::string urls = start_workers(dir_.path(), 2, dir_.path().string(), workers);
  ASSERT_FALSE(urls.empty());
  std::ofstream(dir_ / "policy.json") << R"({"objective": "fastest", "deadline_s": 180})";
  const fs::path file = dir_ / "budgets.json";
  write_budgets(file, {{{"name", "per-user"}, {"each", "user_id"}, {"per", "day"}, {"usd", 1000}, {"at_cap", "reject"}}});
  const std::vector<std::string> args = {"--workers", urls, "--worker-token-file", (dir_ / "worker-token").string(),
                                         "--worker-hardware", "T4", "--policy", (dir_ / "policy.json").string(),
                                         "--max-running", "1", "--budgets", file.string()};
  int submitted = 0;
  const auto job_of = [&](const Service& s, const std::string& user) {
    json job = labelled(slow_job(clip_.string(), (dir_ / ("out" + std::to_string(++submitted) + ".mp4")).string(), spec_), user);
    job.erase("chunks");  // the planner chooses
    return submit(s, job);
  };
  json fastest;
  double c1 = 0;
  {
    Service first(dir_.path(), args);
    auto r = job_of(first, "u1");
    ASSERT_EQ(r->status, 202) << r->body;
    fastest = json::parse(r->body)["plan"];
    EXPECT_FALSE(fastest.contains("budget_moved")) << fastest.dump(2);
    ASSERT_GE(fastest["chunks"].get<int>(), 2) << "the fastest choice on two idle workers splits the job\n" << fastest.dump(2);
    const json done = first.wait_finished(json::parse(r->body)["id"]);
    ASSERT_EQ(done["state"], "done") << done.dump(2) << first.log();
    c1 = spent_of(done);
    ASSERT_GT(c1, 0);
    // The workers gave each chunk the cores the plan gave its container, at most their own.
    const double planned_cores = done["record"]["plan"]["container_cores"].get<double>();
    ASSERT_GT(planned_cores, 0);
    for (const json& c : done["record"]["chunk_results"]) {
      EXPECT_EQ(c["cores"].get<int>(), std::min(static_cast<int>(std::ceil(planned_cores)), machine_cores())) << c.dump();
    }
    // The bill is the workers' time at the price of a T4 container of those cores.
    EXPECT_NEAR(done["record"]["cost_usd"].get<double>(),
                done["record"]["billed_seconds"].get<double>() * plan::default_prices().container_per_second("T4", planned_cores),
                1e-12);
  }
  const double cap = c1 + 3 * fastest["cost_usd"].get<double>();
  write_budgets(file, {{{"name", "per-user"}, {"each", "user_id"}, {"per", "day"}, {"usd", cap}, {"at_cap", "reject"},
                        {"adapt_at", 0.9 * c1 / cap}}});
  Service service(dir_.path(), args);
  auto r = job_of(service, "u1");
  ASSERT_EQ(r->status, 202) << r->body;
  const json moved = json::parse(r->body)["plan"];
  EXPECT_EQ(moved.value("budget_moved", ""), "per-user[user_id=u1]") << moved.dump(2);
  ASSERT_TRUE(moved.contains("budget_moved_from")) << moved.dump(2);
  const json& from = moved["budget_moved_from"];
  EXPECT_EQ(from["chunks"], fastest["chunks"]) << "moved from what the policy chose before";
  EXPECT_LT(moved["chunks"].get<int>(), from["chunks"].get<int>()) << moved.dump(2);
  EXPECT_LT(moved["cost_usd"].get<double>(), from["cost_usd"].get<double>()) << moved.dump(2);
  EXPECT_LE(moved["wall_p90_s"].get<double>(), 180) << "within the policy's deadline";
  EXPECT_GE(moved["wall_p90_s"].get<double>(), from["wall_p90_s"].get<double>()) << "cheaper, not faster";
  std::optional<httplib::Result> refused;
  for (int i = 0; i < 10 && !refused; ++i) {
    auto next = job_of(service, "u1");
    if (next->status != 202) refused = std::move(next);
  }
  ASSERT_TRUE(refused) << "ten jobs cannot fit in the cap";
  EXPECT_EQ((*refused)->status, 429) << (*refused)->body;
  EXPECT_EQ(json::parse((*refused)->body)["error"], "budget_exceeded") << (*refused)->body;
  const json record = service.wait_finished(json::parse(r->body)["id"]);
  ASSERT_EQ(record["state"], "done") << record.dump(2) << service.log();
  EXPECT_EQ(record["record"]["plan"].value("budget_moved", ""), "per-user[user_id=u1]") << "the job's record says so";
}

// "encoder": "auto" on a worker priced as a T4 (a GPU with NVENC): the plan chooses NVENC,
// the record's plan says so, and the chunks are encoded with it where it opens; this
// machine has no NVIDIA driver, so each chunk says it was encoded with x264 instead, and why.
TEST_F(Serve, AnAutoEncoderIsThePlansChoiceAndAChunkThatCannotUseItSaysWhy) {
  std::vector<std::unique_ptr<rt::ChildProcess>> workers;
  const std::string urls = start_workers(dir_.path(), 1, dir_.path().string(), workers);
  ASSERT_FALSE(urls.empty());
  Service service(dir_.path(), {"--workers", urls, "--worker-token-file", (dir_ / "worker-token").string(),
                                "--worker-hardware", "T4"});
  json job = slow_job(clip_.string(), (dir_ / "auto.mp4").string(), spec_);  // enough frame work to weigh
  job["encoder"] = "auto";
  job["chunks"] = 1;
  auto r = submit(service, job);
  ASSERT_EQ(r->status, 202) << r->body;
  EXPECT_EQ(json::parse(r->body)["plan"]["encoder"], "nvenc") << r->body;
  const json done = service.wait_finished(json::parse(r->body)["id"]);
  ASSERT_EQ(done["state"], "done") << done.dump(2) << service.log();
  EXPECT_EQ(done["record"]["plan"]["encoder"], "nvenc");
  for (const json& c : done["record"]["chunk_results"]) {
    if (c["encoder"] == "h264_nvenc") continue;
    EXPECT_EQ(c["encoder"], "libx264");
    EXPECT_NE(c["encoder_note"].get<std::string>().find("h264_nvenc could not be used"), std::string::npos) << c.dump();
  }
  EXPECT_EQ(rt::ffprobe_packet_count(dir_ / "auto.mp4"), spec_.frames);
}

// kill -9 while a job runs: at the restart the interrupted job counts its whole
// reservation as spent, so a job that would pass the cap with it is refused.
TEST_F(Serve, AKillMidJobLosesNoReservationAndOvershootsNoCap) {
  const fs::path file = dir_ / "budgets.json";
  write_budgets(file, {{{"name", "service"}, {"per", "month"}, {"usd", 1000}, {"at_cap", "reject"}}});
  rt::ClipSpec long_spec = clip_spec(1500);
  rt::make_clip(dir_ / "long.mp4", long_spec);
  const json long_job = slow_job((dir_ / "long.mp4").string(), (dir_ / "long-out.mp4").string(), long_spec);
  double reserved = 0;
  {
    Service service(dir_.path(), {"--max-running", "1", "--budgets", file.string()});
    auto r = submit(service, long_job);
    ASSERT_EQ(r->status, 202) << r->body;
    reserved = reservation_of(r);
    ASSERT_TRUE(service.wait_running(json::parse(r->body)["id"])) << service.log();
    service.process().kill_now(9);
    service.process().wait();
  }
  write_budgets(file, {{{"name", "service"}, {"per", "month"}, {"usd", reserved * 1.2}, {"at_cap", "reject"}}});
  Service restarted(dir_.path(), {"--max-running", "1", "--budgets", file.string()});
  const json budgets = json::parse(restarted.client().Get("/v1/budgets")->body);
  ASSERT_EQ(budgets["budgets"].size(), 1u) << budgets.dump(2);
  EXPECT_GE(budgets["budgets"][0]["spent_usd"].get<double>(), reserved * (1 - 1e-9)) << budgets.dump(2);
  json again = long_job;
  again["output"] = (dir_ / "again.mp4").string();
  auto r = submit(restarted, again);
  EXPECT_EQ(r->status, 429) << r->body;
}
