// tests/e2e/backend_test.cpp — what the app's backend wires up, against a real
// `reelscale serve` and a real webhook receiver on loopback: Standard Webhooks events
// whose signatures Python's hmac verifies (two secrets, for rotation), job.cancelled for a
// queued and a running job, retries of a
// receiver that fails, delivery after a kill and restart mid-retry, the webhook allowlist,
// a hanging receiver that holds up no job; labels stored, filtered and summed in
// /v1/stats, /metrics and `report --by`; and a policy scheduled by the hour.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "serve_service.h"
#include "test_media.h"
#include "test_services.h"

namespace fs = std::filesystem;
namespace rt = reelscale::testing;
using nlohmann::json;

namespace {

// Two secrets: the one being rotated in and the one being rotated out; both sign.
const char* const kSecretNew = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const char* const kSecretOld = "whsec_dGhlIG9sZCBzZWNyZXQsIHN0aWxsIHZhbGlkIQ==";

// A webhook receiver on loopback. Each request is kept; what it answers depends on the
// path: /ok 200; /flaky 500 to the first two attempts of each webhook-id, then 200;
// /down 503 while `down` is set, then 200; /hang holds the request until the receiver
// stops.
class Receiver {
 public:
  struct Request {
    std::string path, id, timestamp, signature, body;
    int answered = 0;
  };
  Receiver() : port_(rt::free_port()) {
    server_.Post(R"(/hook/(\w+))", [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
    EXPECT_TRUE(server_.bind_to_port("127.0.0.1", port_));
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    release_.notify_all();
    server_.stop();
    thread_.join();
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string hook(const std::string& name) const { return base() + "/hook/" + name; }
  void set_down(bool down) {
    std::lock_guard lock(mutex_);
    down_ = down;
  }
  std::vector<Request> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  int hanging() {
    std::lock_guard lock(mutex_);
    return hanging_;
  }
  // Waits until `pred` holds over the requests so far.
  bool wait_for(const std::function<bool(const std::vector<Request>&)>& pred, double timeout_s) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < until) {
      if (pred(requests())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return pred(requests());
  }

 private:
  void handle(const httplib::Request& req, httplib::Response& res) {
    std::unique_lock lock(mutex_);
    Request r{req.matches[1], req.get_header_value("webhook-id"), req.get_header_value("webhook-timestamp"),
              req.get_header_value("webhook-signature"), req.body};
    if (r.path == "hang") {
      ++hanging_;
      release_.wait(lock, [&] { return stopping_; });
      --hanging_;
      res.status = 200;
      return;
    }
    const int seen = static_cast<int>(std::count_if(requests_.begin(), requests_.end(),
                                                    [&](const Request& o) { return o.id == r.id; }));
    r.answered = r.path == "flaky" && seen < 2 ? 500 : r.path == "down" && down_ ? 503 : 200;
    requests_.push_back(r);
    res.status = r.answered;
    res.set_content("{}", "application/json");
  }

  int port_;
  httplib::Server server_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable release_;
  std::vector<Request> requests_;
  bool down_ = true, stopping_ = false;
  int hanging_ = 0;
};

// The Standard Webhooks check done independently of reelscale, with Python's hmac:
// prints "ok" when one v1 signature in the header is HMAC-SHA256 of "id.timestamp.body"
// under the secret.
bool python_verifies(const Receiver::Request& r, const std::string& secret, const fs::path& dir) {
  const fs::path in = dir / "message.json", script = dir / "verify.py", out = dir / "verdict.txt";
  std::ofstream(in) << json{{"id", r.id}, {"timestamp", r.timestamp}, {"signature", r.signature}, {"body", r.body},
                            {"secret", secret}}
                           .dump();
  std::ofstream(script) << R"(import base64, hashlib, hmac, json, sys
m = json.load(open(sys.argv[1]))
key = base64.b64decode(m["secret"][len("whsec_"):])
mac = hmac.new(key, (m["id"] + "." + m["timestamp"] + "." + m["body"]).encode(), hashlib.sha256).digest()
expected = "v1," + base64.b64encode(mac).decode()
ok = any(hmac.compare_digest(expected, s) for s in m["signature"].split(" "))
open(sys.argv[2], "w").write("ok" if ok else "no")
)";
  const std::string cmd = "/usr/bin/python3 " + script.string() + " " + in.string() + " " + out.string();
  if (std::system(cmd.c_str()) != 0) return false;
  std::ifstream f(out);
  std::string verdict;
  f >> verdict;
  return verdict == "ok";
}

rt::ClipSpec small_clip() {
  rt::ClipSpec spec;
  spec.width = 320;
  spec.height = 180;
  spec.frames = 60;
  spec.keyint = 30;
  return spec;
}

json framing_job(const fs::path& input, const fs::path& output, const rt::ClipSpec& spec) {
  return {{"endpoint", "framing"}, {"input", input.string()}, {"output", output.string()},
          {"output_width", spec.width}, {"output_height", spec.height}, {"fps", 30}, {"preset", "ultrafast"},
          {"crop_keyframes", json::array({{{"time", 0}, {"x", 0}, {"y", 0}, {"width", spec.width}, {"height", spec.height}}})}};
}

std::vector<Receiver::Request> of_id(const std::vector<Receiver::Request>& all, const std::string& id) {
  std::vector<Receiver::Request> out;
  for (const auto& r : all) {
    if (r.id == id) out.push_back(r);
  }
  return out;
}

class Backend : public ::testing::Test {
 protected:
  void SetUp() override {
    clip_ = dir_ / "clip.mp4";
    rt::make_clip(clip_, spec_);
    std::ofstream(dir_ / "webhook-secrets") << "# rotating: the new secret first\n" << kSecretNew << "\n" << kSecretOld << "\n";
  }
  std::vector<std::string> webhook_args(const Receiver& receiver, double first_retry_s = 0.2) const {
    return {"--webhook-secret-file", (dir_ / "webhook-secrets").string(), "--webhook-allow", receiver.base() + "/hook/",
            "--webhook-first-retry-s", std::to_string(first_retry_s)};
  }
  // Submits a job that calls `hook` back; its id.
  std::string submit_with_hook(const rt::ServeService& s, const std::string& hook, const std::string& name,
                               const json& labels = json::object()) {
    json job = framing_job(clip_, dir_ / (name + ".mp4"), spec_);
    job["webhook_url"] = hook;
    if (!labels.empty()) job["labels"] = labels;
    auto r = s.submit(job);
    EXPECT_TRUE(r);
    EXPECT_EQ(r->status, 202) << r->body;
    return json::parse(r->body)["id"];
  }
  json deliveries(const rt::ServeService& s, const std::string& id) {
    auto r = s.client().Get("/v1/jobs/" + id + "/deliveries");
    EXPECT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    return json::parse(r->body)["deliveries"];
  }
  rt::TempDir dir_;
  rt::ClipSpec spec_ = small_clip();
  fs::path clip_;
};

}  // namespace

TEST_F(Backend, WebhookEventsAreSignedToTheStandardAndVerifyWithPythonsHmac) {
  Receiver receiver;
  rt::ServeService service(dir_.path(), webhook_args(receiver));
  const std::string id = submit_with_hook(service, receiver.hook("ok"), "signed", {{"user_id", "u-7"}});
  ASSERT_EQ(service.wait_finished(id)["state"], "done") << service.log();
  ASSERT_TRUE(receiver.wait_for([](const auto& r) { return r.size() >= 2; }, 30)) << service.log();
  const auto got = receiver.requests();
  ASSERT_EQ(got.size(), 2u) << "job.started and job.succeeded, each once";
  std::vector<std::string> types;
  for (const auto& r : got) {
    const json body = json::parse(r.body);
    types.push_back(body["type"]);
    EXPECT_EQ(body["data"]["id"], id);
    EXPECT_EQ(body["data"]["labels"]["user_id"], "u-7");
    EXPECT_TRUE(std::regex_match(r.id, std::regex("msg_[0-9a-f]{32}"))) << r.id;
    EXPECT_LT(std::abs(std::stod(r.timestamp) - static_cast<double>(std::time(nullptr))), 300);
    // Both secrets sign; each verifies alone, as a receiver mid-rotation holds one of them.
    EXPECT_TRUE(python_verifies(r, kSecretNew, dir_.path())) << r.signature;
    EXPECT_TRUE(python_verifies(r, kSecretOld, dir_.path())) << r.signature;
    EXPECT_FALSE(python_verifies(r, "whsec_bm90IHRoZSBzZWNyZXQgYXQgYWxsLCBubw==", dir_.path()));
    Receiver::Request tampered = r;
    tampered.body.back() = ' ';
    EXPECT_FALSE(python_verifies(tampered, kSecretNew, dir_.path())) << "a changed body must not verify";
  }
  EXPECT_EQ(types, (std::vector<std::string>{"job.started", "job.succeeded"}));
  const json succeeded = json::parse(got[1].body)["data"];
  EXPECT_EQ(succeeded["state"], "done");
  EXPECT_GT(succeeded["actual"]["wall_s"].get<double>(), 0);
  const json d = deliveries(service, id);
  ASSERT_EQ(d.size(), 2u);
  for (const auto& one : d) {
    EXPECT_EQ(one["state"], "delivered");
    EXPECT_EQ(one["attempts"], 1);
    EXPECT_EQ(one["tries"][0]["status"], 200);
  }
}

TEST_F(Backend, AReceiverThatFailsTwiceGetsEachEventThreeTimesAndItIsRecordedDelivered) {
  Receiver receiver;
  rt::ServeService service(dir_.path(), webhook_args(receiver));
  const std::string id = submit_with_hook(service, receiver.hook("flaky"), "flaky");
  ASSERT_EQ(service.wait_finished(id)["state"], "done") << service.log();
  ASSERT_TRUE(receiver.wait_for([](const auto& r) { return r.size() >= 6; }, 60)) << service.log();
  // The last answers reach the store after the receiver: wait for both to be written.
  const auto both_delivered = [&] {
    const json d = deliveries(service, id);
    return d.size() == 2 && std::all_of(d.begin(), d.end(), [](const json& one) { return one["state"] == "delivered"; });
  };
  for (int i = 0; i < 1200 && !both_delivered(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::this_thread::sleep_for(std::chrono::seconds(2));  // time for a wrong extra delivery to show
  const auto got = receiver.requests();
  EXPECT_EQ(got.size(), 6u);
  std::set<std::string> ids;
  for (const auto& r : got) ids.insert(r.id);
  ASSERT_EQ(ids.size(), 2u);
  for (const std::string& event : ids) {
    const auto tries = of_id(got, event);
    ASSERT_EQ(tries.size(), 3u);
    EXPECT_EQ(tries[0].answered, 500);
    EXPECT_EQ(tries[1].answered, 500);
    EXPECT_EQ(tries[2].answered, 200);
    EXPECT_EQ(tries[0].body, tries[2].body) << "the same event, the same body";
  }
  // In order (issue 31): job.succeeded is first tried only once job.started was delivered,
  // and each event says its place among the job's events.
  std::vector<std::string> types;
  for (const auto& r : got) types.push_back(json::parse(r.body)["type"]);
  EXPECT_EQ(types, (std::vector<std::string>{"job.started", "job.started", "job.started", "job.succeeded", "job.succeeded",
                                             "job.succeeded"}));
  EXPECT_EQ(json::parse(got.front().body)["data"]["sequence"], 0) << "its first event";
  EXPECT_EQ(json::parse(got.back().body)["data"]["sequence"], 1);
  for (const auto& one : deliveries(service, id)) {
    EXPECT_EQ(one["state"], "delivered");
    EXPECT_EQ(one["attempts"], 3);
    ASSERT_EQ(one["tries"].size(), 3u);
    EXPECT_EQ(one["tries"][0]["status"], 500);
    EXPECT_EQ(one["tries"][2]["status"], 200);
    // Back-off: the second wait is longer than the first's lower bound, jitter included.
    const double gap1 = one["tries"][1]["at_unix_s"].get<double>() - one["tries"][0]["at_unix_s"].get<double>();
    EXPECT_GE(gap1, 0.1);
  }
  // /metrics counts the attempts by outcome (what the ReelscaleWebhooksGivenUp alert reads).
  const std::string metrics = service.client().Get("/metrics")->body;
  EXPECT_NE(metrics.find(R"(reelscale_webhook_attempts_total{outcome="retrying"} 4)"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find(R"(reelscale_webhook_attempts_total{outcome="delivered"} 2)"), std::string::npos) << metrics;
}

TEST_F(Backend, AServiceKilledMidRetryDeliversAfterItsRestart) {
  Receiver receiver;  // /down answers 503 until told otherwise
  std::string id;
  {
    rt::ServeService service(dir_.path(), webhook_args(receiver, 0.5));
    id = submit_with_hook(service, receiver.hook("down"), "killed");
    ASSERT_EQ(service.wait_finished(id)["state"], "done") << service.log();
    // job.started is refused twice; job.succeeded waits behind it, never tried (in order).
    ASSERT_TRUE(receiver.wait_for([](const auto& r) { return r.size() >= 2; }, 60)) << service.log();
    // The store must hold the two refusals too: an attempt the receiver has answered may not
    // be written yet when the process dies (it is then made again after the restart).
    const auto two_recorded = [&] {
      const json d = deliveries(service, id);
      return d.size() == 2 && d[0]["event"] == "job.started" && d[0]["attempts"].get<int>() >= 2 &&
             d[1]["attempts"].get<int>() == 0;
    };
    for (int i = 0; i < 1200 && !two_recorded(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(two_recorded()) << deliveries(service, id).dump(2) << service.log();
    service.process().kill_now(SIGKILL);
    service.process().wait();
  }
  const size_t before_restart = receiver.requests().size();
  receiver.set_down(false);
  rt::ServeService restarted(dir_.path(), webhook_args(receiver, 0.5));
  ASSERT_TRUE(receiver.wait_for(
      [](const auto& r) { return std::count_if(r.begin(), r.end(), [](auto& one) { return one.answered == 200; }) >= 2; },
      90))
      << restarted.log();
  const auto got = receiver.requests();
  EXPECT_GT(got.size(), before_restart);
  std::set<std::string> ids_before;
  for (size_t i = 0; i < before_restart; ++i) ids_before.insert(got[i].id);
  EXPECT_EQ(ids_before.size(), 1u) << "only job.started was tried before the kill";
  const json d = deliveries(restarted, id);
  ASSERT_EQ(d.size(), 2u);
  for (const auto& one : d) {
    EXPECT_EQ(one["state"], "delivered") << one.dump();
    EXPECT_EQ(of_id(got, one["id"]).back().answered, 200);
  }
  EXPECT_GE(d[0]["attempts"].get<int>(), 3) << "two refused before the kill, one after the restart";
  EXPECT_EQ(json::parse(got.back().body)["type"], "job.succeeded") << "delivered after job.started";
}

TEST_F(Backend, CancelledJobsSendJobCancelledWhetherQueuedOrRunning) {
  Receiver receiver;
  std::vector<std::string> args = webhook_args(receiver);
  args.insert(args.end(), {"--max-running", "1"});
  rt::ServeService service(dir_.path(), args);
  // A slow job (1280x720, x264 medium) holds the one runner; a second one waits behind it.
  json slow = framing_job(clip_, dir_ / "slow.mp4", spec_);
  slow["output_width"] = 1280;
  slow["output_height"] = 720;
  slow["preset"] = "medium";
  slow["webhook_url"] = receiver.hook("ok");
  auto r = service.submit(slow);
  ASSERT_EQ(r->status, 202) << r->body;
  const std::string running = json::parse(r->body)["id"];
  const std::string queued = submit_with_hook(service, receiver.hook("ok"), "queued");
  ASSERT_TRUE(service.wait_running(running)) << service.log();
  ASSERT_EQ(service.client().Delete("/v1/jobs/" + queued)->status, 202);
  ASSERT_EQ(service.client().Delete("/v1/jobs/" + running)->status, 202);
  EXPECT_EQ(service.wait_finished(running)["state"], "cancelled");
  EXPECT_EQ(service.wait_finished(queued)["state"], "cancelled");
  auto types_of = [&](const std::string& id) {
    std::vector<std::string> types;
    for (const auto& one : receiver.requests()) {
      const json body = json::parse(one.body);
      if (body["data"]["id"] == id) types.push_back(body["type"]);
    }
    return types;
  };
  ASSERT_TRUE(receiver.wait_for([&](const auto&) { return types_of(running).size() >= 2 && !types_of(queued).empty(); }, 30));
  EXPECT_EQ(types_of(running), (std::vector<std::string>{"job.started", "job.cancelled"}));
  EXPECT_EQ(types_of(queued), (std::vector<std::string>{"job.pending", "job.cancelled"}))
      << "it waited behind the other (job.pending) and never started";
}

TEST_F(Backend, AWebhookOutsideTheAllowlistIsRefusedAndTheServiceKeepsServing) {
  Receiver receiver;
  rt::ServeService service(dir_.path(), webhook_args(receiver));
  const std::string port = std::to_string(rt::free_port());
  for (const std::string& url : {std::string("http://169.254.169.254/latest/meta-data/"), "http://127.0.0.1:" + port + "/hook/ok",
                                 receiver.base() + "/other/ok", receiver.base() + "/hook/../admin",
                                 "http://u:p@" + receiver.base().substr(7) + "/hook/ok", std::string("file:///etc/passwd"),
                                 receiver.base() + "/hook/ok#x"}) {
    json job = framing_job(clip_, dir_ / "refused.mp4", spec_);
    job["webhook_url"] = url;
    auto r = service.submit(job);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403) << url << ": " << r->body;
    EXPECT_EQ(json::parse(r->body)["error"], "denied") << r->body;
    EXPECT_EQ(r->body.find("u:p@"), std::string::npos) << "credentials echoed: " << r->body;
  }
  EXPECT_EQ(service.log().find("u:p@"), std::string::npos) << "credentials logged";
  auto list = service.client().Get("/v1/jobs");
  EXPECT_EQ(json::parse(list->body)["jobs"].size(), 0u) << "nothing refused was stored";
  const std::string id = submit_with_hook(service, receiver.hook("ok"), "allowed");
  EXPECT_EQ(service.wait_finished(id)["state"], "done");
  // A service with no secrets sends no webhooks, and says so (with --webhook-allow it does not
  // start: tests/cli).
  rt::TempDir other;
  rt::ServeService no_secrets(other.path(), {"--allow", dir_.path().string()});
  json job = framing_job(clip_, other / "out.mp4", spec_);
  job["webhook_url"] = receiver.hook("ok");
  auto r = no_secrets.client().Post("/v1/jobs", job.dump(), "application/json");
  EXPECT_EQ(r->status, 403);
  EXPECT_NE(r->body.find("this service sends no webhooks"), std::string::npos) << r->body;
}

TEST_F(Backend, AReceiverThatHangsHoldsUpNoJob) {
  Receiver receiver;
  std::vector<std::string> args = webhook_args(receiver);
  args.insert(args.end(), {"--webhook-timeout-s", "120"});
  rt::ServeService service(dir_.path(), args);
  std::vector<std::string> ids = {submit_with_hook(service, receiver.hook("hang"), "hang0")};
  ASSERT_TRUE(receiver.wait_for([&](const auto&) { return receiver.hanging() > 0; }, 30)) << service.log();
  // With the receiver holding events unanswered, more jobs are accepted, run and end.
  for (int i = 1; i < 4; ++i) ids.push_back(submit_with_hook(service, receiver.hook("hang"), "hang" + std::to_string(i)));
  for (const std::string& id : ids) EXPECT_EQ(service.wait_finished(id, 120)["state"], "done") << service.log();
  EXPECT_GT(receiver.hanging(), 0) << "the receiver still holds events";
  int pending = 0, waits = 0;
  for (const std::string& id : ids) {
    for (const auto& d : deliveries(service, id)) {
      EXPECT_EQ(d["state"], "pending") << d.dump();
      (d["event"] == "job.pending" ? waits : pending) += 1;
    }
  }
  EXPECT_EQ(pending, 8) << "job.started and job.succeeded for each job, none given up or lost";
  EXPECT_LE(waits, 3) << "job.pending only for jobs that queued behind others";
}

// `reelscale report --from-db --by user_id` over the store in `dir`: the same sums per user
// as the records (`cost_of_user`, "" for the unlabelled), in the CSV and in the printed table,
// which shows each cost to three significant digits (issue 31: it printed "0.0000").
static void expect_report_by_user(const fs::path& dir, std::map<std::string, double> cost_of_user) {
  const fs::path out = dir / "report";
  const std::string cmd = std::string(REELSCALE_BINARY) + " report --from-db " + (dir / "jobs.db").string() +
                          " --by user_id --out " + out.string() + " > " + (dir / "report.txt").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream csv(out / "by_user_id.csv");
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line.rfind("user_id,jobs,", 0), 0u) << line;
  std::map<std::string, double> report_cost;
  while (std::getline(csv, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    ASSERT_GE(cells.size(), 6u) << line;
    report_cost[cells[0]] = std::stod(cells[5]);
  }
  EXPECT_NEAR(report_cost["u-1"], cost_of_user["u-1"], 1e-6);
  EXPECT_NEAR(report_cost["u-2"], cost_of_user["u-2"], 1e-6);
  EXPECT_NEAR(report_cost["(no user_id)"], cost_of_user[""], 1e-6);
  std::ifstream printed(dir / "report.txt");
  const std::string text((std::istreambuf_iterator<char>(printed)), {});
  for (const std::string user : {"u-1", "u-2"}) {
    std::smatch row;
    ASSERT_TRUE(std::regex_search(
        text, row, std::regex("\\| " + user + " \\| [0-9]+ \\| [0-9]+ \\| [0-9]+ \\| ([0-9.]+) \\| ([0-9.]+) \\|")))
        << text;
    EXPECT_NEAR(std::stod(row[2]), cost_of_user[user], 0.006 * cost_of_user[user]) << row[0] << "\n" << text;
  }
}

TEST_F(Backend, LabelsAreStoredFilteredAndSummedByTheApiTheMetricsAndTheReport) {
  rt::ServeService service(dir_.path(), {"--metrics-labels", "user_id", "--metrics-label-values", "2"});
  const std::vector<json> labels = {{{"user_id", "u-1"}, {"feature", "export"}},
                                    {{"user_id", "u-1"}, {"feature", "preview"}},
                                    {{"user_id", "u-2"}, {"feature", "export"}},
                                    {{"user_id", "u-3"}},
                                    json::object()};
  std::map<std::string, std::string> user_of;
  for (size_t i = 0; i < labels.size(); ++i) {
    json job = framing_job(clip_, dir_ / ("l" + std::to_string(i) + ".mp4"), spec_);
    if (!labels[i].empty()) job["labels"] = labels[i];
    auto r = service.submit(job);
    ASSERT_EQ(r->status, 202) << r->body;
    user_of[json::parse(r->body)["id"]] = labels[i].value("user_id", "");
  }
  std::map<std::string, double> cost_of_user;  // cloud-equivalent: these run on owned local slots
  for (const auto& [id, user] : user_of) {
    const json done = service.wait_finished(id);
    ASSERT_EQ(done["state"], "done") << done.dump();
    cost_of_user[user] += done["record"]["cloud_equivalent_usd"].get<double>();
  }
  // Listed with their labels, and filtered by them.
  auto page = json::parse(service.client().Get("/v1/jobs?label.user_id=u-1")->body)["jobs"];
  ASSERT_EQ(page.size(), 2u);
  for (const auto& j : page) EXPECT_EQ(j["labels"]["user_id"], "u-1");
  page = json::parse(service.client().Get("/v1/jobs?label.user_id=u-1&label.feature=export")->body)["jobs"];
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0]["labels"]["feature"], "export");
  EXPECT_EQ(json::parse(service.client().Get("/v1/jobs?label.user_id=u-9")->body)["jobs"].size(), 0u);
  EXPECT_EQ(service.client().Get("/v1/jobs?label.User-Id=u-1")->status, 400);
  // Summed in /v1/stats: each user's sum is the sum of its jobs' records.
  const json stats = json::parse(service.client().Get("/v1/stats")->body);
  std::map<std::string, json> by_user;
  for (const auto& row : stats["by_label"]["user_id"]) by_user[row["value"]] = row;
  ASSERT_EQ(by_user.size(), 4u) << stats["by_label"].dump();
  EXPECT_EQ(by_user["u-1"]["jobs"], 2);
  EXPECT_EQ(by_user[""]["jobs"], 1) << "the unlabelled job";
  for (const auto& [user, cost] : cost_of_user) {
    EXPECT_GT(cost, 0);
    EXPECT_NEAR(by_user[user]["cloud_equivalent_usd"].get<double>(), cost, 1e-9) << user;
  }
  EXPECT_EQ(stats["by_label"]["feature"][0]["value"].get<std::string>().empty(), false);
  // /metrics: by user_id, two value sets kept, the rest as "other".
  const std::string metrics = service.client().Get("/metrics")->body;
  std::map<std::string, double> metric_cost;
  const std::regex series(R"re(reelscale_label_cloud_equivalent_usd_total\{label_user_id="([^"]*)"\} ([0-9.e+-]+))re");
  for (auto it = std::sregex_iterator(metrics.begin(), metrics.end(), series); it != std::sregex_iterator(); ++it) {
    metric_cost[(*it)[1]] = std::stod((*it)[2]);
  }
  ASSERT_EQ(metric_cost.size(), 3u) << metrics;
  ASSERT_TRUE(metric_cost.count("other")) << metrics;
  double metric_total = 0, record_total = 0;
  for (const auto& [k, v] : metric_cost) metric_total += v;
  for (const auto& [k, v] : cost_of_user) record_total += v;
  EXPECT_NEAR(metric_total, record_total, 1e-6);
  expect_report_by_user(dir_.path(), cost_of_user);
}

TEST_F(Backend, LabelsOutOfBoundsAreRefusedNamingTheProblem) {
  rt::ServeService service(dir_.path());
  json many = json::object();
  for (int i = 0; i < 17; ++i) many["k" + std::to_string(i)] = "v";
  const std::vector<std::pair<json, std::string>> bad = {{many, "at most 16"},
                                                         {{{"User-Id", "u"}}, "User-Id"},
                                                         {{{"user_id", std::string(129, 'x')}}, "user_id"},
                                                         {{{"user_id", 5}}, "user_id"},
                                                         {json::array({"u"}), "labels"}};
  for (const auto& [labels, named] : bad) {
    json job = framing_job(clip_, dir_ / "bad.mp4", spec_);
    job["labels"] = labels;
    auto r = service.submit(job);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << labels.dump();
    EXPECT_NE(r->body.find(named), std::string::npos) << r->body;
  }
}

TEST_F(Backend, AScheduledPolicyPlansEachJobWithTheEntryInForceAtSubmission) {
  // The entry "now" covers this UTC hour and the next (a job submitted within seconds is
  // inside it), and holds jobs to one chunk; the rest of the day allows many.
  const int hour = static_cast<int>((std::time(nullptr) / 3600) % 24);
  const json policy = {{"objective", "fastest"},
                       {"schedule",
                        {{"time_zone", "UTC"},
                         {"entries", json::array({{{"name", "now"}, {"hours", {hour, (hour + 2) % 24}}, {"max_parallel", 1}}})}}}};
  std::ofstream(dir_ / "policy.json") << policy.dump();
  rt::ServeService service(dir_.path(), {"--policy", (dir_ / "policy.json").string(), "--slots", "2"});
  json job = framing_job(clip_, dir_ / "scheduled.mp4", spec_);
  auto r = service.submit(job);
  ASSERT_EQ(r->status, 202) << r->body;
  const json accepted = json::parse(r->body);
  EXPECT_EQ(accepted["plan"]["policy_entry"], "now") << accepted.dump();
  EXPECT_EQ(accepted["plan"]["chunks"], 1);
  const json done = service.wait_finished(accepted["id"]);
  ASSERT_EQ(done["state"], "done") << done.dump();
  EXPECT_EQ(done["record"]["plan"]["policy_entry"], "now") << "the record names the entry it planned with";
  EXPECT_EQ(done["record"]["chunks"], 1);
  EXPECT_NE(done["record"]["plan"]["policy"].get<std::string>().find("fastest"), std::string::npos);
  auto plan = json::parse(service.client().Get("/v1/plan?endpoint=framing&length=10&width=320&height=180")->body);
  EXPECT_EQ(plan["policy_entry"], "now");
  EXPECT_EQ(plan["chunks"], 1);
}

// One runner, fair share by user. A long u-a job runs; u-a queues two more, then u-b one.
// Each queued job's webhook hears why it waits as it joins (job.pending: capacity, its place),
// and again each time that changes: u-b's job goes ahead of u-a's two, which then wait on
// fair share. The blocker is cancelled and u-b's job starts first; once it has run, u-a's
// third waits only on capacity again (a2 starts at once: told nothing). Every event's sequence is
// its place among its job's events. Counted, not timed: the blocker runs until cancelled.
TEST_F(Backend, EveryJobThatWaitsSaysWhyInAWebhookAndAgainWhenThatChanges) {
  Receiver receiver;
  std::vector<std::string> args = webhook_args(receiver);
  args.insert(args.end(), {"--max-running", "1", "--fair-share", "user_id"});
  rt::ServeService service(dir_.path(), args);
  rt::ClipSpec long_spec = spec_;
  long_spec.frames = 1500;
  rt::make_clip(dir_ / "long.mp4", long_spec);
  json blocker = framing_job(dir_ / "long.mp4", dir_ / "blocker.mp4", long_spec);
  blocker["output_width"] = 1280;
  blocker["output_height"] = 720;
  blocker["preset"] = "medium";
  blocker["labels"] = {{"user_id", "u-a"}};
  blocker["webhook_url"] = receiver.hook("ok");
  const std::string first = json::parse(service.submit(blocker)->body)["id"];
  ASSERT_TRUE(service.wait_running(first)) << service.log();
  const std::string a2 = submit_with_hook(service, receiver.hook("ok"), "a2", {{"user_id", "u-a"}});
  const std::string a3 = submit_with_hook(service, receiver.hook("ok"), "a3", {{"user_id", "u-a"}});
  const std::string b1 = submit_with_hook(service, receiver.hook("ok"), "b1", {{"user_id", "u-b"}});
  const auto events_of = [&](const std::string& id) {
    std::vector<json> out;
    for (const auto& one : receiver.requests()) {
      const json body = json::parse(one.body);
      if (body["data"]["id"] == id) out.push_back(body);
    }
    return out;
  };
  ASSERT_TRUE(receiver.wait_for([&](const auto&) { return events_of(a2).size() >= 2 && events_of(a3).size() >= 2; }, 30))
      << service.log();
  EXPECT_EQ(service.get_job(a3)["pending_reason"], "fair_share");
  ASSERT_EQ(service.client().Delete("/v1/jobs/" + first)->status, 202);
  for (const std::string& id : {a2, a3, b1}) EXPECT_EQ(service.wait_finished(id, 120)["state"], "done");
  ASSERT_TRUE(receiver.wait_for([&](const auto&) { return events_of(a3).size() >= 5 && events_of(b1).size() >= 3; }, 60));
  const std::map<std::string, std::vector<std::string>> expected = {
      {a2, {"job.pending", "job.pending", "job.started", "job.succeeded"}},
      {a3, {"job.pending", "job.pending", "job.pending", "job.started", "job.succeeded"}},
      {b1, {"job.pending", "job.started", "job.succeeded"}},
      {first, {"job.started", "job.cancelled"}}};
  for (const auto& [id, types] : expected) {
    const std::vector<json> got = events_of(id);
    ASSERT_EQ(got.size(), types.size()) << id;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i]["type"], types[i]) << id << " event " << i;
      EXPECT_EQ(got[i]["data"]["sequence"], i) << id << " event " << i;
      if (types[i] != "job.pending") continue;
      EXPECT_EQ(got[i]["data"]["state"], "queued");
      EXPECT_EQ(got[i]["data"]["pending_reason"], got[i]["data"]["pending"]["reason"]);
      EXPECT_GT(got[i]["data"]["pending"]["estimated_start_unix_s"].get<double>(), 0) << id;
    }
  }
  const auto told = [&](const std::string& id, size_t i) { return events_of(id)[i]["data"]["pending"]; };
  EXPECT_EQ(told(a2, 0)["reason"], "capacity");
  EXPECT_EQ(told(a2, 0)["position"], 1);
  EXPECT_EQ(told(a3, 0)["reason"], "capacity");
  EXPECT_EQ(told(a3, 0)["position"], 2);
  EXPECT_EQ(told(b1, 0)["reason"], "capacity");
  EXPECT_EQ(told(b1, 0)["position"], 1) << "u-b has used nothing: first in line";
  EXPECT_EQ(told(a2, 1)["reason"], "fair_share");
  EXPECT_EQ(told(a2, 1)["position"], 2);
  EXPECT_EQ(told(a3, 1)["reason"], "fair_share");
  EXPECT_EQ(told(a3, 1)["position"], 3);
  // Once u-b's job has run, a3 waits only behind a2, its own user's: capacity again.
  EXPECT_EQ(told(a3, 2)["reason"], "capacity");
  EXPECT_EQ(told(a3, 2)["position"], 2);
  EXPECT_LT(service.get_job(b1)["started_unix_s"].get<double>(), service.get_job(a2)["started_unix_s"].get<double>());
}

// A job a budget holds at admission tells its webhook at once (job.pending, sequence 0, with
// its pending reason), and its cancellation follows as sequence 1.
TEST_F(Backend, AJobHeldByABudgetSaysSoInAWebhookBeforeAnythingElse) {
  Receiver receiver;
  std::ofstream(dir_ / "budgets.json") << R"({"budgets": [{"name": "tiny", "label": {"user_id": "u-held"},
      "per": "day", "usd": 0.000000001, "at_cap": "queue"}]})";
  std::vector<std::string> args = webhook_args(receiver);
  args.insert(args.end(), {"--budgets", (dir_ / "budgets.json").string()});
  rt::ServeService service(dir_.path(), args);
  const std::string id = submit_with_hook(service, receiver.hook("ok"), "held", {{"user_id", "u-held"}});
  ASSERT_TRUE(receiver.wait_for([](const auto& r) { return !r.empty(); }, 30)) << service.log();
  const json pending = json::parse(receiver.requests()[0].body);
  EXPECT_EQ(pending["type"], "job.pending");
  EXPECT_EQ(pending["data"]["id"], id);
  EXPECT_EQ(pending["data"]["sequence"], 0);
  EXPECT_EQ(pending["data"]["state"], "queued");
  EXPECT_EQ(pending["data"]["pending_reason"], "budget:tiny");
  EXPECT_EQ(pending["data"]["pending"]["reason"], "budget:tiny") << "the same view as GET /v1/jobs/{id}";
  EXPECT_EQ(pending["data"]["pending"]["position"], 1);
  EXPECT_TRUE(python_verifies(receiver.requests()[0], kSecretNew, dir_.path()));
  service.client().Delete("/v1/jobs/" + id);
  ASSERT_TRUE(receiver.wait_for([](const auto& r) { return r.size() >= 2; }, 30)) << service.log();
  const json cancelled = json::parse(receiver.requests()[1].body);
  EXPECT_EQ(cancelled["type"], "job.cancelled");
  EXPECT_EQ(cancelled["data"]["sequence"], 1);
}
