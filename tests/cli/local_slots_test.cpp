// tests/cli/local_slots_test.cpp — local slots planned for time: `reelscale run` on local
// slots runs the chunk count its predictions rank fastest of N = 1..slots, for framing,
// overlay and framing_ai (checked against the predictions, never against the machine's
// speed); and the local plan has no idle tail and no cold start beyond opening the model.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
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

namespace {
// The profile measured above with every content reference removed: a job planned with it
// takes no content sample, so its predictions are the profile's alone, the same in every run
// whatever the machine's load.
std::string fixed_profile(const fs::path& measured, const fs::path& out) {
  std::ifstream in(measured);
  json p = json::parse(in);
  std::function<void(json&)> strip = [&](json& j) {
    if (!j.is_structured()) return;
    if (j.is_object()) j.erase("content_reference");
    for (auto& child : j) strip(child);
  };
  strip(p);
  std::ofstream(out) << p.dump();
  return out.string();
}

// The chunk count a plan chose against the times it ranked (the record's wall_by_chunks_s,
// to 0.1 ms).
void expect_fastest_of_its_ranking(const std::string& what, const json& plan, int slots) {
  const int n = plan["chunks"].get<int>();
  const json& ranked = plan["wall_by_chunks_s"];
  ASSERT_TRUE(ranked.is_object() && !ranked.empty()) << what << ": " << plan.dump();
  double best = 1e18;
  for (int k = 1; k <= slots; ++k) {
    ASSERT_TRUE(ranked.contains(std::to_string(k))) << what << ": no prediction for N=" << k << ": " << ranked.dump();
  }
  for (const auto& [k, s] : ranked.items()) best = std::min(best, s.get<double>());
  ASSERT_TRUE(ranked.contains(std::to_string(n))) << what << " chose " << n << " chunks, which it did not rank";
  // The planner takes fewer chunks for under 1 % more time (plan/planner.cpp).
  EXPECT_LE(ranked[std::to_string(n)].get<double>(), 1.01 * best + 1e-4) << what << " chose " << n << ": " << ranked.dump();
  EXPECT_LE(n, slots) << what;
}
}  // namespace

// The chunk count `run` chooses is the one its own predictions rank fastest, checked
// deterministically: against the ranking the run records (one planning pass, one content
// sample), and, with a profile whose predictions take no sample, against the predictions
// of runs that force each chunk count, which must be the same numbers. Whether predictions
// match measured times is a benchmark's question (bench/local_slots_bench.sh,
// bench/prediction_bench.sh), not a test's.
TEST_F(LocalSlots, RunPicksTheChunkCountItsPredictionsRankFastest) {
  const int slots = std::clamp(static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)), 1, 4);
  const std::string fixed = fixed_profile(profile(), *dir_ / "fixed_profile.json");
  for (const std::string endpoint : {"framing", "overlay", "framing_ai"}) {
    const fs::path job_file = *dir_ / (endpoint + ".json");
    std::ofstream(job_file) << job_for(endpoint, *dir_ / (endpoint + ".mp4")).dump();
    for (const std::string& profile_args : {" --profile " + fixed, " --profile " + profile(), std::string()}) {
      const std::string what = endpoint + (profile_args.empty() ? " (embedded profile)" : " (" + profile_args + ")");
      const std::string run = "run " + job_file.string() + profile_args + " --json";
      const json chosen = run_json(run);
      if (chosen.is_null()) return;
      const json& plan = chosen["plan"];
      std::cout << what << ": chose " << chosen["chunks"] << " of " << plan["wall_by_chunks_s"].dump() << "\n";
      EXPECT_EQ(chosen["chunks"], plan["chunks"]) << "the run used the chunk count it planned";
      expect_fastest_of_its_ranking(what, plan, slots);
      EXPECT_EQ(plan["platform_model"], "local") << plan.dump();
      EXPECT_NE(plan["reason"].get<std::string>().find("no idle tail"), std::string::npos) << plan["reason"];
      EXPECT_GT(plan["core_seconds"].get<double>(), 0);
      EXPECT_EQ(chosen["billed_seconds"].get<double>(), 0) << "owned slots bill nothing";
      EXPECT_GT(chosen["core_seconds"].get<double>(), 0);
      if (profile_args.empty()) {
        EXPECT_EQ(plan["profile_name"], "reelscale-local") << "a fresh clone's embedded profile";
      }
      if (profile_args != " --profile " + fixed) continue;
      EXPECT_FALSE(plan["breakdown_s"].contains("content_sample")) << "a profile without content references samples nothing";
      for (int n = 1; n <= slots; ++n) {
        const json forced = run_json(run + " --chunks " + std::to_string(n));
        if (forced.is_null()) return;
        EXPECT_TRUE(forced["plan"]["forced_chunks"].get<bool>());
        EXPECT_NEAR(forced["plan"]["wall_p90_s"].get<double>(), plan["wall_by_chunks_s"][std::to_string(n)].get<double>(), 1e-4)
            << what << ": the forced N=" << n << " prediction differs from the one the choice ranked";
      }
    }
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
