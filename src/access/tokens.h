// access/tokens.h — the bearer tokens a service accepts: read from a file (one per
// line; blank lines and # comments ignored) and from REELSCALE_TOKEN (comma-separated),
// several valid at once so a token can be rotated without downtime. A presented token is
// compared with every accepted one through SHA-256 digests in constant time, so neither
// its content nor its length leaks through timing.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace reelscale::access {

class TokenSet {
 public:
  TokenSet() = default;
  // Tokens from `file` (when not empty) and from the environment variable (when set).
  // Throws Error(kBadInput) for an unreadable file, or one that holds no token.
  static TokenSet load(const std::string& file, const char* env_var = "REELSCALE_TOKEN");
  static TokenSet of(const std::vector<std::string>& tokens);

  bool empty() const { return digests_.empty(); }
  size_t size() const { return digests_.size(); }
  // Whether an "Authorization" header value ("Bearer TOKEN") carries an accepted token.
  bool accepts_header(const std::string& authorization) const;
  bool accepts(const std::string& token) const;

 private:
  void add(const std::string& token);
  std::vector<std::array<unsigned char, 32>> digests_;
};

// SHA-256 of `bytes` as 64 lowercase hex digits (request bodies for idempotency).
std::string sha256_hex(const std::string& bytes);

// The first token of a file or REELSCALE_TOKEN, for a client to send; nullopt when
// neither gives one.
std::optional<std::string> client_token(const std::string& file, const char* env_var = "REELSCALE_TOKEN");

}  // namespace reelscale::access
