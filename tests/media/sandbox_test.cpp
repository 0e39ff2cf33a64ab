// tests/media/sandbox_test.cpp — the one open function is closed: playlists, manifests,
// lists and image sequences that point outside are refused by the format they are,
// from a local path and through custom I/O alike, and nothing outside is opened or
// connected to; the phone and camera containers still run; frames over the bounds are
// refused by the limit's name; damaged media is concealed with warnings, or fails past
// the bound naming the stream and the time.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "common/error.h"
#include "job/job_flow.h"
#include "media/probe.h"
#include "process/processors.h"
#include "sandbox_traps.h"
#include "test_media.h"

namespace fs = std::filesystem;
namespace rt = reelscale::testing;
using namespace reelscale;

namespace {

// Custom I/O over bytes in memory, as an S3 object is read by ranges.
class MemorySource final : public media::ByteSource {
 public:
  explicit MemorySource(const fs::path& file) : name_("memory:" + file.filename().string()) {
    std::ifstream in(file, std::ios::binary);
    data_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  int64_t size() override { return static_cast<int64_t>(data_.size()); }
  int64_t read(int64_t offset, uint8_t* buffer, int64_t len) override {
    if (offset >= size()) return 0;
    const int64_t n = std::min(len, size() - offset);
    std::copy_n(data_.data() + offset, n, buffer);
    return n;
  }
  std::string name() const override { return name_; }

 private:
  std::string name_;
  std::string data_;
};

record::JobRecord copy_job(const fs::path& in, const fs::path& out, const media::MediaLimits& limits = {},
                           const std::string& audio = "auto") {
  store::ObjectStore store;
  exec::LocalExecutorOptions local;
  local.media_limits = limits;
  exec::LocalExecutor executor(local, [](const process::JobSpec& s) { return process::make_basic_factory(s); }, store);
  job::JobOptions options;
  options.chunks = 2;
  options.media_limits = limits;
  process::JobSpec spec;
  spec.endpoint = process::Endpoint::kCopy;
  spec.input = in.string();
  spec.output = out.string();
  spec.preset = "ultrafast";
  spec.audio = media::parse_audio_mode(audio);
  return job::run_job(spec, executor, store, options);
}

Error probe_error(const media::MediaSource& source) {
  try {
    media::probe_video(source);
  } catch (const Error& e) {
    return e;
  }
  return Error(ErrorKind::kInternal, "no error");
}

class Sandbox : public ::testing::Test {
 protected:

