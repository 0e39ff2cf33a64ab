// serve/submission.cpp — splitting a submission into its job spec, labels and webhook URL.
#include "serve/submission.h"

#include "common/error.h"

namespace reelscale::serve {

namespace {

[[noreturn]] void bad(const std::string& what) { fail(ErrorKind::kBadInput, what); }

bool printable(const std::string& s) {
  for (const unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

Labels parse_labels(const nlohmann::json& j) {
  if (!j.is_object()) bad("labels must be an object of string keys and string values");
  if (j.size() > kMaxLabels) bad("labels: " + std::to_string(j.size()) + " keys, at most " + std::to_string(kMaxLabels));
  Labels out;
  for (const auto& [key, value] : j.items()) {
    if (!valid_label_key(key)) {
      bad("label key '" + key.substr(0, 64) + "' must be 1-" + std::to_string(kMaxLabelKeyBytes) +
          " of a-z, 0-9 and _, starting with a letter");
    }
    if (!value.is_string()) bad("label " + key + " must be a string");
    const std::string v = value.get<std::string>();
    if (v.empty() || v.size() > kMaxLabelValueBytes || !printable(v)) {
      bad("label " + key + " must be 1-" + std::to_string(kMaxLabelValueBytes) + " bytes of printable text");
    }
    out[key] = v;
  }
  return out;
}

}  // namespace

bool valid_label_key(const std::string& key) {
  if (key.empty() || key.size() > kMaxLabelKeyBytes || key[0] < 'a' || key[0] > 'z') return false;
  for (const char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

SubmissionBody parse_submission(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) bad("the request body is not JSON");
  if (!j.is_object()) bad("the job spec must be a JSON object");
  SubmissionBody s;
  if (j.contains("labels")) {
    s.labels = parse_labels(j["labels"]);
    j.erase("labels");
  }
  if (j.contains("webhook_url")) {
    if (!j["webhook_url"].is_string() || j["webhook_url"].get<std::string>().empty()) {
      bad("webhook_url must be a non-empty string");
    }
    s.webhook_url = j["webhook_url"].get<std::string>();
    j.erase("webhook_url");
  }
  s.spec = process::parse_job_spec(j);
  return s;
}

}  // namespace reelscale::serve
