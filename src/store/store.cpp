// store/store.cpp — local files and S3 (SigV4 by libcurl 7.88) behind one interface.
// curl 7.88's quirks (../shared/recipes/s3-swift.md): it adds no x-amz-content-sha256
// (we send UNSIGNED-PAYLOAD), does not canonicalise query strings (we pass them sorted
// and encoded), and must not get an empty "Expect:" header.
#include "store/store.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "common/error.h"
#include "common/files.h"

namespace fs = std::filesystem;

namespace reelscale::store {

S3Config S3Config::from_env() {
  S3Config c;
  auto env = [](const char* k) -> std::string {
    const char* v = std::getenv(k);
    return v ? v : "";
  };
  c.endpoint = env("AWS_ENDPOINT_URL");
  while (!c.endpoint.empty() && c.endpoint.back() == '/') c.endpoint.pop_back();
  if (!env("AWS_REGION").empty()) c.region = env("AWS_REGION");
  else if (!env("AWS_DEFAULT_REGION").empty()) c.region = env("AWS_DEFAULT_REGION");
  c.access_key = env("AWS_ACCESS_KEY_ID");
  c.secret_key = env("AWS_SECRET_ACCESS_KEY");
  c.session_token = env("AWS_SESSION_TOKEN");
  return c;
}

std::string Location::url() const { return s3 ? "s3://" + bucket + "/" + key : path; }

Location Location::parse(const std::string& url) {
  Location l;
  if (url.rfind("s3://", 0) == 0) {
    const std::string rest = url.substr(5);
    const auto slash = rest.find('/');
    l.s3 = true;
    l.bucket = rest.substr(0, slash);
    l.key = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (l.bucket.empty()) fail(ErrorKind::kBadInput, "no bucket in '" + url + "' (expected s3://bucket/key)");
    return l;
  }
  if (url.rfind("file://", 0) == 0) {
    l.path = url.substr(7);
    return l;
  }
  if (url.find("://") != std::string::npos) {
    fail(ErrorKind::kBadInput, "unsupported storage URL '" + url + "' (use a local path, file:// or s3://)");
  }
  l.path = url;
  return l;
}

namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

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

std::string xml_unescape(std::string s) {
  const std::pair<const char*, const char*> entities[] = {{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&amp;", "&"}};
  for (const auto& [from, to] : entities) {
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + 1)) s.replace(p, std::strlen(from), to);
  }
  return s;
}

// Values of <tag>...</tag> in order.
std::vector<std::string> xml_values(const std::string& xml, const std::string& tag) {
  std::vector<std::string> out;
  const std::string open = "<" + tag + ">", close = "</" + tag + ">";
  for (size_t p = xml.find(open); p != std::string::npos; p = xml.find(open, p)) {
    const size_t start = p + open.size();
    const size_t end = xml.find(close, start);
    if (end == std::string::npos) break;
    out.push_back(xml_unescape(xml.substr(start, end - start)));
    p = end;
  }
  return out;
}

std::string xml_value(const std::string& xml, const std::string& tag) {
  const auto v = xml_values(xml, tag);
  return v.empty() ? "" : v.front();
}

// What a request sends and where its response body goes.
struct Body {
  const std::string* text = nullptr;  // in-memory body
  std::string file;                   // or a file range
  int64_t offset = 0;
  int64_t length = 0;
};

struct Response {
  long status = 0;
  std::string body;
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

struct Sink {
  std::string* text = nullptr;
  uint8_t* buffer = nullptr;
  int64_t capacity = 0;
  FILE* file = nullptr;
  int64_t written = 0;
};

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

}  // namespace

struct ObjectStore::Impl {
  std::function<int(const std::string&, const std::string&)> faults;
  std::mutex fault_mutex;
};

ObjectStore::ObjectStore(S3Config config) : impl_(std::make_unique<Impl>()), config_(std::move(config)) { global_init(); }
ObjectStore::~ObjectStore() = default;

void ObjectStore::set_fault_injector(std::function<int(const std::string&, const std::string&)> f) {
  std::lock_guard lock(impl_->fault_mutex);
  impl_->faults = std::move(f);
}

namespace {

// One S3 request with retries. `query` must be sorted and encoded already.
class S3Request {
 public:
  S3Request(const S3Config& cfg, StoreStats& stats, ObjectStore::Impl& impl, std::string method, const Location& loc,
            std::string query = "")
      : cfg_(cfg), stats_(stats), impl_(impl), method_(std::move(method)), loc_(loc), query_(std::move(query)) {}

