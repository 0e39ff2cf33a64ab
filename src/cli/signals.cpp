// cli/signals.cpp — a self-pipe: the handler (async-signal-safe) writes the signal number
// to a pipe and a thread reads it and calls back. Handlers rather than sigwait because
// libraries start threads before main() (OpenBLAS does) that would not have the signals
// blocked. The pipe's write end is the one process-wide value a handler can reach.
#include "cli/signals.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>

namespace reelscale::cli {

namespace {
std::atomic<int> signal_pipe_write{-1};

extern "C" void on_signal(int sig) {
  const int fd = signal_pipe_write.load();
  if (fd >= 0) {
    const unsigned char b = static_cast<unsigned char>(sig);
    [[maybe_unused]] const ssize_t n = write(fd, &b, 1);
  }
}
}  // namespace

SignalWatcher::SignalWatcher(std::function<void(int)> on_signal_callback) : on_signal_(std::move(on_signal_callback)) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return;
  signal_pipe_write = fds[1];
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  thread_ = std::thread([this, read_fd = fds[0]] {
    unsigned char b = 0;
    while (read(read_fd, &b, 1) == 1) {
      if (b == 0) break;  // our own "stop watching"
      on_signal_(b);
    }
    close(read_fd);
  });
}

SignalWatcher::~SignalWatcher() {
  const int fd = signal_pipe_write.exchange(-1);
  if (fd >= 0) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    const unsigned char stop = 0;
    [[maybe_unused]] const ssize_t n = write(fd, &stop, 1);
    close(fd);
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace reelscale::cli
