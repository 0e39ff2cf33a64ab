// serve/submission.h — what a submission to POST /v1/jobs holds beyond the job spec: the
// backend's `labels` (a few string keys and values, bounded in number and size; keys are
// also Prometheus label names and ?label.KEY= filters) and a `webhook_url`. The rest of
// the body is the job spec (process/job_spec.h).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "process/job_spec.h"
#include "serve/job_store.h"

namespace reelscale::serve {

inline constexpr size_t kMaxLabels = 16;
inline constexpr size_t kMaxLabelKeyBytes = 40;
inline constexpr size_t kMaxLabelValueBytes = 128;

struct SubmissionBody {
  process::JobSpec spec;
  Labels labels;
  std::string webhook_url;  // "" : none
};

// Error(kBadInput) naming the field: not JSON, a bad spec, or labels out of bounds.
SubmissionBody parse_submission(const std::string& body);
// A label key: 1-40 of a-z, 0-9 and _, starting with a letter.
bool valid_label_key(const std::string& key);

}  // namespace reelscale::serve
