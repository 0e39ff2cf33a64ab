// tests/cli/local_slots_test.cpp — local slots planned for time: with a profile measured
// here, `reelscale run` on local slots picks a chunk count whose measured wall time is
// within 15 % of the best of N = 1..slots, for framing, overlay and framing_ai; and the
// local plan has no idle tail and no cold start beyond opening the model.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>

#include "test_media.h"

namespace fs = std::filesystem;
namespace rt = reelscale::testing;
using nlohmann::json;

namespace {

const std::string kTears = std::string(REELSCALE_SAMPLES_DIR) + "/tears_of_steel_10s_640x360.mp4";

json run_json(const std::string& args) {
  const auto r = rt::run_command(std::string(REELSCALE_BINARY) + " " + args, false);
  EXPECT_EQ(r.status, 0) << args << "\n" << r.output;
  return r.status == 0 ? json::parse(r.output) : json();
}

json job_for(const std::string& endpoint, const fs::path& out) {
  json j = {{"endpoint", endpoint}, {"input", kTears}, {"output", out.string()}, {"preset", "veryfast"}};
  if (endpoint == "framing" || endpoint == "framing_ai") {
    j["output_width"] = 404;
    j["output_height"] = 720;
    j["crop_keyframes"] = json::array({{{"time", 0}, {"x", 100}, {"y", 0}, {"width", 202}, {"height", 360}},
                                       {{"time", 2}, {"x", 300}, {"y", 0}, {"width", 202}, {"height", 360}}});
  }
  if (endpoint == "overlay") {
    j["highlight_keyframes"] = json::array({{{"time", 0}, {"x", 200}, {"y", 180}, {"rx", 60}, {"ry", 90}}});
  }
  if (endpoint == "framing_ai") j["segments"] = json::array({{{"start", 0}, {"end", 2}}});  // 60 frames: it is slow here
  return j;
}

class LocalSlots : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<rt::TempDir>();
    const auto r = rt::run_command(std::string(REELSCALE_BINARY) + " profile --quick --out " + dir_->path().string());
    ASSERT_EQ(r.status, 0) << r.output;
  }
  static void TearDownTestSuite() { dir_.reset(); }
  static std::string profile() { return (*dir_ / "profile.json").string(); }
  static inline std::unique_ptr<rt::TempDir> dir_;
};

}  // namespace

TEST_F(LocalSlots, RunPicksANearFastestChunkCount) {
  const int slots = std::clamp(static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)), 1, 4);
  for (const std::string endpoint : {"framing", "overlay", "framing_ai"}) {
    const fs::path job_file = *dir_ / (endpoint + ".json");
    std::ofstream(job_file) << job_for(endpoint, *dir_ / (endpoint + ".mp4")).dump();
    const std::string run = "run " + job_file.string() + " --profile " + profile() + " --json";
    std::map<int, double> wall;
    for (int n = 1; n <= slots; ++n) {
      const json r = run_json(run + " --chunks " + std::to_string(n));
      if (r.is_null()) return;
      wall[n] = r["timings_s"]["total"].get<double>();
    }
    const json chosen = run_json(run);
    if (chosen.is_null()) return;
    const int n = chosen["chunks"].get<int>();
    ASSERT_GE(n, 1);
    const json& plan = chosen["plan"];
    EXPECT_EQ(plan["platform_model"], "local") << plan.dump();
    EXPECT_NE(plan["reason"].get<std::string>().find("no idle tail"), std::string::npos) << plan["reason"];
    EXPECT_GT(plan["core_seconds"].get<double>(), 0);
    EXPECT_EQ(chosen["billed_seconds"].get<double>(), 0) << "owned slots bill nothing";
    EXPECT_GT(chosen["core_seconds"].get<double>(), 0);
    double best = 1e9;
    for (const auto& [k, s] : wall) best = std::min(best, s);
    const double measured = std::min(chosen["timings_s"]["total"].get<double>(), wall.count(n) ? wall[n] : 1e9);
    std::cout << endpoint << ": chose " << n << " chunks (" << measured << " s); measured";
    for (const auto& [k, s] : wall) std::cout << " N=" << k << " " << s << " s";
    std::cout << "; predicted " << plan["wall_mean_s"].get<double>() << " s\n";
    EXPECT_LE(measured, 1.15 * best) << endpoint << " chose " << n << " chunks";
    if (endpoint != "framing_ai") continue;
    // From a fresh clone there is no measured profile: the embedded one for local slots.
    const json fresh = run_json("run " + job_file.string() + " --json");
    if (fresh.is_null()) return;
    const int m = fresh["chunks"].get<int>();
    EXPECT_EQ(fresh["plan"]["profile_name"], "reelscale-local");
    const double fresh_s = std::min(fresh["timings_s"]["total"].get<double>(), wall.count(m) ? wall[m] : 1e9);
    std::cout << "framing_ai with the embedded profile: chose " << m << " chunks (" << fresh_s << " s)\n";
    EXPECT_LE(fresh_s, 1.15 * best) << "the embedded profile chose " << m << " chunks";
  }
}

TEST_F(LocalSlots, ThePlanHasNoIdleTailAndNoColdStartBeyondOpeningTheModel) {
  const json p = run_json("plan --endpoint framing_ai --length 4 --width 404 --height 720 --local-slots 2 --json --profile " +
                          profile());
  if (p.is_null()) return;
  const json& c = p["chosen"];
  EXPECT_EQ(c["platform_model"], "local");
  EXPECT_EQ(c["hardware"], "CPU");
  EXPECT_EQ(c["cost_usd"]["idle_tail"].get<double>(), 0);
  EXPECT_EQ(c["cost_usd"]["startup"].get<double>(), 0);
  EXPECT_EQ(c["container_seconds"].get<double>(), 0);
  // Opening the model is the profile's cold start less the process start-up.
  std::ifstream f(profile());
  const json prof = json::parse(f);
  const double model_open = prof["endpoints"]["framing_ai"]["CPU"]["cold_start_s"]["constant"].get<double>() -
                            prof["orchestrator_start_s"]["constant"].get<double>();
  EXPECT_NEAR(c["breakdown_s"]["slowest_startup_mean"].get<double>(), model_open, 1e-6);
  EXPECT_NE(p["reason"].get<std::string>().find("core-seconds"), std::string::npos) << p["reason"];
  // A serverless plan of the same job keeps the price model, idle tail and all.
  const json s = run_json("plan --endpoint framing_ai --length 4 --width 404 --height 720 --hardware CPU --json --profile " +
                          profile());
  if (s.is_null()) return;
  EXPECT_EQ(s["chosen"]["platform_model"], "serverless");
  EXPECT_GT(s["chosen"]["cost_usd"]["idle_tail"].get<double>(), 0);
}
