// common/first_error.h — keeps the first exception of several threads and tells the
// others to stop: each thread calls capture() in its catch block, the owner calls
// rethrow() once they have all been joined.
#pragma once

#include <atomic>
#include <exception>
#include <mutex>

namespace reelscale {

class FirstError {
 public:
  // Call from inside a catch block.
  void capture() {
    std::lock_guard lock(mutex_);
    if (!error_) error_ = std::current_exception();
    failed_ = true;
  }
  bool failed() const { return failed_.load(); }
  void rethrow() {
    std::lock_guard lock(mutex_);
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::mutex mutex_;
  std::exception_ptr error_;
  std::atomic<bool> failed_{false};
};

}  // namespace reelscale
