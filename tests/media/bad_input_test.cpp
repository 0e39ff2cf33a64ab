// tests/media/bad_input_test.cpp — every bad input gets an error naming the problem,
// leaves no output and no temporary files, and never touches the input.
#include <gtest/gtest.h>

#include <fstream>

#include "common/error.h"
#include "job/job_flow.h"
#include "process/processors.h"
#include "test_media.h"

namespace fs = std::filesystem;
namespace rt = reelscale::testing;
using namespace reelscale;

namespace {

// Runs a copy job expecting failure; returns the error message.
std::string failure_of(const fs::path& in, const fs::path& out, int chunks = 2) {
  store::ObjectStore store;
  exec::LocalExecutor executor({}, [](const process::JobSpec& s) { return process::make_basic_factory(s); }, store);
  job::JobOptions options;
  options.chunks = chunks;
  process::JobSpec spec;
  spec.endpoint = process::Endpoint::kCopy;
  spec.input = in.string();
  spec.output = out.string();
  spec.preset = "ultrafast";
  const record::JobRecord r = job::run_job(spec, executor, store, options);
  return r.ok() ? "no error" : r.error_message;
}

void expect_clean(const fs::path& dir, const fs::path& out) {
  EXPECT_FALSE(fs::exists(out)) << out;
  EXPECT_TRUE(rt::hidden_files(dir).empty());
}

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    rt::ClipSpec spec;
    spec.frames = 20;
    make_clip(dir_ / "good.mp4", spec);
    spec.extra_args = "-movflags +faststart";
    make_clip(dir_ / "faststart.mp4", spec);
  }
  rt::TempDir dir_;
};

void write_file(const fs::path& p, const std::string& content) {
  std::ofstream(p, std::ios::binary) << content;
}

void truncate_copy(const fs::path& from, const fs::path& to, double fraction) {
  std::ifstream in(from, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  write_file(to, data.substr(0, static_cast<size_t>(data.size() * fraction)));
}

}  // namespace

TEST_F(BadInput, MissingFile) {
  EXPECT_NE(failure_of(dir_ / "nope.mp4", dir_ / "out.mp4").find("input not found"), std::string::npos);
  expect_clean(dir_.path(), dir_ / "out.mp4");
}

TEST_F(BadInput, ZeroByteFile) {
  write_file(dir_ / "empty.mp4", "");
  EXPECT_NE(failure_of(dir_ / "empty.mp4", dir_ / "out.mp4").find("empty"), std::string::npos);
  expect_clean(dir_.path(), dir_ / "out.mp4");
}

TEST_F(BadInput, TextFileNamedMp4) {
  write_file(dir_ / "notes.mp4", "this is not a video, just some text\n");
  const std::string before = rt::sha256_file(dir_ / "notes.mp4");
  EXPECT_NE(failure_of(dir_ / "notes.mp4", dir_ / "out.mp4").find("not a readable video"), std::string::npos);
  expect_clean(dir_.path(), dir_ / "out.mp4");
  EXPECT_EQ(rt::sha256_file(dir_ / "notes.mp4"), before);
}

TEST_F(BadInput, TruncatedMp4) {
  // Index first, media cut short: the index promises frames the file does not hold.
  truncate_copy(dir_ / "faststart.mp4", dir_ / "cut.mp4", 0.6);
  EXPECT_NE(failure_of(dir_ / "cut.mp4", dir_ / "out.mp4").find("truncated"), std::string::npos);
  // Index last and cut off: nothing tells what the media is.
  truncate_copy(dir_ / "good.mp4", dir_ / "cut2.mp4", 0.6);
  EXPECT_NE(failure_of(dir_ / "cut2.mp4", dir_ / "out.mp4").find("not a readable video"), std::string::npos);
  expect_clean(dir_.path(), dir_ / "out.mp4");
}

TEST_F(BadInput, NoVideoStream) {
  rt::ClipSpec audio;
  audio.audio_only = true;
  audio.audio_seconds = 1;
  make_clip(dir_ / "sound.m4a", audio);
  EXPECT_NE(failure_of(dir_ / "sound.m4a", dir_ / "out.mp4").find("no video stream"), std::string::npos);
  expect_clean(dir_.path(), dir_ / "out.mp4");
}

TEST_F(BadInput, MoreChunksThanFrames) {
  EXPECT_NE(failure_of(dir_ / "good.mp4", dir_ / "out.mp4", 21).find("more chunks than frames"), std::string::npos);
  expect_clean(dir_.path(), dir_ / "out.mp4");
}

TEST_F(BadInput, OutputDirectoryMissing) {
  EXPECT_NE(failure_of(dir_ / "good.mp4", dir_ / "no" / "such" / "out.mp4").find("output directory does not exist"),
            std::string::npos);
  EXPECT_TRUE(rt::hidden_files(dir_.path()).empty());
}

TEST_F(BadInput, OutputIsTheInput) {
  const std::string before = rt::sha256_file(dir_ / "good.mp4");
  EXPECT_NE(failure_of(dir_ / "good.mp4", dir_ / "good.mp4").find("output path is the input"), std::string::npos);
  EXPECT_NE(failure_of(dir_ / "good.mp4", dir_ / "." / "good.mp4").find("output path is the input"), std::string::npos);
  EXPECT_EQ(rt::sha256_file(dir_ / "good.mp4"), before);
  EXPECT_TRUE(rt::hidden_files(dir_.path()).empty());
}

TEST_F(BadInput, UnknownOutputContainer) {
  EXPECT_NE(failure_of(dir_ / "good.mp4", dir_ / "out.notavideo").find("output container"), std::string::npos);
  expect_clean(dir_.path(), dir_ / "out.notavideo");
}
