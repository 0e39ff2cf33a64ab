// access/allowlist.h — the storage a request may read and write, given as prefixes with
// --allow: local folders and s3://bucket/prefix/. A URL is refused (Error kDenied,
// HTTP 403, naming the rule) when it lies outside every prefix, and before any matching
// when it could mean something other than it reads: a `..` or `.` segment, a doubled
// slash, a percent-encoded dot, slash or backslash, a backslash, a relative local path.
// Local paths are resolved through their symlinks first, so a link that leads out is
// refused. With any --allow, only what the prefixes cover is allowed; without any, local
// paths are refused and every s3:// URL is allowed (the worker's storage credentials
// bound what it reaches): the safe default.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace reelscale::access {

class StorageAllowlist {
 public:
  StorageAllowlist() = default;
  // Throws Error(kBadInput) for a prefix that is not an existing absolute folder or an
  // s3://bucket/prefix.
  explicit StorageAllowlist(const std::vector<std::string>& prefixes);

  // Throws Error(kDenied) unless `url` may be used as `role` ("input", "output").
  void check(const std::string& url, const std::string& role) const;
  bool restricts_s3() const { return !s3_.empty(); }
  std::string describe() const;

 private:
  void check_local(const std::string& url, const std::string& path, const std::string& role) const;
  void check_s3(const std::string& url, const std::string& bucket, const std::string& key, const std::string& role) const;

  struct S3Rule {
    std::string bucket;
    std::string prefix;  // "" (the whole bucket) or ending in '/'
  };
  std::vector<std::filesystem::path> folders_;  // canonical
  std::vector<S3Rule> s3_;
};

}  // namespace reelscale::access
