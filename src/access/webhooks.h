// access/webhooks.h — what keeps webhooks safe, to the Standard Webhooks 1.0 convention:
// the signing secrets (`whsec_` + base64, one a line in --webhook-secret-file; every
// secret listed signs, so a receiver may rotate), the signature header
// (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, space-separated, one per secret),
// and the targets a job may name (--webhook-allow prefixes: a URL outside every prefix
// is refused with Error(kDenied), so the service cannot be pointed at internal
// addresses; a URL with credentials, a fragment, whitespace or a scheme other than
// http(s) is refused whatever the prefixes).
#pragma once

#include <string>
#include <vector>

namespace reelscale::access {

class WebhookSecrets {
 public:
  WebhookSecrets() = default;
  // Error(kNotFound) for a missing file; Error(kBadInput) naming the line for a secret
  // that is not whsec_ + base64 of 24 to 64 bytes.
  static WebhookSecrets load(const std::string& path);
  static WebhookSecrets of(const std::vector<std::string>& whsec_secrets);
  bool empty() const { return keys_.empty(); }
  // The webhook-signature header's value for one message.
  std::string signature(const std::string& id, int64_t timestamp, const std::string& body) const;

 private:
  std::vector<std::string> keys_;  // decoded
};

class WebhookAllowlist {
 public:
  WebhookAllowlist() = default;
  // Error(kBadInput) for a prefix that is not an http(s) URL.
  explicit WebhookAllowlist(const std::vector<std::string>& prefixes);
  // Error(kDenied) naming the rule unless the URL may receive webhooks; with no prefixes,
  // every URL is refused.
  void check(const std::string& url) const;

 private:
  std::vector<std::string> prefixes_;
};

// Base64 (standard alphabet, padded) of bytes, and back (Error(kBadInput) when not base64).
std::string base64_encode(const std::string& bytes);
std::string base64_decode(const std::string& text);

}  // namespace reelscale::access
