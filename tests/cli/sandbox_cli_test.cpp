// tests/cli/sandbox_cli_test.cpp — `reelscale probe`, `process` and `run` (local slots)
// on inputs that point outside: exit 2 naming the format, no output, nothing outside
// opened, no connection to the loopback server; the bounds' flags refuse by name; a
// damaged clip finishes with its warnings.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "sandbox_traps.h"
#include "test_media.h"

namespace fs = std::filesystem;
namespace rt = reelscale::testing;

namespace {

rt::CommandResult run_cli(const std::string& args) { return rt::run_command(std::string(REELSCALE_BINARY) + " " + args); }

class SandboxCli : public ::testing::Test {
 protected:

  fs::path job_file(const fs::path& input, const std::string& name) const {
    const fs::path p = dir_ / (name + ".json");
    std::ofstream(p) << nlohmann::json{{"endpoint", "framing"}, {"input", input.string()},
                                       {"output", (dir_ / "out.mp4").string()}, {"output_width", 96},
                                       {"output_height", 96}, {"preset", "ultrafast"}}.dump();
    return p;
  }

  rt::TrapRoom room_;
  const fs::path& dir_ = room_.root();
  const fs::path& uploads_ = room_.uploads;
  const std::vector<rt::Trap>& traps_ = room_.traps;
};

}  // namespace

TEST_F(SandboxCli, ProbeProcessAndRunRefuseEveryTrap) {
  for (size_t i = 0; i < traps_.size(); ++i) {
    const rt::Trap& trap = traps_[i];
    const std::string in = rt::shell_quote(trap.path.string());
    const rt::CommandResult commands[] = {
        run_cli("probe " + in),
        run_cli("process copy " + in + " -o " + (dir_ / "out.mp4").string()),
        run_cli("run " + job_file(trap.path, "job" + std::to_string(i)).string() + " --slots 2"),
    };
    for (const rt::CommandResult& r : commands) {
      EXPECT_EQ(r.status, 2) << trap.name << ": " << r.output;
      EXPECT_NE(r.output.find(trap.refusal), std::string::npos) << trap.name << ": " << r.output;
    }
    EXPECT_FALSE(fs::exists(dir_ / "out.mp4")) << trap.name;
    EXPECT_EQ(room_.watch().take_events(), 0) << trap.name << " opened a file outside";
  }
  EXPECT_EQ(room_.http.connections(), 0);
  EXPECT_TRUE(rt::hidden_files(dir_).empty());
}

TEST_F(SandboxCli, BoundsFlagsRefuseByNameAndDamageIsWarned) {
  rt::ClipSpec spec;
  spec.width = 320;
  spec.height = 240;
  spec.frames = 180;
  spec.audio_seconds = 6;
  rt::make_clip(dir_ / "phone.mp4", spec);
  const std::string out = (dir_ / "out.mp4").string();
  const auto pixels = run_cli("process copy " + (dir_ / "phone.mp4").string() + " -o " + out + " --max-frame-pixels 76799");
  EXPECT_EQ(pixels.status, 2) << pixels.output;
  EXPECT_NE(pixels.output.find("--max-frame-pixels"), std::string::npos) << pixels.output;
  const auto memory = run_cli("run " + job_file(dir_ / "phone.mp4", "phone").string() + " --max-decode-memory 1MiB");
  EXPECT_EQ(memory.status, 2) << memory.output;
  EXPECT_NE(memory.output.find("--max-decode-memory"), std::string::npos) << memory.output;
  EXPECT_FALSE(fs::exists(out));

  rt::damage_copy(dir_ / "phone.mp4", uploads_ / "damaged.mp4", 12, 32);
  const auto damaged = rt::run_command(std::string(REELSCALE_BINARY) + " process copy " + (uploads_ / "damaged.mp4").string() +
                                           " -o " + out + " --audio reencode --chunks 3 --json", false);
  ASSERT_EQ(damaged.status, 0) << damaged.output;
  const nlohmann::json record = nlohmann::json::parse(damaged.output);
  ASSERT_TRUE(record["damage"].is_array());
  EXPECT_FALSE(record["damage"].empty());
  EXPECT_FALSE(record["warnings"].empty());
  EXPECT_EQ(rt::ffprobe_packet_count(out), 180);
}
