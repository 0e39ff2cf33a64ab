// store/s3_backend.cpp — S3-compatible storage signed with SigV4 by libcurl 7.88.
// curl 7.88's quirks (../shared/recipes/s3-swift.md): it adds no x-amz-content-sha256
// (we send UNSIGNED-PAYLOAD), does not canonicalise query strings (we pass them sorted
// and encoded), and must not get an empty "Expect:" header. Every request is retried
// with backoff on 5xx, 429 and network errors; failures become StoreError with the
// HTTP status and the S3 error code from the reply.
#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "store/backend.h"
#include "store/curl_handles.h"
#include "store/s3_xml.h"

namespace fs = std::filesystem;

namespace reelscale::store {

namespace {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;

void global_init() { curl_global_once(); }

std::string uri_encode(const std::string& s, bool keep_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// What a request sends: nothing, an in-memory body or a range of a file.
struct Body {
  const std::string* text = nullptr;
  fs::path file;
  int64_t offset = 0;
  int64_t length = 0;
};

// Where a successful response's body goes: a string, a fixed buffer or a file.
struct Sink {
  std::string* text = nullptr;
  uint8_t* buffer = nullptr;
  int64_t capacity = 0;
  FILE* file = nullptr;
  int64_t written = 0;
  bool to_caller() const { return text || buffer || file; }
};

struct Response {
  long status = 0;
  std::string body;  // the reply when it is not for the caller's sink (errors, small replies)
  std::map<std::string, std::string> headers;  // lower-case names
};

struct ReadState {
  FILE* file = nullptr;
  const std::string* text = nullptr;
  int64_t left = 0;
  int64_t position = 0;
};

size_t read_body(char* buf, size_t size, size_t n, void* user) {
  auto* st = static_cast<ReadState*>(user);
  const size_t want = std::min<int64_t>(static_cast<int64_t>(size * n), st->left);
  if (want == 0) return 0;
  size_t got;
  if (st->text) {
    std::memcpy(buf, st->text->data() + st->position, want);
    got = want;
  } else {
    got = std::fread(buf, 1, want, st->file);
  }
  st->position += got;
  st->left -= got;
  return got;
}

size_t write_body(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  const size_t len = size * n;
  if (s->buffer) {
    const size_t take = std::min<int64_t>(len, s->capacity - s->written);
    std::memcpy(s->buffer + s->written, data, take);
    s->written += take;
    return take == len ? len : take;  // a short write aborts an over-long range reply
  }
  if (s->file) {
    if (std::fwrite(data, 1, len, s->file) != len) return 0;
  } else {
    s->text->append(data, len);
  }
  s->written += len;
  return len;
}

size_t write_header(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  std::string line(data, size * n);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(value.begin());
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.pop_back();
    (*headers)[name] = value;
  }
  return size * n;
}

bool retryable_status(long s) { return s == 429 || s >= 500; }

struct FaultHook {
  std::mutex mutex;
  std::function<int(const std::string&, const std::string&)> inject;
};

// One S3 request with retries. `query` must be sorted and encoded already.
class S3Request {
 public:
  S3Request(const S3Config& cfg, StoreStats& stats, FaultHook& faults, std::string method, const Location& loc,
            std::string query = "")
      : cfg_(cfg), stats_(stats), faults_(faults), method_(std::move(method)), loc_(loc), query_(std::move(query)) {}

  Body body;
  Sink sink;
  std::vector<std::string> headers;

  Response run() {
    if (cfg_.access_key.empty() || cfg_.secret_key.empty()) {
      throw StoreError(ErrorKind::kDenied,
                       "no S3 credentials for " + loc_.url() + ": set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", 0, "");
    }
    std::mt19937_64 rng(std::random_device{}());
    double backoff = cfg_.initial_backoff_s;
    for (int attempt = 1;; ++attempt) {
      Response r;
      const std::string network_problem = attempt_once(r);
      ++stats_.requests;
      if (network_problem.empty() && !retryable_status(r.status)) {
        if (r.status >= 200 && r.status < 300) return r;
        throw_for(r);
      }
      if (attempt >= cfg_.max_attempts) give_up(r, network_problem, attempt);
      ++stats_.retries;
      std::uniform_real_distribution<double> jitter(0.5, 1.5);
      std::this_thread::sleep_for(std::chrono::duration<double>(backoff * jitter(rng)));
      backoff *= 2;
    }
  }

 private:
  // Performs one attempt (or the injected fault); returns a network error text or "".
  std::string attempt_once(Response& r) {
    long injected = 0;
    {
      std::lock_guard lock(faults_.mutex);
      if (faults_.inject) injected = faults_.inject(method_, loc_.url());
    }
    if (!injected) return perform(r);
    r.status = injected;
    r.body = "<Error><Code>InjectedFault</Code></Error>";
    return "";
  }

