// store/store.cpp — locations, the URL router over the backends, atomic writers and
// local copies.
#include "store/store.h"

#include <cstdlib>

#include "common/stopwatch.h"
#include "store/backend.h"

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

std::string Location::folder() const {
  if (s3) {
    const auto slash = key.rfind('/');
    return "s3://" + bucket + "/" + (slash == std::string::npos ? "" : key.substr(0, slash + 1));
  }
  const fs::path p(path);
  return (p.has_parent_path() ? p.parent_path() : fs::path(".")).string() + "/";
}

std::string Location::sibling(const std::string& name) const { return folder() + name; }

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

ObjectWriter::ObjectWriter(Backend& backend, Location destination, const fs::path& scratch)
    : backend_(backend),
      destination_(std::move(destination)),
      scratch_(backend.local_path(destination_) ? nullptr : std::make_unique<ScopedTempDir>(scratch, ".reelscale-up-")),
      file_(scratch_ ? scratch_->path() / fs::path(destination_.key).filename()
                     : *backend.local_path(destination_)) {}

ObjectWriter::~ObjectWriter() = default;

double ObjectWriter::commit() {
  if (!scratch_) {
    file_.commit();
    return 0;
  }
  const Stopwatch upload;
  backend_.put_file(file_.temp_path(), destination_);
  return upload.seconds();
}

ObjectStore::ObjectStore(S3Config config)
    : config_(std::move(config)), local_(make_local_backend()), s3_(make_s3_backend(config_, stats_)) {}
ObjectStore::~ObjectStore() = default;

Backend& ObjectStore::backend_for(const Location& location) { return location.s3 ? *s3_ : *local_; }

void ObjectStore::set_fault_injector(std::function<int(const std::string&, const std::string&)> f) {
  set_s3_fault_injector(*s3_, std::move(f));
}

ObjectInfo ObjectStore::head(const std::string& url) {
  const Location loc = Location::parse(url);
  ObjectInfo info = backend_for(loc).head(loc);
  info.url = url;
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
  return backend_for(loc).get(loc);
}

int64_t ObjectStore::get_range(const std::string& url, int64_t offset, int64_t length, uint8_t* out) {
  if (length <= 0) return 0;
  const Location loc = Location::parse(url);
  return backend_for(loc).get_range(loc, offset, length, out);
}

void ObjectStore::get_to_file(const std::string& url, const std::string& local_path) {
  const Location loc = Location::parse(url);
  backend_for(loc).get_to_file(loc, local_path);
}

void ObjectStore::put_file(const std::string& local_path, const std::string& url) {
  const Location loc = Location::parse(url);
  backend_for(loc).put_file(local_path, loc);
}

void ObjectStore::put_bytes(const std::string& data, const std::string& url) {
  const Location loc = Location::parse(url);
  backend_for(loc).put_bytes(data, loc);
}

void ObjectStore::remove(const std::string& url) {
  const Location loc = Location::parse(url);
  backend_for(loc).remove(loc);
}

std::vector<ObjectInfo> ObjectStore::list(const std::string& prefix_url) {
  const Location loc = Location::parse(prefix_url);
  return backend_for(loc).list(loc);
}

void ObjectStore::remove_prefix(const std::string& prefix_url) {
  const Location loc = Location::parse(prefix_url);
  backend_for(loc).remove_prefix(loc);
}

std::vector<UploadInfo> ObjectStore::unfinished_uploads(const std::string& prefix_url) {
  const Location loc = Location::parse(prefix_url);
  return backend_for(loc).unfinished_uploads(loc);
}

void ObjectStore::abort_upload(const UploadInfo& upload) {
  backend_for(Location::parse(upload.url)).abort_upload(upload);
}

void ObjectStore::create_bucket(const std::string& bucket) { s3_->create_bucket(bucket); }

std::optional<fs::path> ObjectStore::local_path(const std::string& url) {
  const Location loc = Location::parse(url);
  return backend_for(loc).local_path(loc);
}

std::unique_ptr<ObjectWriter> ObjectStore::writer(const std::string& url, const fs::path& scratch) {
  const Location loc = Location::parse(url);
  return std::make_unique<ObjectWriter>(backend_for(loc), loc, scratch);
}

LocalCopy ObjectStore::fetch(const std::string& url, const fs::path& scratch) {
  const Location loc = Location::parse(url);
  Backend& backend = backend_for(loc);
  if (auto path = backend.local_path(loc)) return LocalCopy(*path, nullptr);
  auto dir = std::make_unique<ScopedTempDir>(scratch, ".reelscale-get-");
  const fs::path target = dir->path() / fs::path(loc.key).filename();
  backend.get_to_file(loc, target);
  return LocalCopy(target, std::move(dir));
}

void ObjectStore::check_destination(const std::string& output_url, const std::string& input_url) {
  if (output_url == input_url) fail(ErrorKind::kBadInput, "output path is the input file: " + output_url);
  const Location out = Location::parse(output_url);
  const Location in = Location::parse(input_url);
  Backend& backend = backend_for(out);
  backend.check_writable(out);
  const auto out_path = backend.local_path(out);
  const auto in_path = backend_for(in).local_path(in);
  if (out_path && in_path) check_output_path(*out_path, *in_path);
}

}  // namespace reelscale::store
