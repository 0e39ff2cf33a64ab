// store/store.h — objects addressed by URL: local paths and file:// URLs, and s3:// for
// any S3-compatible store (AWS S3, Cloudflare R2, MinIO, Swift s3api). ObjectStore routes
// each URL to its backend (backend.h: local_backend.cpp, s3_backend.cpp), so callers never
// decide between local files and S3 themselves. Whole and ranged reads, atomic writes
// (rename locally, single PUT or completed multipart upload in S3), listing and removal by
// prefix, unfinished multipart uploads; StoreError carries the HTTP status and S3 code.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/files.h"

namespace reelscale::store {

struct S3Config {
  std::string endpoint;       // e.g. http://127.0.0.1:8080 (path-style); empty: AWS virtual-hosted
  std::string region = "us-east-1";
  std::string access_key;
  std::string secret_key;
  std::string session_token;
  int max_attempts = 5;              // per request, first try included
  double initial_backoff_s = 0.1;    // doubles each retry, with jitter
  double timeout_s = 60;             // whole request
  double connect_timeout_s = 5;
  int64_t multipart_threshold = 16 << 20;
  int64_t part_size = 8 << 20;
  // From AWS_ENDPOINT_URL, AWS_REGION / AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID,
  // AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.
  static S3Config from_env();
};

// A failure reported by the storage service: the kind (403 -> kDenied, 404 -> kNotFound,
// ...), the HTTP status and the S3 error code ("NoSuchKey"), so callers classify errors by
// status and code, never by message text.
class StoreError : public Error {
 public:
  StoreError(ErrorKind kind, const std::string& message, int http_status, std::string code)
      : Error(kind, message), http_status_(http_status), code_(std::move(code)) {}
  int http_status() const { return http_status_; }
  const std::string& code() const { return code_; }

 private:
  int http_status_;
  std::string code_;
};

struct ObjectInfo {
  std::string url;
  int64_t size = 0;
  std::string etag;
  double modified_unix_s = 0;  // last modification, seconds since 1970 (0: unknown)
};

// A multipart upload that was started and neither completed nor aborted.
struct UploadInfo {
  std::string url;        // of the object it would create
  std::string upload_id;
  double initiated_unix_s = 0;
};

struct StoreStats {
  std::atomic<int64_t> requests{0};
  std::atomic<int64_t> retries{0};
  std::atomic<int64_t> bytes_down{0};
  std::atomic<int64_t> bytes_up{0};
};

// A parsed location: scheme "file" (path) or "s3" (bucket, key).
struct Location {
  bool s3 = false;
  std::string path;    // file
  std::string bucket;  // s3
  std::string key;     // s3
  std::string url() const;
  // The URL of `name` in the same folder as this object ("s3://b/dir/name", "dir/name").
  std::string sibling(const std::string& name) const;
  // The URL of the folder holding this object, ending in '/'.
  std::string folder() const;
  static Location parse(const std::string& url);
};

class Backend;

// Where a writer puts its bytes before commit(): beside a local destination (renamed
// over it) or in a scratch folder (uploaded). Removed unless committed.
class ObjectWriter {
 public:
  ObjectWriter(Backend& backend, Location destination, const std::filesystem::path& scratch);
  ~ObjectWriter();
  ObjectWriter(const ObjectWriter&) = delete;
  ObjectWriter& operator=(const ObjectWriter&) = delete;
  // The local file to write.
  const std::filesystem::path& path() const { return file_.temp_path(); }
  // Puts the file at its destination; returns the seconds spent uploading (0 when local).
  double commit();

 private:
  Backend& backend_;
  Location destination_;
  std::unique_ptr<ScopedTempDir> scratch_;
  AtomicOutputFile file_;
};

// A readable local copy of an object: the file itself when local, else a download into
// scratch (removed with this object).
class LocalCopy {
 public:
  LocalCopy(std::filesystem::path path, std::unique_ptr<ScopedTempDir> scratch)
      : path_(std::move(path)), scratch_(std::move(scratch)) {}
  const std::filesystem::path& path() const { return path_; }
  bool downloaded() const { return scratch_ != nullptr; }

 private:
  std::filesystem::path path_;
  std::unique_ptr<ScopedTempDir> scratch_;
};

class ObjectStore {
 public:
  explicit ObjectStore(S3Config config = S3Config::from_env());
  ~ObjectStore();
  ObjectStore(const ObjectStore&) = delete;
  ObjectStore& operator=(const ObjectStore&) = delete;

  ObjectInfo head(const std::string& url);
  bool exists(const std::string& url);
  std::string get(const std::string& url);
  // Reads [offset, offset + length) into `out`; returns the bytes read (short at the end).
  int64_t get_range(const std::string& url, int64_t offset, int64_t length, uint8_t* out);
  void get_to_file(const std::string& url, const std::string& local_path);
  // Uploads a local file (streamed; multipart above the threshold). The object appears
  // whole or not at all.
  void put_file(const std::string& local_path, const std::string& url);
  void put_bytes(const std::string& data, const std::string& url);
  void remove(const std::string& url);  // absent objects are fine
  std::vector<ObjectInfo> list(const std::string& prefix_url);
  // Removes every object under the prefix (and a local folder the prefix names).
  void remove_prefix(const std::string& prefix_url);
  // Multipart uploads under a prefix that were never completed or aborted (none locally).
  std::vector<UploadInfo> unfinished_uploads(const std::string& prefix_url);
  void abort_upload(const UploadInfo& upload);
  // Creates an S3 bucket (tests and first-time setup); an existing one of ours is fine.
  void create_bucket(const std::string& bucket);

  // The local file a URL names, when it names one (the media reader opens it directly).
  std::optional<std::filesystem::path> local_path(const std::string& url);
  // Where to write an object atomically; `scratch` holds uploads before they go.
  std::unique_ptr<ObjectWriter> writer(const std::string& url, const std::filesystem::path& scratch);
  // A local copy to read (the file itself when local).
  LocalCopy fetch(const std::string& url, const std::filesystem::path& scratch);
  // Checks that an output can be written without touching the input: a local folder
  // exists, the output is not the input. Throws Error(kBadInput) naming the problem.
  void check_destination(const std::string& output_url, const std::string& input_url);

  const StoreStats& stats() const { return stats_; }
  const S3Config& config() const { return config_; }
  // Test hook: called before every S3 request attempt; returning an HTTP status makes
  // that attempt fail with it (0: proceed). Used to check retry behaviour.
  void set_fault_injector(std::function<int(const std::string& method, const std::string& url)> f);

 private:
  Backend& backend_for(const Location& location);

  S3Config config_;
  StoreStats stats_;
  std::unique_ptr<Backend> local_;
  std::unique_ptr<Backend> s3_;
};

}  // namespace reelscale::store