  [[noreturn]] void give_up(const Response& r, const std::string& network_problem, int attempts) {
    const std::string problem = !network_problem.empty()
                                    ? network_problem
                                    : "HTTP " + std::to_string(r.status) + " " + s3xml::parse_error(r.body).code;
    throw StoreError(ErrorKind::kUnavailable,
                     "storage failed " + method_ + " " + loc_.url() + " after " + std::to_string(attempts) +
                         " attempts: " + problem,
                     static_cast<int>(r.status), s3xml::parse_error(r.body).code);
  }

  std::string url() const {
    const std::string key = uri_encode(loc_.key, true);
    std::string u;
    if (!cfg_.endpoint.empty()) {
      u = cfg_.endpoint + "/" + loc_.bucket + (loc_.key.empty() ? "" : "/") + key;
    } else {
      u = "https://" + loc_.bucket + ".s3." + cfg_.region + ".amazonaws.com/" + key;
    }
    if (!query_.empty()) u += "?" + query_;
    return u;
  }

  SlistPtr set_connection(CURL* c, const std::string& u, const std::string& sigv4) {
    curl_easy_setopt(c, CURLOPT_URL, u.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(cfg_.timeout_s * 1000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(cfg_.connect_timeout_s * 1000));
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4.c_str());
    // USERNAME/PASSWORD, not USERPWD: access keys such as "test:tester" contain a colon.
    curl_easy_setopt(c, CURLOPT_USERNAME, cfg_.access_key.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, cfg_.secret_key.c_str());
    curl_slist* raw = curl_slist_append(nullptr, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
    if (!cfg_.session_token.empty()) raw = curl_slist_append(raw, ("x-amz-security-token: " + cfg_.session_token).c_str());
    for (const auto& h : headers) raw = curl_slist_append(raw, h.c_str());
    SlistPtr list(raw);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list.get());
    return list;
  }

  // The method and what it uploads; the returned file (if any) must outlive the request.
  FilePtr set_method_and_body(CURL* c, ReadState& read) {
    FilePtr file;
    const bool sends_body = method_ == "PUT" || (method_ == "POST" && (body.text || !body.file.empty()));
    if (method_ == "HEAD") {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (sends_body) {
      if (body.text) {
        read.text = body.text;
        read.left = static_cast<int64_t>(body.text->size());
      } else {
        file.reset(std::fopen(body.file.c_str(), "rb"));
        if (!file) fail(ErrorKind::kIo, "cannot read " + body.file.string());
        if (fseeko(file.get(), body.offset, SEEK_SET) != 0) fail(ErrorKind::kIo, "cannot seek in " + body.file.string());
        read.file = file.get();
        read.left = body.length;
      }
      const curl_off_t size = read.left;
      curl_easy_setopt(c, method_ == "PUT" ? CURLOPT_UPLOAD : CURLOPT_POST, 1L);
      curl_easy_setopt(c, method_ == "PUT" ? CURLOPT_INFILESIZE_LARGE : CURLOPT_POSTFIELDSIZE_LARGE, size);
      curl_easy_setopt(c, CURLOPT_READFUNCTION, read_body);
      curl_easy_setopt(c, CURLOPT_READDATA, &read);
    } else if (method_ == "POST") {
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
    } else if (method_ != "GET") {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method_.c_str());
    }
    return file;
  }

  // An error reply that went to the caller's sink is taken back for the message, and undone.
  static void take_back_error_body(Sink& local, int64_t start_written, Response& r) {
    if (local.text && local.text != &r.body) {
      r.body = local.text->substr(static_cast<size_t>(start_written));
      local.text->resize(static_cast<size_t>(start_written));
    }
    local.written = start_written;
    if (local.file) {
      std::fflush(local.file);
      if (ftruncate(fileno(local.file), start_written) == 0) fseeko(local.file, start_written, SEEK_SET);
    }
  }

