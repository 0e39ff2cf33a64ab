// common/error.h — the one exception type reelscale throws across module boundaries.
// Its kind decides the CLI exit code and the HTTP status, so every failure that reaches
// a user says what went wrong (the message) and whose fault it was (the kind).
#pragma once

#include <stdexcept>
#include <string>

namespace reelscale {

enum class ErrorKind {
  kBadInput,     // the caller's input is wrong: unreadable video, bad job field, bad path
  kNotFound,     // a named input, model or object does not exist
  kDenied,       // storage refused the credentials or the operation
  kUnavailable,  // a worker or service could not be reached or is full
  kTimeout,      // a deadline passed
  kCancelled,    // the job was cancelled
  kIo,           // reading or writing failed for a reason outside the input's content
  kInternal,     // a bug or an invariant broken (e.g. a join frame-count mismatch)
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// Short stable name of a kind ("bad_input", ...), used in JSON error bodies and records.
const char* error_kind_name(ErrorKind kind);
// The kind a name stands for (kInternal for an unknown name).
ErrorKind error_kind_from_name(const std::string& name);
// HTTP status for a kind (400, 404, 403, 503, 504, 499, 500).
int error_http_status(ErrorKind kind);
// Process exit code for a kind: 2 for the caller's mistakes, 1 otherwise.
int error_exit_code(ErrorKind kind);

[[noreturn]] inline void fail(ErrorKind kind, const std::string& message) {
  throw Error(kind, message);
}

}  // namespace reelscale
