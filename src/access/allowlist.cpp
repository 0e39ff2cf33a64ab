// access/allowlist.cpp — prefix rules, path normalisation, symlink resolution.
#include "access/allowlist.h"

#include <algorithm>
#include <cctype>

#include "common/error.h"
#include "store/store.h"

namespace fs = std::filesystem;

namespace reelscale::access {

namespace {

[[noreturn]] void deny(const std::string& role, const std::string& url, const std::string& why) {
  fail(ErrorKind::kDenied, "the " + role + " '" + url + "' is refused: " + why);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// What could be read two ways: encoded separators, backslashes, dot segments, empty segments.
void refuse_ambiguous(const std::string& url, const std::string& path, const std::string& role) {
  const std::string l = lower(url);
  for (const char* enc : {"%2e", "%2f", "%5c", "%00"}) {
    if (l.find(enc) != std::string::npos) deny(role, url, std::string("it holds the percent-encoding ") + enc);
  }
  if (url.find('\\') != std::string::npos) deny(role, url, "it holds a backslash");
  if (url.find('\0') != std::string::npos) deny(role, url, "it holds a NUL byte");
  size_t start = path.empty() || path[0] != '/' ? 0 : 1;
  while (start <= path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    const std::string seg = path.substr(start, end - start);
    if (seg == "..") deny(role, url, "it has a '..' segment");
    if (seg == ".") deny(role, url, "it has a '.' segment");
    if (seg.empty() && end < path.size()) deny(role, url, "it has a doubled slash");
    start = end + 1;
  }
}

bool under(const fs::path& p, const fs::path& folder) {
  auto pi = p.begin();
  for (auto fi = folder.begin(); fi != folder.end(); ++fi, ++pi) {
    if (fi->empty()) continue;  // the trailing "" of "/a/b/"
    if (pi == p.end() || *pi != *fi) return false;
  }
  return true;
}

}  // namespace

StorageAllowlist::StorageAllowlist(const std::vector<std::string>& prefixes) {
  for (const std::string& p : prefixes) {
    const store::Location l = store::Location::parse(p);
    if (l.s3) {
      S3Rule rule{l.bucket, l.key};
      if (!rule.prefix.empty() && rule.prefix.back() != '/') rule.prefix += '/';
      refuse_ambiguous(p, rule.prefix, "allowed prefix");
      s3_.push_back(rule);
      continue;
    }
    const fs::path folder(l.path);
    std::error_code ec;
    if (!folder.is_absolute() || !fs::is_directory(folder, ec)) {
      fail(ErrorKind::kBadInput, "--allow " + p + " is not an existing absolute folder or an s3://bucket/prefix/");
    }
    folders_.push_back(fs::canonical(folder));
  }
}

void StorageAllowlist::check(const std::string& url, const std::string& role) const {
  store::Location l;
  try {
    l = store::Location::parse(url);
  } catch (const Error& e) {
    deny(role, url, e.what());
  }
  if (l.s3) {
    check_s3(url, l.bucket, l.key, role);
  } else {
    check_local(url, l.path, role);
  }
}

void StorageAllowlist::check_s3(const std::string& url, const std::string& bucket, const std::string& key,
                                const std::string& role) const {
  refuse_ambiguous(url, key, role);
  if (s3_.empty() && folders_.empty()) return;  // no rules at all: any bucket the credentials reach
  for (const S3Rule& r : s3_) {
    if (r.bucket == bucket && key.compare(0, r.prefix.size(), r.prefix) == 0) return;
  }
  deny(role, url, "it is outside the allowed S3 prefixes (" + describe() + ")");
}

void StorageAllowlist::check_local(const std::string& url, const std::string& path, const std::string& role) const {
  if (folders_.empty()) deny(role, url, "local paths are refused unless --allow names a folder");
  if (!fs::path(path).is_absolute()) deny(role, url, "a local path must be absolute");
  refuse_ambiguous(url, path, role);
  std::error_code ec;
  const fs::path resolved = fs::weakly_canonical(path, ec);  // through every symlink that exists
  if (ec) deny(role, url, "it cannot be resolved: " + ec.message());
  for (const fs::path& f : folders_) {
    if (under(resolved, f)) return;
  }
  const bool moved = resolved != fs::path(path).lexically_normal();
  deny(role, url, std::string(moved ? "it resolves (through a symlink) to " + resolved.string() + ", which is" : "it is") +
                      " outside the allowed folders (" + describe() + ")");
}

std::string StorageAllowlist::describe() const {
  std::string s;
  for (const auto& f : folders_) s += (s.empty() ? "" : ", ") + f.string() + "/";
  for (const auto& r : s3_) s += (s.empty() ? "" : ", ") + std::string("s3://") + r.bucket + "/" + r.prefix;
  return s.empty() ? "any s3:// URL; no local paths" : s + " only";
}

}  // namespace reelscale::access
