// tests/support/test_services.h — real services for end-to-end tests: child processes
// (workers), the S3-compatible Swift server from scripts/s3-server.sh, an HTTP proxy in
// front of it that fails a share of requests with 500, and a listener that accepts
// connections and never answers.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace reelscale::testing {

// A free TCP port on 127.0.0.1 (bound once and released).
int free_port();
// Waits until GET url answers 200 (up to timeout_s).
bool wait_for_http(const std::string& url, double timeout_s);

// A child process; killed (SIGKILL) and reaped on destruction.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path);
  ~ChildProcess();
  pid_t pid() const { return pid_; }
  void kill_now(int signal = 9);
  // Waits for exit; returns the exit status (or 128 + signal).
  int wait();

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = -1;
};

// Swift with s3api on loopback; sets AWS_* so this process and its children use it.
class S3Server {
 public:
  S3Server();
  ~S3Server();
  const std::string& endpoint() const { return endpoint_; }
  int port() const { return port_; }

 private:
  std::filesystem::path dir_;
  std::string endpoint_;
  int port_ = 0;
};

// Forwards HTTP to `upstream_port`, failing a share of requests with 500 first.
class FaultyProxy {
 public:
  FaultyProxy(int upstream_port, double failure_share, unsigned seed = 7);
  ~FaultyProxy();
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int failures() const { return failures_.load(); }
  int forwarded() const { return forwarded_.load(); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  std::atomic<int> failures_{0}, forwarded_{0};
};

// Accepts TCP connections and never answers (a hung worker).
class SilentServer {
 public:
  SilentServer();
  ~SilentServer();
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<int> held_;
  std::thread thread_;
};

}  // namespace reelscale::testing