  Body body;
  Sink sink;
  std::vector<std::string> headers;

  Response run() {
    if (cfg_.access_key.empty() || cfg_.secret_key.empty()) {
      fail(ErrorKind::kDenied, "no S3 credentials for " + loc_.url() + ": set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    }
    std::mt19937_64 rng(std::random_device{}());
    double backoff = cfg_.initial_backoff_s;
    std::string last_problem;
    for (int attempt = 1;; ++attempt) {
      Response r;
      std::string curl_problem;
      const long injected = injected_status();
      if (injected) {
        r.status = injected;
        r.body = "<Error><Code>InjectedFault</Code></Error>";
      } else {
        curl_problem = perform(r);
      }
      ++stats_.requests;
      const bool retry = !curl_problem.empty() || retryable_status(r.status);
      if (!retry) {
        if (r.status >= 200 && r.status < 300) return r;
        throw_for(r);
      }
      last_problem = curl_problem.empty() ? "HTTP " + std::to_string(r.status) + " " + xml_value(r.body, "Code") : curl_problem;
      if (attempt >= cfg_.max_attempts) {
        fail(ErrorKind::kUnavailable, "storage failed " + method_ + " " + loc_.url() + " after " + std::to_string(attempt) +
                                          " attempts: " + last_problem);
      }
      ++stats_.retries;
      std::uniform_real_distribution<double> jitter(0.5, 1.5);
      std::this_thread::sleep_for(std::chrono::duration<double>(backoff * jitter(rng)));
      backoff *= 2;
    }
  }

 private:
  long injected_status() {
    std::lock_guard lock(impl_.fault_mutex);
    return impl_.faults ? impl_.faults(method_, loc_.url()) : 0;
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

  // Returns a curl error text, or "" when an HTTP status came back.
  std::string perform(Response& r) {
    CurlPtr curl(curl_easy_init());
    if (!curl) return "cannot create a curl handle";
    CURL* c = curl.get();
    const std::string u = url();
    curl_easy_setopt(c, CURLOPT_URL, u.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(cfg_.timeout_s * 1000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(cfg_.connect_timeout_s * 1000));
    const std::string sigv4 = "aws:amz:" + cfg_.region + ":s3";
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4.c_str());
    // USERNAME/PASSWORD, not USERPWD: access keys such as "test:tester" contain a colon.
    curl_easy_setopt(c, CURLOPT_USERNAME, cfg_.access_key.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, cfg_.secret_key.c_str());
    curl_slist* raw = nullptr;
    raw = curl_slist_append(raw, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
    if (!cfg_.session_token.empty()) raw = curl_slist_append(raw, ("x-amz-security-token: " + cfg_.session_token).c_str());
    for (const auto& h : headers) raw = curl_slist_append(raw, h.c_str());
    SlistPtr header_list(raw);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, header_list.get());

    ReadState read;
    std::unique_ptr<FILE, int (*)(FILE*)> file(nullptr, &std::fclose);
    if (method_ == "HEAD") {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (method_ == "PUT" || (method_ == "POST" && (body.text || !body.file.empty()))) {
      if (body.text) {
        read.text = body.text;
        read.left = static_cast<int64_t>(body.text->size());
      } else {
        file.reset(std::fopen(body.file.c_str(), "rb"));
        if (!file) fail(ErrorKind::kIo, "cannot read " + body.file);
        if (fseeko(file.get(), body.offset, SEEK_SET) != 0) fail(ErrorKind::kIo, "cannot seek in " + body.file);
        read.file = file.get();
        read.left = body.length;
      }
      const curl_off_t size = read.left;
      if (method_ == "PUT") {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, size);
      } else {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, size);
      }
      curl_easy_setopt(c, CURLOPT_READFUNCTION, read_body);
      curl_easy_setopt(c, CURLOPT_READDATA, &read);
    } else if (method_ == "POST") {
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
    } else if (method_ != "GET") {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method_.c_str());
    }
    // Response body: to the caller's sink on success, to r.body for errors.
    Sink local_sink = sink;
    const bool to_caller = sink.text || sink.buffer || sink.file;
    const int64_t start_written = local_sink.written;
    if (!to_caller) local_sink.text = &r.body;
    // Decide per response: we only know the status after headers; buffer errors in r.body.
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &local_sink);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, write_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
    const CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    if (to_caller && (r.status < 200 || r.status >= 300)) {
      // An error body went to the caller's sink: take it back for the message, and undo.
      if (local_sink.text && local_sink.text != &r.body) {
        r.body = local_sink.text->substr(static_cast<size_t>(start_written));
        local_sink.text->resize(static_cast<size_t>(start_written));
      }
      local_sink.written = start_written;
      if (local_sink.file) {
        std::fflush(local_sink.file);
        if (ftruncate(fileno(local_sink.file), start_written) == 0) fseeko(local_sink.file, start_written, SEEK_SET);
      }
    }
    if (rc != CURLE_OK) {
      if (rc == CURLE_WRITE_ERROR && local_sink.buffer && r.status >= 200 && r.status < 300) {
        // The buffer is full: a server that ignored the range. Keep what fits.
      } else {
        local_sink.written = start_written;
        return std::string(curl_easy_strerror(rc));
      }
    }
    if (r.status >= 200 && r.status < 300) {
      stats_.bytes_down += local_sink.written - start_written;
      if (method_ == "PUT" || method_ == "POST") stats_.bytes_up += read.position;
      sink.written = local_sink.written;
    }
    return "";
  }

