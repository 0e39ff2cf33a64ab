// common/files.cpp — scratch directories, atomic outputs and path checks.
#include "common/files.h"

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <random>
#include <system_error>

#include "common/error.h"

namespace fs = std::filesystem;

namespace reelscale {

std::filesystem::path this_executable() {
  std::error_code ec;
  std::filesystem::path path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : path;
}

ScopedTempDir::ScopedTempDir(const fs::path& parent, const std::string& prefix) {
  std::string pattern = (parent / (prefix + "XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    fail(ErrorKind::kIo, "cannot create a scratch directory in " + parent.string());
  }
  path_ = pattern;
}

ScopedTempDir::~ScopedTempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

namespace {
std::string unique_suffix() {
  static std::atomic<unsigned> counter{0};
  std::random_device rd;
  return std::to_string(getpid()) + "-" + std::to_string(rd() % 100000) + "-" +
         std::to_string(counter.fetch_add(1));
}
}  // namespace

AtomicOutputFile::AtomicOutputFile(fs::path final_path) : final_path_(std::move(final_path)) {
  const fs::path dir = final_path_.has_parent_path() ? final_path_.parent_path() : fs::path(".");
  temp_path_ = dir / ("." + final_path_.stem().string() + ".part-" + unique_suffix() +
                      final_path_.extension().string());
}

AtomicOutputFile::~AtomicOutputFile() {
  if (!committed_) {
    std::error_code ignored;
    fs::remove(temp_path_, ignored);
  }
}

void AtomicOutputFile::commit() {
  std::error_code ec;
  fs::rename(temp_path_, final_path_, ec);
  if (ec) fail(ErrorKind::kIo, "cannot move the output into place at " + final_path_.string() +
                                   ": " + ec.message());
  committed_ = true;
}

double seconds_since_process_start() {
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto paren = text.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream fields(text.substr(paren + 2));
  std::string field;
  // Fields after the command name start at 3 (state); starttime is field 22.
  for (int i = 3; i <= 22 && fields >> field; ++i) {
  }
  double uptime = 0;
  std::ifstream("/proc/uptime") >> uptime;
  const double start = std::stod(field) / static_cast<double>(sysconf(_SC_CLK_TCK));
  return std::max(0.0, uptime - start);
}

void write_file_atomically(const fs::path& path, const std::string& text) {
  AtomicOutputFile out(path);
  {
    std::ofstream f(out.temp_path(), std::ios::binary);
    f << text;
    if (!f) fail(ErrorKind::kIo, "cannot write " + path.string());
  }
  out.commit();
}

void check_input_file(const fs::path& input) {
  std::error_code ec;
  const auto status = fs::status(input, ec);
  if (ec || !fs::exists(status)) fail(ErrorKind::kNotFound, "input not found: " + input.string());
  if (!fs::is_regular_file(status)) fail(ErrorKind::kBadInput, "input is not a file: " + input.string());
  if (fs::file_size(input, ec) == 0 || ec) fail(ErrorKind::kBadInput, "input is empty (0 bytes): " + input.string());
}

void make_output_folder(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return;
  if (fs::exists(dir, ec)) fail(ErrorKind::kBadInput, "the output folder " + dir.string() + " is a file");
  if (!fs::create_directories(dir, ec) && ec) {
    fail(ErrorKind::kBadInput, "cannot create the output folder " + dir.string() + ": " + ec.message());
  }
}

void check_output_path(const fs::path& output, const fs::path& input) {
  if (output.empty()) fail(ErrorKind::kBadInput, "no output path given");
  const fs::path dir = output.has_parent_path() ? output.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::exists(dir, ec)) fail(ErrorKind::kBadInput, "output directory does not exist: " + dir.string());
  if (!fs::is_directory(dir, ec)) fail(ErrorKind::kBadInput, "output directory is not a directory: " + dir.string());
  if (fs::is_directory(output, ec)) fail(ErrorKind::kBadInput, "output path is a directory: " + output.string());
  if (!input.empty() && fs::exists(output, ec) && fs::equivalent(output, input, ec)) {
    fail(ErrorKind::kBadInput, "output path is the input file: " + output.string());
  }
  if (!input.empty() && fs::weakly_canonical(output, ec) == fs::weakly_canonical(input, ec)) {
    fail(ErrorKind::kBadInput, "output path is the input file: " + output.string());
  }
}

}  // namespace reelscale
