// tests/support/serve_service.h — a running `reelscale serve` for end-to-end tests: a
// child process on a free loopback port with its own folder (job store, token, logs),
// and the polling its tests share.
#pragma once

#include <httplib.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_services.h"

namespace reelscale::testing {

inline const std::string kServeToken = "serve-test-token-0123456789";

class ServeService {
 public:
  // Allows `dir` and s3://videos/serve/; `extra` adds to the command line.
  explicit ServeService(const std::filesystem::path& dir, std::vector<std::string> extra = {});
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  ChildProcess& process() { return *process_; }
  std::string log() const;
  httplib::Client client(bool with_token = true) const;
  nlohmann::json get_job(const std::string& id) const;
  // Polls until the job has finished; its view.
  nlohmann::json wait_finished(const std::string& id, double timeout_s = 90) const;
  // Polls until the job runs and has done some frames.
  bool wait_running(const std::string& id, double timeout_s = 60) const;
  httplib::Result submit(const nlohmann::json& job, const std::string& idempotency_key = "") const;

 private:
  std::filesystem::path dir_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace reelscale::testing
