// store/store.h — objects addressed by URL: local paths and file:// URLs, and s3:// for
// any S3-compatible store (AWS S3, Cloudflare R2, MinIO, Swift s3api), signed with SigV4
// by libcurl. Whole and ranged reads, streamed uploads (multipart above a size), head,
// delete and listing by prefix; retries with backoff on 5xx, 429 and network errors;
// clear errors for 403 (kDenied) and 404 (kNotFound).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

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

struct ObjectInfo {
  std::string url;
  int64_t size = 0;
  std::string etag;
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
  static Location parse(const std::string& url);
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
  void remove_prefix(const std::string& prefix_url);
  // Creates an S3 bucket (tests and first-time setup); an existing one of ours is fine.
  void create_bucket(const std::string& bucket);

  const StoreStats& stats() const { return stats_; }
  const S3Config& config() const { return config_; }
  // Test hook: called before every S3 request attempt; returning an HTTP status makes
  // that attempt fail with it (0: proceed). Used to check retry behaviour.
  void set_fault_injector(std::function<int(const std::string& method, const std::string& url)> f);

  struct Impl;  // the fault injector (store.cpp)

 private:
  std::unique_ptr<Impl> impl_;
  S3Config config_;
  StoreStats stats_;
};

}  // namespace reelscale::store