  [[noreturn]] void throw_for(const Response& r) {
    const std::string code = xml_value(r.body, "Code");
    const std::string what = method_ + " " + loc_.url() + ": HTTP " + std::to_string(r.status) + (code.empty() ? "" : " " + code);
    if (r.status == 403 || r.status == 401) {
      std::string hint;
      if (code == "SignatureDoesNotMatch") hint = " (check AWS_SECRET_ACCESS_KEY)";
      else if (code == "InvalidAccessKeyId") hint = " (check AWS_ACCESS_KEY_ID)";
      fail(ErrorKind::kDenied, "storage denied " + what + hint);
    }
    if (r.status == 404) {
      fail(ErrorKind::kNotFound, (code == "NoSuchBucket" ? "no such bucket: " : "no such object: ") + loc_.url());
    }
    if (r.status == 416) fail(ErrorKind::kBadInput, "range outside the object: " + what);
    fail(ErrorKind::kIo, "storage refused " + what);
  }

  const S3Config& cfg_;
  StoreStats& stats_;
  ObjectStore::Impl& impl_;
  std::string method_;
  Location loc_;
  std::string query_;
};

int64_t file_size_of(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) fail(ErrorKind::kNotFound, "no such file: " + path);
  return st.st_size;
}

}  // namespace

ObjectInfo ObjectStore::head(const std::string& url) {
  const Location loc = Location::parse(url);
  ObjectInfo info;
  info.url = url;
  if (!loc.s3) {
    std::error_code ec;
    if (!fs::is_regular_file(loc.path, ec)) fail(ErrorKind::kNotFound, "no such file: " + loc.path);
    info.size = static_cast<int64_t>(fs::file_size(loc.path));
    return info;
  }
  S3Request req(config_, stats_, *impl_, "HEAD", loc);
  const Response r = req.run();
  info.size = r.headers.count("content-length") ? std::stoll(r.headers.at("content-length")) : 0;
  if (r.headers.count("etag")) info.etag = r.headers.at("etag");
  return info;
}

