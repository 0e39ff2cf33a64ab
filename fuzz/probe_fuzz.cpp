// fuzz/probe_fuzz.cpp — the one open function (media/input) over arbitrary bytes, served
// from memory as a ByteSource (as storage serves them) and from a local file: probing,
// then reading the first frames. Whatever opens must be an accepted container (the seeds
// include HLS, DASH and concat traps, which must be refused).
#include <algorithm>
#include <cstring>
#include <memory>

#include "fuzz_input.h"
#include "media/containers.h"
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

// Probes and reads a few frames; aborts if a refused container got through.
void open_and_read(const reelscale::media::MediaSource& source) {
  reelscale::fuzz::refuse_cleanly([&] {
    const reelscale::media::VideoProbe probe = reelscale::media::probe_video(source);
    reelscale::media::InputMedia input(source);
    if (!reelscale::media::is_accepted_container(input.format()->iformat)) std::abort();
    reelscale::media::FrameReader reader(source, probe);
    for (int64_t k = 0; k < std::min<int64_t>(3, probe.frame_count()); ++k) (void)reader.frame(k);
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  reelscale::media::MediaLimits limits;
  limits.max_frame_pixels = 4096 * 4096;  // bounded work per input; the bound's path is the same
  reelscale::media::MediaSource from_memory;
  from_memory.bytes = std::make_shared<MemoryBytes>(data, size);
  from_memory.limits = limits;
  open_and_read(from_memory);
  const auto path = reelscale::fuzz::write_scratch("input.mp4", reelscale::fuzz::as_text(data, size));
  open_and_read(reelscale::media::MediaSource::local(path.string(), limits));
  return 0;
}
