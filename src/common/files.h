// common/files.h — local-file helpers with cleanup guaranteed by RAII: a scratch
// directory removed on destruction, a temporary file that is either committed to its
// final name by an atomic rename or removed, and checks on output paths.
#pragma once

#include <filesystem>
#include <string>

namespace reelscale {

// This running executable's path (/proc/self/exe); empty when it cannot be read.
std::filesystem::path this_executable();

// A fresh directory (mkdtemp) removed with everything in it when the object dies.
class ScopedTempDir {
 public:
  // Creates `<parent>/<prefix>XXXXXX`. Throws Error(kIo) when it cannot.
  ScopedTempDir(const std::filesystem::path& parent, const std::string& prefix);
  ~ScopedTempDir();
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The destination of an atomic write: callers write to temp_path(), then commit()
// renames it over the final path. If commit() is never called the temporary is removed.
class AtomicOutputFile {
 public:
  // The temporary lives beside `final_path` (same filesystem, so rename is atomic) and
  // keeps its extension so container formats can still be guessed from the name.
  explicit AtomicOutputFile(std::filesystem::path final_path);
  ~AtomicOutputFile();
  AtomicOutputFile(const AtomicOutputFile&) = delete;
  AtomicOutputFile& operator=(const AtomicOutputFile&) = delete;

  const std::filesystem::path& temp_path() const { return temp_path_; }
  const std::filesystem::path& final_path() const { return final_path_; }
  void commit();

 private:
  std::filesystem::path final_path_;
  std::filesystem::path temp_path_;
  bool committed_ = false;
};

// Writes `text` to `path` atomically (temporary beside it, then rename).
void write_file_atomically(const std::filesystem::path& path, const std::string& text);

// Checks that a local output path can be written without touching the input:
// its directory exists and is a directory, and it is not the same file as `input`.
// Throws Error(kBadInput) naming the problem.
void check_output_path(const std::filesystem::path& output, const std::filesystem::path& input);
// Creates a command's --out folder (and its parents) when missing; Error(kBadInput) naming
// the folder when it cannot be made or is a file.
void make_output_folder(const std::filesystem::path& dir);

// Seconds since this process started (from /proc: includes loading shared libraries
// before main), or 0 if unknown.
double seconds_since_process_start();

// Checks that a local input file exists, is a regular file and is not empty.
void check_input_file(const std::filesystem::path& input);

}  // namespace reelscale
