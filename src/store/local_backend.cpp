// store/local_backend.cpp — objects as local files: atomic writes by rename beside the
// destination, ranged reads by pread, listing by walking the prefix's folder.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>

#include "store/backend.h"

namespace fs = std::filesystem;

namespace reelscale::store {

namespace {

double modified_unix_seconds(const fs::path& p) {
  struct stat st;
  if (::stat(p.c_str(), &st) != 0) return 0;
  return static_cast<double>(st.st_mtim.tv_sec) + st.st_mtim.tv_nsec * 1e-9;
}

class LocalBackend final : public Backend {
 public:
  ObjectInfo head(const Location& loc) override {
    std::error_code ec;
    if (!fs::is_regular_file(loc.path, ec)) fail(ErrorKind::kNotFound, "no such file: " + loc.path);
    return {loc.path, static_cast<int64_t>(fs::file_size(loc.path)), "", modified_unix_seconds(loc.path)};
  }

  std::string get(const Location& loc) override {
    std::ifstream f(loc.path, std::ios::binary);
    if (!f) fail(ErrorKind::kNotFound, "no such file: " + loc.path);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  }

  int64_t get_range(const Location& loc, int64_t offset, int64_t length, uint8_t* out) override {
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

  void get_to_file(const Location& loc, const fs::path& local_path) override { copy_atomically(loc.path, local_path); }
  void put_file(const fs::path& local_path, const Location& loc) override {
    if (!fs::exists(local_path)) fail(ErrorKind::kNotFound, "no such file: " + local_path.string());
    copy_atomically(local_path, loc.path);
  }
  void put_bytes(const std::string& data, const Location& loc) override { write_file_atomically(loc.path, data); }

  void remove(const Location& loc) override {
    std::error_code ec;
    fs::remove(loc.path, ec);
  }

  std::vector<ObjectInfo> list(const Location& loc) override {
    std::vector<ObjectInfo> out;
    const fs::path prefix(loc.path);
    const fs::path dir = prefix.has_parent_path() ? prefix.parent_path() : fs::path(".");
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return out;
    // Only the folder's entries that match the prefix are read (and folders among them
    // walked), not the whole folder tree: jobs list their own folder before every run.
    const std::string wanted = dir == "." && loc.path.rfind("./", 0) != 0 ? "./" + loc.path : loc.path;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
      const std::string p = entry.path().string();
      if (p.rfind(wanted, 0) != 0) continue;
      if (entry.is_regular_file(ec)) {
        out.push_back({p, static_cast<int64_t>(entry.file_size(ec)), "", modified_unix_seconds(entry.path())});
        continue;
      }
      if (!entry.is_directory(ec)) continue;
      for (auto it = fs::recursive_directory_iterator(entry.path(), ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (it->is_regular_file(ec)) {
          out.push_back({it->path().string(), static_cast<int64_t>(it->file_size(ec)), "", modified_unix_seconds(it->path())});
        }
      }
    }
    std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.url < b.url; });
    return out;
  }

  void remove_prefix(const Location& loc) override {
    for (const ObjectInfo& o : list(loc)) remove(Location::parse(o.url));
    // A prefix that names a folder ("dir/.reelscale-tmp-x/") goes with its contents.
    if (!loc.path.empty() && loc.path.back() == '/') {
      std::error_code ec;
      fs::remove_all(loc.path, ec);
    }
  }

  void create_bucket(const std::string&) override {
    fail(ErrorKind::kBadInput, "buckets exist only in S3 storage");
  }

  std::optional<fs::path> local_path(const Location& loc) const override { return fs::path(loc.path); }

  void check_writable(const Location& loc) override { check_output_path(loc.path, ""); }

 private:
  static void copy_atomically(const fs::path& from, const fs::path& to) {
    AtomicOutputFile out(to);
    std::error_code ec;
    fs::copy_file(from, out.temp_path(), fs::copy_options::overwrite_existing, ec);
    if (ec) fail(fs::exists(from) ? ErrorKind::kIo : ErrorKind::kNotFound, "cannot copy " + from.string() + ": " + ec.message());
    out.commit();
  }
};

}  // namespace

std::unique_ptr<Backend> make_local_backend() { return std::make_unique<LocalBackend>(); }

}  // namespace reelscale::store
