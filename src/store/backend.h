// store/backend.h — what every storage backend implements, addressed by parsed
// locations. ObjectStore (store.h) picks the backend for each URL.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace reelscale::store {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual ObjectInfo head(const Location& loc) = 0;
  virtual std::string get(const Location& loc) = 0;
  virtual int64_t get_range(const Location& loc, int64_t offset, int64_t length, uint8_t* out) = 0;
  virtual void get_to_file(const Location& loc, const std::filesystem::path& local_path) = 0;
  virtual void put_file(const std::filesystem::path& local_path, const Location& loc) = 0;
  virtual void put_bytes(const std::string& data, const Location& loc) = 0;
  virtual void remove(const Location& loc) = 0;
  virtual std::vector<ObjectInfo> list(const Location& prefix) = 0;
  virtual void remove_prefix(const Location& prefix) = 0;
  virtual std::vector<UploadInfo> unfinished_uploads(const Location&) { return {}; }
  virtual void abort_upload(const UploadInfo&) {}
  virtual void create_bucket(const std::string& bucket) = 0;
  // The local file the location names, if the backend keeps objects as local files.
  virtual std::optional<std::filesystem::path> local_path(const Location&) const { return std::nullopt; }
  // Checks before any work that an object can be written there.
  virtual void check_writable(const Location& loc) = 0;
};

std::unique_ptr<Backend> make_local_backend();
std::unique_ptr<Backend> make_s3_backend(const S3Config& config, StoreStats& stats);
// The test hook of ObjectStore::set_fault_injector (S3 only).
void set_s3_fault_injector(Backend& s3, std::function<int(const std::string&, const std::string&)> f);

}  // namespace reelscale::store