  // Returns a curl error text, or "" when an HTTP status came back.
  std::string perform(Response& r) {
    CurlPtr curl(curl_easy_init());
    if (!curl) return "cannot create a curl handle";
    CURL* c = curl.get();
    const std::string u = url(), sigv4 = "aws:amz:" + cfg_.region + ":s3";
    const SlistPtr header_list = set_connection(c, u, sigv4);
    ReadState read;
    const FilePtr upload_file = set_method_and_body(c, read);
    Sink local_sink = sink;
    const int64_t start_written = local_sink.written;
    if (!sink.to_caller()) local_sink.text = &r.body;
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &local_sink);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, write_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
    const CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    const bool ok = r.status >= 200 && r.status < 300;
    if (sink.to_caller() && !ok) take_back_error_body(local_sink, start_written, r);
    // A full buffer on a success is a server that ignored the range: keep what fits.
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && local_sink.buffer && ok)) {
      local_sink.written = start_written;
      return std::string(curl_easy_strerror(rc));
    }
    if (ok) {
      stats_.bytes_down += local_sink.written - start_written;
      if (method_ == "PUT" || method_ == "POST") stats_.bytes_up += read.position;
      sink.written = local_sink.written;
    }
    return "";
  }

  [[noreturn]] void throw_for(const Response& r) {
    const std::string code = s3xml::parse_error(r.body).code;
    const int status = static_cast<int>(r.status);
    const std::string what = method_ + " " + loc_.url() + ": HTTP " + std::to_string(status) + (code.empty() ? "" : " " + code);
    if (status == 403 || status == 401) {
      std::string hint;
      if (code == "SignatureDoesNotMatch") hint = " (check AWS_SECRET_ACCESS_KEY)";
      else if (code == "InvalidAccessKeyId") hint = " (check AWS_ACCESS_KEY_ID)";
      throw StoreError(ErrorKind::kDenied, "storage denied " + what + hint, status, code);
    }
    if (status == 404) {
      throw StoreError(ErrorKind::kNotFound, (code == "NoSuchBucket" ? "no such bucket: " : "no such object: ") + loc_.url(),
                       status, code);
    }
    if (status == 416) throw StoreError(ErrorKind::kBadInput, "range outside the object: " + what, status, code);
    if (status == 409) throw StoreError(ErrorKind::kBadInput, "storage refused " + what, status, code);
    throw StoreError(ErrorKind::kIo, "storage refused " + what, status, code);
  }

  const S3Config& cfg_;
  StoreStats& stats_;
  FaultHook& faults_;
  std::string method_;
  Location loc_;
  std::string query_;
};

int64_t file_size_of(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) fail(ErrorKind::kNotFound, "no such file: " + path.string());
  return static_cast<int64_t>(size);
}

class S3Backend final : public Backend {
 public:
  S3Backend(const S3Config& config, StoreStats& stats) : config_(config), stats_(stats) { global_init(); }

  FaultHook& faults() { return faults_; }

  ObjectInfo head(const Location& loc) override {
    const Response r = request("HEAD", loc).run();
    ObjectInfo info;
    info.url = loc.url();
    info.size = r.headers.count("content-length") ? std::stoll(r.headers.at("content-length")) : 0;
    if (r.headers.count("etag")) info.etag = r.headers.at("etag");
    return info;
  }

  std::string get(const Location& loc) override {
    std::string out;
    S3Request req = request("GET", loc);
    req.sink.text = &out;
    req.run();
    return out;
  }

  int64_t get_range(const Location& loc, int64_t offset, int64_t length, uint8_t* out) override {
    S3Request req = request("GET", loc);
    req.headers.push_back("Range: bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1));
    req.sink.buffer = out;
    req.sink.capacity = length;
    try {
      req.run();
    } catch (const StoreError& e) {
      if (e.http_status() == 416) return 0;  // at or past the end
      throw;
    }
    return req.sink.written;
  }

  void get_to_file(const Location& loc, const fs::path& local_path) override {
    AtomicOutputFile out(local_path);
    FilePtr f(std::fopen(out.temp_path().c_str(), "wb"));
    if (!f) fail(ErrorKind::kIo, "cannot write " + local_path.string());
    S3Request req = request("GET", loc);
    req.sink.file = f.get();
    req.run();
    if (std::fflush(f.get()) != 0) fail(ErrorKind::kIo, "cannot write " + local_path.string());
    f.reset();
    out.commit();
  }

  void put_bytes(const std::string& data, const Location& loc) override {
    S3Request req = request("PUT", loc);
    req.body.text = &data;
    req.run();
  }

  void put_file(const fs::path& local_path, const Location& loc) override {
    const int64_t size = file_size_of(local_path);
    if (size <= config_.multipart_threshold) {
      S3Request req = request("PUT", loc);
      req.body.file = local_path;
      req.body.length = size;
      req.run();
      return;
    }
    put_multipart(local_path, size, loc);
  }

  void remove(const Location& loc) override {
    try {
      request("DELETE", loc).run();
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kNotFound) throw;
    }
  }

  std::vector<ObjectInfo> list(const Location& loc) override {
    std::vector<ObjectInfo> out;
    Location bucket = loc;
    bucket.key.clear();
    std::string token;
    do {
      std::string query;
      if (!token.empty()) query += "continuation-token=" + uri_encode(token, false) + "&";
      query += "list-type=2&prefix=" + uri_encode(loc.key, false);
      const s3xml::ListPage page = s3xml::parse_list(get_text(bucket, query));
      for (const auto& o : page.objects) {
        out.push_back({"s3://" + loc.bucket + "/" + o.key, o.size, o.etag, s3xml::parse_iso8601(o.last_modified)});
      }
      token = page.truncated ? page.next_token : "";
    } while (!token.empty());
    return out;
  }

