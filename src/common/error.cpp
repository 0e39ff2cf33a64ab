// common/error.cpp — names, HTTP statuses and exit codes of error kinds.
#include "common/error.h"

namespace reelscale {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kBadInput: return "bad_input";
    case ErrorKind::kNotFound: return "not_found";
    case ErrorKind::kDenied: return "denied";
    case ErrorKind::kUnavailable: return "unavailable";
    case ErrorKind::kTimeout: return "timeout";
    case ErrorKind::kCancelled: return "cancelled";
    case ErrorKind::kIo: return "io";
    case ErrorKind::kInternal: return "internal";
  }
  return "internal";
}

ErrorKind error_kind_from_name(const std::string& name) {
  for (ErrorKind k : {ErrorKind::kBadInput, ErrorKind::kNotFound, ErrorKind::kDenied, ErrorKind::kUnavailable,
                      ErrorKind::kTimeout, ErrorKind::kCancelled, ErrorKind::kIo, ErrorKind::kInternal}) {
    if (name == error_kind_name(k)) return k;
  }
  return ErrorKind::kInternal;
}

int error_http_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kBadInput: return 400;
    case ErrorKind::kNotFound: return 404;
    case ErrorKind::kDenied: return 403;
    case ErrorKind::kUnavailable: return 503;
    case ErrorKind::kTimeout: return 504;
    case ErrorKind::kCancelled: return 499;
    case ErrorKind::kIo:
    case ErrorKind::kInternal: return 500;
  }
  return 500;
}

int error_exit_code(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kBadInput:
    case ErrorKind::kNotFound:
    case ErrorKind::kDenied: return 2;
    default: return 1;
  }
}

}  // namespace reelscale