bool ObjectStore::exists(const std::string& url) {
  try {
    head(url);
    return true;
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kNotFound) return false;
    throw;
  }
}

std::string ObjectStore::get(const std::string& url) {
  const Location loc = Location::parse(url);
  if (!loc.s3) {
    std::ifstream f(loc.path, std::ios::binary);
    if (!f) fail(ErrorKind::kNotFound, "no such file: " + loc.path);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  }
  std::string out;
  S3Request req(config_, stats_, *impl_, "GET", loc);
  req.sink.text = &out;
  req.run();
  return out;
}

int64_t ObjectStore::get_range(const std::string& url, int64_t offset, int64_t length, uint8_t* out) {
  if (length <= 0) return 0;
  const Location loc = Location::parse(url);
  if (!loc.s3) {
    const int fd = ::open(loc.path.c_str(), O_RDONLY);
    if (fd < 0) fail(ErrorKind::kNotFound, "no such file: " + loc.path);
    int64_t done = 0;
    while (done < length) {
      const ssize_t n = ::pread(fd, out + done, length - done, offset + done);
      if (n <= 0) break;
      done += n;
    }
    ::close(fd);
    return done;
  }
  S3Request req(config_, stats_, *impl_, "GET", loc);
  req.headers.push_back("Range: bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1));
  req.sink.buffer = out;
  req.sink.capacity = length;
  try {
    req.run();
  } catch (const Error& e) {
    if (std::string(e.what()).find("HTTP 416") != std::string::npos) return 0;  // at or past the end
    throw;
  }
  return req.sink.written;
}

void ObjectStore::get_to_file(const std::string& url, const std::string& local_path) {
  const Location loc = Location::parse(url);
  AtomicOutputFile out(local_path);
  if (!loc.s3) {
    std::error_code ec;
    fs::copy_file(loc.path, out.temp_path(), fs::copy_options::overwrite_existing, ec);
    if (ec) fail(fs::exists(loc.path) ? ErrorKind::kIo : ErrorKind::kNotFound, "cannot copy " + loc.path + ": " + ec.message());
  } else {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(out.temp_path().c_str(), "wb"), &std::fclose);
    if (!f) fail(ErrorKind::kIo, "cannot write " + local_path);
    S3Request req(config_, stats_, *impl_, "GET", loc);
    req.sink.file = f.get();
    req.run();
    if (std::fflush(f.get()) != 0) fail(ErrorKind::kIo, "cannot write " + local_path);
  }
  out.commit();
}

void ObjectStore::put_bytes(const std::string& data, const std::string& url) {
  const Location loc = Location::parse(url);
  if (!loc.s3) {
    write_file_atomically(loc.path, data);
    return;
  }
  S3Request req(config_, stats_, *impl_, "PUT", loc);
  req.body.text = &data;
  req.run();
}

