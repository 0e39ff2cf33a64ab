// tests/cli/cli_test.cpp — the `reelscale` binary as users run it: exit codes, error
// messages on stderr, JSON output, and a real chunked run.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_media.h"

namespace fs = std::filesystem;
namespace rt = reelscale::testing;

namespace {
rt::CommandResult run_reelscale(const std::string& args) {
  return rt::run_command(std::string(REELSCALE_BINARY) + " " + args);
}
const std::string kTears = std::string(REELSCALE_SAMPLES_DIR) + "/tears_of_steel_10s_640x360.mp4";
}  // namespace

TEST(Cli, ProbeJsonReportsExactFrameCount) {
  const auto r = rt::run_command(std::string(REELSCALE_BINARY) + " probe --json " + kTears, false);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["frames"], 240);
  EXPECT_EQ(j["width"], 640);
  EXPECT_EQ(j["codec"], "h264");
}

TEST(Cli, ProcessCopyInChunks) {
  rt::TempDir dir;
  const auto r = run_reelscale("process copy " + kTears + " -o " + (dir / "out.mp4").string() + " --chunks 5 --preset ultrafast");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("240 frames"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ms per frame"), std::string::npos);
  EXPECT_EQ(rt::ffprobe_packet_count(dir / "out.mp4"), 240);
  EXPECT_TRUE(rt::hidden_files(dir.path()).empty());
}

TEST(Cli, BadInputsExitNonZeroWithAMessage) {
  rt::TempDir dir;
  struct Case {
    std::string args;
    std::string message;
    int status;
  };
  const std::string out = (dir / "out.mp4").string();
  const std::vector<Case> cases = {
      {"process copy " + (dir / "missing.mp4").string() + " -o " + out, "input not found", 2},
      {"process copy " + kTears + " -o " + (dir / "nodir" / "o.mp4").string(), "output directory does not exist", 2},
      {"process copy " + kTears + " -o " + out + " --chunks 241", "more chunks than frames", 2},
      {"process copy " + kTears + " -o " + kTears, "output path is the input", 2},
      {"process sharpen " + kTears + " -o " + out, "unknown endpoint 'sharpen'", 2},
      {"process copy " + kTears + " -o " + out + " --crf 99", "crf 99", 2},
      {"process copy " + kTears + " -o " + out + " --fps abc", "not a positive rate", 2},
      {"probe " + (dir / "missing.mp4").string(), "input not found", 2},
  };
  const std::string before = rt::sha256_file(kTears);
  for (const Case& c : cases) {
    const auto r = run_reelscale(c.args);
    EXPECT_EQ(r.status, c.status) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_FALSE(fs::exists(out)) << c.args;
    EXPECT_TRUE(rt::hidden_files(dir.path()).empty()) << c.args;
  }
  EXPECT_EQ(rt::sha256_file(kTears), before);
}