  rt::TrapRoom room_;
  const fs::path& dir_ = room_.root();
  const fs::path& uploads_ = room_.uploads;
  const std::vector<rt::Trap>& traps_ = room_.traps;
};

}  // namespace

TEST_F(Sandbox, EveryTrapIsRefusedByItsFormatAndNothingOutsideIsRead) {
  for (const rt::Trap& trap : traps_) {
    const Error local = probe_error(media::MediaSource::local(trap.path.string()));
    EXPECT_TRUE(local.kind() == ErrorKind::kBadInput || local.kind() == ErrorKind::kNotFound) << trap.name;
    EXPECT_NE(std::string(local.what()).find(trap.refusal), std::string::npos) << trap.name << ": " << local.what();
    if (fs::exists(trap.path)) {
      media::MediaSource custom;
      custom.bytes = std::make_shared<MemorySource>(trap.path);
      const Error through_io = probe_error(custom);
      EXPECT_EQ(through_io.kind(), ErrorKind::kBadInput) << trap.name;
      EXPECT_NE(std::string(through_io.what()).find(trap.refusal), std::string::npos) << trap.name << ": " << through_io.what();
    }
    EXPECT_EQ(room_.watch().take_events(), 0) << trap.name << " opened a file outside";
  }
  EXPECT_EQ(room_.http.connections(), 0) << "a trap connected to the loopback server";
}

TEST_F(Sandbox, AJobOnATrapFailsBeforeWorkAndWritesNothing) {
  for (const rt::Trap& trap : traps_) {
    const record::JobRecord r = copy_job(trap.path, dir_ / "out.mp4");
    EXPECT_EQ(r.outcome, "failed") << trap.name;
    EXPECT_NE(r.error_message.find(trap.refusal), std::string::npos) << trap.name << ": " << r.error_message;
    EXPECT_TRUE(r.chunk_results.empty()) << trap.name;
    EXPECT_FALSE(fs::exists(dir_ / "out.mp4")) << trap.name;
    EXPECT_EQ(room_.watch().take_events(), 0) << trap.name << " opened a file outside";
  }
  EXPECT_TRUE(rt::hidden_files(dir_).empty());
  EXPECT_EQ(room_.http.connections(), 0);
}

TEST_F(Sandbox, PhoneAndCameraContainersStillRun) {
  rt::ClipSpec spec;
  spec.frames = 24;
  spec.audio_seconds = 0.8;
  for (const char* name : {"clip.mp4", "clip.mov", "clip.mkv", "clip.ts", "clip.webm"}) {
    const fs::path in = uploads_ / name;
    rt::ClipSpec s = spec;
    if (std::string(name) == "clip.webm") s.extra_args = "-c:v libvpx-vp9 -c:a libopus -deadline realtime";
    rt::make_clip(in, s);
    const record::JobRecord r = copy_job(in, dir_ / (std::string(name) + ".out.mp4"));
    EXPECT_TRUE(r.ok()) << name << ": " << r.error_message;
    EXPECT_EQ(r.frames, 24) << name;
    EXPECT_TRUE(r.damage.empty()) << name;
  }
}

TEST_F(Sandbox, FramesOverTheBoundsAreRefusedByTheLimitsName) {
  rt::ClipSpec spec;
  spec.width = 320;
  spec.height = 240;
  spec.frames = 10;
  rt::make_clip(uploads_ / "clip.mp4", spec);
  media::MediaLimits pixels;
  pixels.max_frame_pixels = 320 * 240 - 1;
  const Error e = probe_error(media::MediaSource::local((uploads_ / "clip.mp4").string(), pixels));
  EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
  EXPECT_NE(std::string(e.what()).find("320x240"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("--max-frame-pixels"), std::string::npos) << e.what();

  media::MediaLimits memory;
  memory.max_decode_bytes = media::decoder_memory_bytes(320, 240, -1) - 1;
  const record::JobRecord r = copy_job(uploads_ / "clip.mp4", dir_ / "out.mp4", memory);
  EXPECT_EQ(r.error_kind, "bad_input");
  EXPECT_NE(r.error_message.find("--max-decode-memory"), std::string::npos) << r.error_message;
  EXPECT_FALSE(fs::exists(dir_ / "out.mp4"));

  // Just inside both bounds, it runs.
  media::MediaLimits exact;
  exact.max_frame_pixels = 320 * 240;
  exact.max_decode_bytes = media::decoder_memory_bytes(320, 240, 0 /* yuv420p */);
  EXPECT_TRUE(copy_job(uploads_ / "clip.mp4", dir_ / "out.mp4", exact).ok());
}

TEST_F(Sandbox, ADamagedPhoneClipFinishesWithItsDamageInTheRecord) {
  rt::ClipSpec spec;
  spec.width = 320;
  spec.height = 240;
  spec.frames = 180;
  spec.audio_seconds = 6;
  rt::make_clip(dir_ / "phone.mp4", spec);
  rt::damage_copy(dir_ / "phone.mp4", uploads_ / "damaged.mp4", 12, 32);
  const std::string before = rt::sha256_file(uploads_ / "damaged.mp4");
  const record::JobRecord r = copy_job(uploads_ / "damaged.mp4", dir_ / "out.mp4", {}, "reencode");
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(rt::ffprobe_packet_count(dir_ / "out.mp4"), 180);
  EXPECT_EQ(rt::sha256_file(uploads_ / "damaged.mp4"), before);
  ASSERT_FALSE(r.damage.empty());
  int64_t concealed = 0;
  for (const record::MediaDamage& d : r.damage) {
    concealed += d.count;
    EXPECT_FALSE(d.times_s.empty()) << d.stream;
    for (double t : d.times_s) EXPECT_TRUE(t >= 0 && t <= 6.1) << d.stream << " at " << t;
    bool warned = false;
    for (const std::string& w : r.warnings) warned |= w.find("input's " + d.stream + " is damaged") != std::string::npos;
    EXPECT_TRUE(warned) << d.stream;
  }
  EXPECT_GT(concealed, 0);

  // The same clip with no damage allowed fails, naming the stream and the time.
  media::MediaLimits strict;
  strict.max_damaged_share = 0;
  strict.min_damage_allowed = 0;
  const record::JobRecord failed = copy_job(uploads_ / "damaged.mp4", dir_ / "strict.mp4", strict, "reencode");
  EXPECT_EQ(failed.error_kind, "bad_input");
  EXPECT_NE(failed.error_message.find("stream of"), std::string::npos) << failed.error_message;
  EXPECT_NE(failed.error_message.find("is damaged from"), std::string::npos) << failed.error_message;
  EXPECT_EQ(failed.error_message.find("Operation not permitted"), std::string::npos) << failed.error_message;
  EXPECT_FALSE(fs::exists(dir_ / "strict.mp4"));
  EXPECT_TRUE(rt::hidden_files(dir_).empty());
}