  void remove_prefix(const Location& loc) override {
    for (const ObjectInfo& o : list(loc)) remove(Location::parse(o.url));
  }

  std::vector<UploadInfo> unfinished_uploads(const Location& loc) override {
    std::vector<UploadInfo> out;
    Location bucket = loc;
    bucket.key.clear();
    std::string key_marker, id_marker;
    while (true) {
      std::string query = key_marker.empty() ? "" : "key-marker=" + uri_encode(key_marker, false) + "&";
      query += "prefix=" + uri_encode(loc.key, false);
      if (!id_marker.empty()) query += "&upload-id-marker=" + uri_encode(id_marker, false);
      query += "&uploads=";
      const s3xml::UploadPage page = s3xml::parse_uploads(get_text(bucket, query));
      for (const auto& u : page.uploads) {
        out.push_back({"s3://" + loc.bucket + "/" + u.key, u.upload_id, s3xml::parse_iso8601(u.initiated)});
      }
      if (!page.truncated || page.next_key_marker.empty()) break;
      key_marker = page.next_key_marker;
      id_marker = page.next_upload_id_marker;
    }
    return out;
  }

  void abort_upload(const UploadInfo& upload) override {
    try {
      request("DELETE", Location::parse(upload.url), "uploadId=" + uri_encode(upload.upload_id, false)).run();
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kNotFound) throw;
    }
  }

  void create_bucket(const std::string& name) override {
    Location loc;
    loc.s3 = true;
    loc.bucket = name;
    S3Request req = request("PUT", loc);
    const std::string empty;
    req.body.text = &empty;
    try {
      req.run();
    } catch (const StoreError& e) {
      if (e.code() != "BucketAlreadyOwnedByYou") throw;  // already ours: fine
    }
  }

  void check_writable(const Location& loc) override {
    if (loc.key.empty() || loc.key.back() == '/') fail(ErrorKind::kBadInput, "no object key in " + loc.url());
  }

 private:
  S3Request request(const std::string& method, const Location& loc, const std::string& query = "") {
    return S3Request(config_, stats_, faults_, method, loc, query);
  }

  std::string get_text(const Location& loc, const std::string& query) {
    std::string text;
    S3Request req = request("GET", loc, query);
    req.sink.text = &text;
    req.run();
    return text;
  }

  // The object appears only when the upload completes; aborted on any failure.
  void put_multipart(const fs::path& local_path, int64_t size, const Location& loc) {
    S3Request init = request("POST", loc, "uploads=");
    std::string init_reply;
    init.sink.text = &init_reply;
    init.run();
    const UploadInfo upload{loc.url(), s3xml::parse_upload_id(init_reply), 0};
    const std::string id_query = "uploadId=" + uri_encode(upload.upload_id, false);
    try {
      std::string complete = "<CompleteMultipartUpload>";
      int part = 1;
      for (int64_t offset = 0; offset < size; offset += config_.part_size, ++part) {
        S3Request put = request("PUT", loc, "partNumber=" + std::to_string(part) + "&" + id_query);
        put.body.file = local_path;
        put.body.offset = offset;
        put.body.length = std::min(config_.part_size, size - offset);
        const Response r = put.run();
        const std::string etag = r.headers.count("etag") ? r.headers.at("etag") : "";
        complete += "<Part><PartNumber>" + std::to_string(part) + "</PartNumber><ETag>" + etag + "</ETag></Part>";
      }
      complete += "</CompleteMultipartUpload>";
      S3Request done = request("POST", loc, id_query);
      done.body.text = &complete;
      std::string reply;
      done.sink.text = &reply;
      done.run();
      // S3 may answer 200 and still fail the completion in the body.
      const s3xml::ErrorReply error = s3xml::parse_error(reply);
      if (!error.code.empty()) {
        throw StoreError(ErrorKind::kIo, "storage failed to complete the upload of " + loc.url() + ": " + error.code, 200,
                         error.code);
      }
    } catch (...) {
      try {
        abort_upload(upload);
      } catch (...) {
      }
      throw;
    }
  }

  const S3Config& config_;
  StoreStats& stats_;
  FaultHook faults_;
};

}  // namespace

std::unique_ptr<Backend> make_s3_backend(const S3Config& config, StoreStats& stats) {
  return std::make_unique<S3Backend>(config, stats);
}

void set_s3_fault_injector(Backend& s3, std::function<int(const std::string&, const std::string&)> f) {
  FaultHook& hook = static_cast<S3Backend&>(s3).faults();
  std::lock_guard lock(hook.mutex);
  hook.inject = std::move(f);
}

}  // namespace reelscale::store
