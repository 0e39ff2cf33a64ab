// fuzz/probe_fuzz.cpp — probing a container and reading its first frames, over arbitrary
// bytes served from memory as a ByteSource (as storage serves them).
#include <algorithm>
#include <cstring>
#include <memory>

#include "fuzz_input.h"
#include "media/frame_reader.h"
#include "media/probe.h"

namespace {

class MemoryBytes final : public reelscale::media::ByteSource {
 public:
  MemoryBytes(const uint8_t* data, size_t size) : data_(data, data + size) {}
  int64_t size() override { return static_cast<int64_t>(data_.size()); }
  int64_t read(int64_t offset, uint8_t* buffer, int64_t len) override {
    if (offset < 0 || offset >= size()) return 0;
    const int64_t n = std::min(len, size() - offset);
    std::memcpy(buffer, data_.data() + offset, static_cast<size_t>(n));
    return n;
  }
  std::string name() const override { return "fuzz input"; }

 private:
  std::vector<uint8_t> data_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  reelscale::media::MediaSource source;
  source.bytes = std::make_shared<MemoryBytes>(data, size);
  reelscale::fuzz::refuse_cleanly([&] {
    const reelscale::media::VideoProbe probe = reelscale::media::probe_video(source);
    reelscale::media::FrameReader reader(source, probe);
    for (int64_t k = 0; k < std::min<int64_t>(3, probe.frame_count()); ++k) (void)reader.frame(k);
  });
  return 0;
}
