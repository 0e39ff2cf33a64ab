// access/tokens.cpp — token files, the environment, constant-time comparison.
#include "access/tokens.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace reelscale::access {

namespace {

std::string trimmed(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::array<unsigned char, 32> digest(const std::string& token) {
  std::array<unsigned char, 32> d{};
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), d.data());
  return d;
}

std::vector<std::string> tokens_in_file(const std::string& file) {
  std::ifstream in(file);
  if (!in) fail(ErrorKind::kBadInput, "cannot read the token file " + file);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    line = trimmed(line);
    if (!line.empty() && line[0] != '#') out.push_back(line);
  }
  if (out.empty()) fail(ErrorKind::kBadInput, "the token file " + file + " holds no token");
  return out;
}

std::vector<std::string> tokens_in_env(const char* env_var) {
  std::vector<std::string> out;
  const char* v = env_var ? std::getenv(env_var) : nullptr;
  if (!v) return out;
  std::stringstream ss(v);
  std::string t;
  while (std::getline(ss, t, ',')) {
    t = trimmed(t);
    if (!t.empty()) out.push_back(t);
  }
  return out;
}

}  // namespace

TokenSet TokenSet::load(const std::string& file, const char* env_var) {
  TokenSet set;
  if (!file.empty()) {
    for (const auto& t : tokens_in_file(file)) set.add(t);
  }
  for (const auto& t : tokens_in_env(env_var)) set.add(t);
  return set;
}

TokenSet TokenSet::of(const std::vector<std::string>& tokens) {
  TokenSet set;
  for (const auto& t : tokens) set.add(t);
  return set;
}

void TokenSet::add(const std::string& token) {
  if (token.size() < 16) fail(ErrorKind::kBadInput, "a token must be at least 16 characters");
  digests_.push_back(digest(token));
}

bool TokenSet::accepts(const std::string& token) const {
  const auto presented = digest(token);
  int matches = 0;
  for (const auto& d : digests_) matches |= CRYPTO_memcmp(d.data(), presented.data(), d.size()) == 0;  // every one, no early exit
  return matches != 0;
}

bool TokenSet::accepts_header(const std::string& authorization) const {
  static const std::string kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() || authorization.compare(0, kBearer.size(), kBearer) != 0) return false;
  return accepts(trimmed(authorization.substr(kBearer.size())));
}

std::optional<std::string> client_token(const std::string& file, const char* env_var) {
  if (!file.empty()) return tokens_in_file(file).front();
  const auto env = tokens_in_env(env_var);
  if (!env.empty()) return env.front();
  return std::nullopt;
}

std::string sha256_hex(const std::string& bytes) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), d);
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : d) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

}  // namespace reelscale::access
