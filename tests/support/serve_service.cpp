// tests/support/serve_service.cpp — starting `reelscale serve` and polling its jobs.
#include "serve_service.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

namespace reelscale::testing {

using nlohmann::json;

ServeService::ServeService(const std::filesystem::path& dir, std::vector<std::string> extra) : dir_(dir) {
  std::ofstream(dir_ / "token") << kServeToken << "\n";
  port_ = free_port();
  std::vector<std::string> argv = {REELSCALE_BINARY, "serve", "--listen", "127.0.0.1:" + std::to_string(port_), "--db",
                                   (dir_ / "jobs.db").string(), "--token-file", (dir_ / "token").string(), "--allow",
                                   dir_.string(), "--allow", "s3://videos/serve/", "--log-format", "json"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  process_ = std::make_unique<ChildProcess>(argv, (dir_ / ("serve-" + std::to_string(port_) + ".log")).string());
  EXPECT_TRUE(wait_for_http(url() + "/readyz", 20)) << log();
}

std::string ServeService::log() const {
  std::ifstream f(dir_ / ("serve-" + std::to_string(port_) + ".log"));
  return std::string(std::istreambuf_iterator<char>(f), {});
}

httplib::Client ServeService::client(bool with_token) const {
  httplib::Client c("127.0.0.1", port_);
  c.set_read_timeout(30);
  if (with_token) c.set_bearer_token_auth(kServeToken);
  return c;
}

json ServeService::get_job(const std::string& id) const {
  auto r = client().Get("/v1/jobs/" + id);
  return r && r->status == 200 ? json::parse(r->body) : json();
}

json ServeService::wait_finished(const std::string& id, double timeout_s) const {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < until) {
    const json j = get_job(id);
    const std::string s = j.value("state", "");
    if (s == "done" || s == "failed" || s == "cancelled") return j;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return get_job(id);
}

bool ServeService::wait_running(const std::string& id, double timeout_s) const {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < until) {
    const json j = get_job(id);
    if (j.value("state", "") == "running" && j["progress"]["frames_done"].get<int64_t>() > 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

httplib::Result ServeService::submit(const json& job, const std::string& idempotency_key) const {
  httplib::Headers h;
  if (!idempotency_key.empty()) h.emplace("Idempotency-Key", idempotency_key);
  return client().Post("/v1/jobs", h, job.dump(), "application/json");
}

}  // namespace reelscale::testing