void ObjectStore::put_file(const std::string& local_path, const std::string& url) {
  const Location loc = Location::parse(url);
  const int64_t size = file_size_of(local_path);
  if (!loc.s3) {
    AtomicOutputFile out(loc.path);
    std::error_code ec;
    fs::copy_file(local_path, out.temp_path(), fs::copy_options::overwrite_existing, ec);
    if (ec) fail(ErrorKind::kIo, "cannot write " + loc.path + ": " + ec.message());
    out.commit();
    return;
  }
  if (size <= config_.multipart_threshold) {
    S3Request req(config_, stats_, *impl_, "PUT", loc);
    req.body.file = local_path;
    req.body.length = size;
    req.run();
    return;
  }
  // Multipart: the object appears only when the upload completes; abort on any failure.
  S3Request init(config_, stats_, *impl_, "POST", loc, "uploads=");
  std::string init_reply;
  init.sink.text = &init_reply;
  init.run();
  const std::string upload_id = xml_value(init_reply, "UploadId");
  if (upload_id.empty()) fail(ErrorKind::kIo, "storage gave no UploadId for " + url);
  const std::string id_query = "uploadId=" + uri_encode(upload_id, false);
  try {
    std::string complete = "<CompleteMultipartUpload>";
    int part = 1;
    for (int64_t offset = 0; offset < size; offset += config_.part_size, ++part) {
      S3Request put(config_, stats_, *impl_, "PUT", loc, "partNumber=" + std::to_string(part) + "&" + id_query);
      put.body.file = local_path;
      put.body.offset = offset;
      put.body.length = std::min(config_.part_size, size - offset);
      const Response r = put.run();
      const std::string etag = r.headers.count("etag") ? r.headers.at("etag") : "";
      complete += "<Part><PartNumber>" + std::to_string(part) + "</PartNumber><ETag>" + etag + "</ETag></Part>";
    }
    complete += "</CompleteMultipartUpload>";
    S3Request done(config_, stats_, *impl_, "POST", loc, id_query);
    done.body.text = &complete;
    std::string reply;
    done.sink.text = &reply;
    done.run();
    if (reply.find("<Error>") != std::string::npos) {
      fail(ErrorKind::kIo, "storage failed to complete the upload of " + url + ": " + xml_value(reply, "Code"));
    }
  } catch (...) {
    try {
      S3Request abort(config_, stats_, *impl_, "DELETE", loc, id_query);
      abort.run();
    } catch (...) {
    }
    throw;
  }
}

void ObjectStore::remove(const std::string& url) {
  const Location loc = Location::parse(url);
  if (!loc.s3) {
    std::error_code ec;
    fs::remove(loc.path, ec);
    return;
  }
  S3Request req(config_, stats_, *impl_, "DELETE", loc);
  try {
    req.run();
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kNotFound) throw;
  }
}

std::vector<ObjectInfo> ObjectStore::list(const std::string& prefix_url) {
  const Location loc = Location::parse(prefix_url);
  std::vector<ObjectInfo> out;
  if (!loc.s3) {
    const fs::path prefix(loc.path);
    const fs::path dir = prefix.has_parent_path() ? prefix.parent_path() : fs::path(".");
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return out;
    for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (!it->is_regular_file(ec)) continue;
      const std::string p = it->path().string();
      if (p.rfind(loc.path, 0) == 0) out.push_back({p, static_cast<int64_t>(it->file_size(ec)), ""});
    }
    std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.url < b.url; });
    return out;
  }
  Location bucket = loc;
  bucket.key.clear();
  std::string token;
  while (true) {
    std::string query;
    if (!token.empty()) query += "continuation-token=" + uri_encode(token, false) + "&";
    query += "list-type=2&prefix=" + uri_encode(loc.key, false);
    S3Request req(config_, stats_, *impl_, "GET", bucket, query);
    std::string xml;
    req.sink.text = &xml;
    req.run();
    const auto contents = xml_values(xml, "Contents");
    for (const std::string& c : contents) {
      ObjectInfo info;
      info.url = "s3://" + loc.bucket + "/" + xml_value(c, "Key");
      const std::string size = xml_value(c, "Size");
      info.size = size.empty() ? 0 : std::stoll(size);
      info.etag = xml_value(c, "ETag");
      out.push_back(info);
    }
    if (xml_value(xml, "IsTruncated") != "true") break;
    token = xml_value(xml, "NextContinuationToken");
    if (token.empty()) break;
  }
  return out;
}

void ObjectStore::create_bucket(const std::string& bucket) {
  Location loc;
  loc.s3 = true;
  loc.bucket = bucket;
  S3Request req(config_, stats_, *impl_, "PUT", loc);
  const std::string empty;
  req.body.text = &empty;
  try {
    req.run();
  } catch (const Error& e) {
    // Already ours: fine.
    if (std::string(e.what()).find("BucketAlreadyOwnedByYou") == std::string::npos) throw;
  }
}

void ObjectStore::remove_prefix(const std::string& prefix_url) {
  for (const ObjectInfo& o : list(prefix_url)) remove(o.url);
}

}  // namespace reelscale::store
