// access/webhooks.cpp — webhook secrets and signatures (OpenSSL HMAC-SHA256 and base64),
// and the webhook target allowlist.
#include "access/webhooks.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>
#include <fstream>

#include "common/error.h"

namespace reelscale::access {

std::string base64_encode(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string base64_decode(const std::string& text) {
  if (text.empty() || text.size() % 4 != 0) fail(ErrorKind::kBadInput, "not base64 (its length is not a multiple of 4)");
  std::string out(3 * text.size() / 4 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) fail(ErrorKind::kBadInput, "not base64");
  size_t padding = 0;
  for (size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) ++padding;
  out.resize(static_cast<size_t>(n) - padding);  // EVP_DecodeBlock counts the padding as zero bytes
  return out;
}

WebhookSecrets WebhookSecrets::of(const std::vector<std::string>& whsec_secrets) {
  WebhookSecrets s;
  for (size_t i = 0; i < whsec_secrets.size(); ++i) {
    const std::string& line = whsec_secrets[i];
    const std::string where = "webhook secret " + std::to_string(i + 1);
    if (line.rfind("whsec_", 0) != 0) fail(ErrorKind::kBadInput, where + " does not start with whsec_");
    std::string key;
    try {
      key = base64_decode(line.substr(6));
    } catch (const Error& e) {
      fail(ErrorKind::kBadInput, where + " is " + e.what());
    }
    if (key.size() < 24 || key.size() > 64) {
      fail(ErrorKind::kBadInput, where + " holds " + std::to_string(key.size()) + " bytes; 24 to 64 are accepted");
    }
    s.keys_.push_back(std::move(key));
  }
  return s;
}

WebhookSecrets WebhookSecrets::load(const std::string& path) {
  std::ifstream f(path);
  if (!f) fail(ErrorKind::kNotFound, "webhook secret file not found: " + path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(f, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  }
  if (lines.empty()) fail(ErrorKind::kBadInput, "the webhook secret file " + path + " holds no secret");
  return of(lines);
}

std::string WebhookSecrets::signature(const std::string& id, int64_t timestamp, const std::string& body) const {
  const std::string content = id + "." + std::to_string(timestamp) + "." + body;
  std::string header;
  for (const std::string& key : keys_) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(content.data()),
         content.size(), mac, &length);
    if (!header.empty()) header += " ";
    header += "v1," + base64_encode(std::string(reinterpret_cast<const char*>(mac), length));
  }
  return header;
}

namespace {

// The scheme and authority of an http(s) URL ("https://host:port"), or "" when it is not
// one or could mean something other than it reads.
std::string origin_of(const std::string& url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return "";
  const std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return "";
  for (const unsigned char c : url) {
    if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '#') return "";
  }
  const size_t path = url.find_first_of("/?", scheme_end + 3);
  const std::string authority = url.substr(scheme_end + 3, path == std::string::npos ? std::string::npos : path - scheme_end - 3);
  if (authority.empty() || authority.find('@') != std::string::npos) return "";
  // Dot segments, doubled slashes and encoded dots or slashes in the path: a prefix match
  // could not be trusted once the client or the receiver normalizes them.
  std::string path_part = path == std::string::npos ? "" : url.substr(path);
  path_part = path_part.substr(0, path_part.find('?'));
  std::string lower = path_part;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string dotted = lower + "/";
  if (dotted.find("/./") != std::string::npos || dotted.find("/../") != std::string::npos ||
      lower.find("//") != std::string::npos || lower.find("%2e") != std::string::npos ||
      lower.find("%2f") != std::string::npos || lower.find("%5c") != std::string::npos) {
    return "";
  }
  return scheme + "://" + authority;
}

// The URL as a message may show it: at most 200 characters, any credentials before an '@'
// in its authority replaced by "***" (a refusal must not echo a password back).
std::string shown(const std::string& url) {
  std::string out = url.substr(0, 200);
  const size_t scheme_end = out.find("://");
  const size_t start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  const size_t authority_end = out.find_first_of("/?#", start);
  const size_t at = out.rfind('@', authority_end == std::string::npos ? std::string::npos : authority_end);
  if (at != std::string::npos && at >= start) out.replace(start, at - start, "***");
  return out;
}

}  // namespace

WebhookAllowlist::WebhookAllowlist(const std::vector<std::string>& prefixes) {
  for (const std::string& p : prefixes) {
    if (origin_of(p).empty()) fail(ErrorKind::kBadInput, "--webhook-allow '" + p + "' is not an http(s) URL prefix");
    prefixes_.push_back(p);
  }
}

void WebhookAllowlist::check(const std::string& url) const {
  const std::string origin = origin_of(url);
  if (origin.empty()) {
    fail(ErrorKind::kDenied, "webhook_url '" + shown(url) +
                                 "' is not a plain http(s) URL (no credentials, fragment, spaces, backslashes, dot "
                                 "segments or encoded dots and slashes)");
  }
  for (const std::string& p : prefixes_) {
    if (url.rfind(p, 0) != 0) continue;
    // A prefix that ends inside the authority or a path segment must end there in the URL
    // too: "https://hooks.example.com" does not allow "https://hooks.example.com.evil.net".
    const char next = url.size() > p.size() ? url[p.size()] : '/';
    if (p.back() == '/' || next == '/' || next == '?') return;
  }
  fail(ErrorKind::kDenied, "webhook_url '" + shown(url) + "' is outside every --webhook-allow prefix" +
                               (prefixes_.empty() ? " (none is set: this service sends no webhooks)" : ""));
}

}  // namespace reelscale::access
