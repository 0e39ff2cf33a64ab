// tests/support/test_services.cpp — child processes, the S3 server, the faulty proxy
// and the silent listener.
#include "test_services.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <random>
#include <stdexcept>

#include "test_media.h"

namespace reelscale::testing {

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

bool wait_for_http(const std::string& url, double timeout_s) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  const auto slash = url.find('/', 7);
  const std::string base = url.substr(0, slash), path = slash == std::string::npos ? "/" : url.substr(slash);
  while (std::chrono::steady_clock::now() < end) {
    httplib::Client c(base);
    c.set_connection_timeout(1, 0);
    c.set_read_timeout(2, 0);
    if (auto res = c.Get(path.c_str()); res && res->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& log_path) {
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (log >= 0) {
      dup2(log, 1);
      dup2(log, 2);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
}

ChildProcess::~ChildProcess() {
  if (!reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

void ChildProcess::kill_now(int signal) { kill(pid_, signal); }

int ChildProcess::wait() {
  if (!reaped_) {
    int st = 0;
    waitpid(pid_, &st, 0);
    reaped_ = true;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  return status_;
}

S3Server::S3Server() {
  TempDir probe;
  dir_ = probe.path().string() + "-swift";
  // The back-end servers take port + 100..102: pick a base with all four free.
  std::mt19937 rng(static_cast<unsigned>(getpid()));
  port_ = 20000 + static_cast<int>(rng() % 20000);
  const std::string script = std::string(REELSCALE_SOURCE_DIR) + "/scripts/s3-server.sh";
  const CommandResult r = run_command(script + " start " + shell_quote(dir_.string()) + " " + std::to_string(port_));
  if (r.status != 0) throw std::runtime_error("cannot start the S3 server: " + r.output);
  endpoint_ = "http://127.0.0.1:" + std::to_string(port_);
  setenv("AWS_ENDPOINT_URL", endpoint_.c_str(), 1);
  setenv("AWS_ACCESS_KEY_ID", "test:tester", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "testing", 1);
  setenv("AWS_REGION", "us-east-1", 1);
}

S3Server::~S3Server() {
  run_command(std::string(REELSCALE_SOURCE_DIR) + "/scripts/s3-server.sh stop " + shell_quote(dir_.string()));
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

// A TCP-level proxy: each connection either gets a canned "500" reply after its request
// headers, or is spliced byte for byte to the upstream server (so signatures, ranges and
// bodies pass untouched). The store opens one connection per request.
struct FaultyProxy::Impl {
  int listen_fd = -1;
  std::atomic<bool> stop{false};
  std::thread acceptor;
  std::vector<std::thread> connections;
  std::mt19937 rng;
  std::mutex mutex;
};

namespace {
void splice_both_ways(int a, int b) {
  pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  char buf[65536];
  while (poll(fds, 2, 30000) > 0) {
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        const ssize_t n = read(fds[i].fd, buf, sizeof buf);
        if (n <= 0) return;
        for (ssize_t off = 0; off < n;) {
          const ssize_t w = write(fds[1 - i].fd, buf + off, n - off);
          if (w <= 0) return;
          off += w;
        }
      }
    }
  }
}
}  // namespace

FaultyProxy::FaultyProxy(int upstream_port, double failure_share, unsigned seed) : impl_(std::make_unique<Impl>()) {
  impl_->rng.seed(seed);
  impl_->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(impl_->listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(impl_->listen_fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  listen(impl_->listen_fd, 64);
  fcntl(impl_->listen_fd, F_SETFL, O_NONBLOCK);
  impl_->acceptor = std::thread([this, upstream_port, failure_share] {
    while (!impl_->stop) {
      const int client = accept(impl_->listen_fd, nullptr, nullptr);
      if (client < 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      bool fail_it;
      {
        std::lock_guard lock(impl_->mutex);
        fail_it = std::uniform_real_distribution<double>(0, 1)(impl_->rng) < failure_share;
      }
      std::lock_guard lock(impl_->mutex);
      impl_->connections.emplace_back([this, client, fail_it, upstream_port] {
        if (fail_it) {
          ++failures_;
          // Read the request head, then answer 500 and close.
          std::string head;
          char c;
          while (head.find("\r\n\r\n") == std::string::npos && read(client, &c, 1) == 1) head += c;
          const std::string body = "<Error><Code>InternalError</Code><Message>injected</Message></Error>";
          const std::string reply = "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\nContent-Length: " +
                                    std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
          if (write(client, reply.data(), reply.size()) < 0) {
          }
          close(client);
          return;
        }
        ++forwarded_;
        const int up = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        to.sin_port = htons(static_cast<uint16_t>(upstream_port));
        if (connect(up, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) splice_both_ways(client, up);
        close(up);
        close(client);
      });
    }
  });
}

FaultyProxy::~FaultyProxy() {
  impl_->stop = true;
  impl_->acceptor.join();
  std::lock_guard lock(impl_->mutex);
  for (auto& t : impl_->connections) t.join();
  close(impl_->listen_fd);
}

SilentServer::SilentServer() {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  listen(listen_fd_, 16);
  fcntl(listen_fd_, F_SETFL, O_NONBLOCK);
  thread_ = std::thread([this] {
    while (!stop_) {
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd >= 0) held_.push_back(fd);  // read nothing, answer nothing
      else std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
}

SilentServer::~SilentServer() {
  stop_ = true;
  thread_.join();
  for (int fd : held_) close(fd);
  close(listen_fd_);
}

}  // namespace reelscale::testing
