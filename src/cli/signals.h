// cli/signals.h — turns SIGINT and SIGTERM into a callback on a dedicated thread (no
// work in the signal handler). One watcher at a time per process.
#pragma once

#include <csignal>
#include <functional>
#include <thread>

namespace reelscale::cli {

class SignalWatcher {
 public:
  explicit SignalWatcher(std::function<void(int signal)> on_signal);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  std::function<void(int)> on_signal_;
  std::thread thread_;
};

}  // namespace reelscale::cli
