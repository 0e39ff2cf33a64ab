// fuzz/fuzz_input.h — what the fuzz targets share: the bytes as a string, a scratch
// file to hand path-based readers, and the rule that only reelscale::Error may escape
// a reader (anything else — another exception, a crash, a sanitizer report — is a bug).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.h"

namespace reelscale::fuzz {

inline std::string as_text(const uint8_t* data, size_t size) { return std::string(reinterpret_cast<const char*>(data), size); }

// A file of this process's own under the temp folder, rewritten for each input.
inline std::filesystem::path scratch_file(const std::string& name) {
  static const std::filesystem::path dir = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "reelscale-fuzz-XXXXXX").string();
    if (!mkdtemp(pattern.data())) std::abort();
    return std::filesystem::path(pattern);
  }();
  return dir / name;
}

inline std::filesystem::path write_scratch(const std::string& name, const std::string& bytes) {
  const std::filesystem::path p = scratch_file(name);
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
  return p;
}

// Runs `f`; a reelscale::Error is the expected way to refuse bad bytes.
template <class F>
void refuse_cleanly(F&& f) {
  try {
    f();
  } catch (const Error&) {
  }
}

}  // namespace reelscale::fuzz
