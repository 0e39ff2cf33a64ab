// tests/cli/cli_test.cpp — the `reelscale` binary as users run it: exit codes, error
// messages on stderr, JSON output, and a real chunked run.
#include <gtest/gtest.h>

#include <regex>
#include <unistd.h>
#include <sstream>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

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
      {"process copy " + kTears + " -o " + out + " --crf 99", "crf is 99, outside [0, 51]", 2},
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

TEST(Cli, ProcessFramingWithJobFileAndFlagOverrides) {
  rt::TempDir dir;
  const std::string job = (dir / "job.json").string();
  std::ofstream(job) << R"({"endpoint": "framing", "input": ")" << kTears << R"(", "output": "ignored.mp4",
    "output_width": 180, "output_height": 320,
    "crop_keyframes": [{"time": 0, "x": 0, "y": 0, "width": 202, "height": 360},
                       {"time": 2, "x": 438, "y": 0, "width": 202, "height": 360}],
    "segments": [{"start": 1, "end": 3}]})";
  const std::string out = (dir / "reel.mp4").string();
  const auto r = run_reelscale("process framing --job " + job + " -o " + out + " --chunks 3 --fps 25 --json");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(rt::ffprobe_packet_count(out), 50);  // 2 s at 25 fps
  const auto v = rt::decode_gray(out);
  EXPECT_EQ(v.width, 180);
  EXPECT_EQ(v.height, 320);
  EXPECT_FALSE(fs::exists(dir / "ignored.mp4"));
}

TEST(Cli, DetectPrintsAndWritesJson) {
  rt::TempDir dir;
  const std::string clip = std::string(REELSCALE_SAMPLES_DIR) + "/one-by-one-person-8s_derived.mp4";
  const std::string out = (dir / "people.json").string();
  const auto r = rt::run_command(std::string(REELSCALE_BINARY) + " process detect " + clip + " --frame 60 -o " + out, false);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_GE(j["people"].size(), 1u);
  std::ifstream f(out);
  EXPECT_EQ(nlohmann::json::parse(f)["frame"], 60);
}

// A bad command line exits 2, the documented code for input at fault, naming the problem
// (CLI11 returned its own codes: 106 for a missing option). --help exits 0.
TEST(Cli, ABadCommandLineExitsTwoNamingIt) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"plan --policy /dev/null", "plan needs --length SECONDS or --like RECORD"},
      {"plan --length ten", "--length"},
      {"serve --listen", "--listen"},
      {"profile --out /tmp/unused --ai-frames 1", "--ai-frames: Value 1 not in range 2"},  // was an internal error
      {"no-such-command", "unknown command 'no-such-command'"},
      {"", "A subcommand is required"}};
  for (const auto& [args, message] : cases) {
    const auto r = rt::run_command(std::string(REELSCALE_BINARY) + " " + args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << args << "\n" << r.output;
  }
  EXPECT_EQ(rt::run_command(std::string(REELSCALE_BINARY) + " plan --help", false).status, 0);
  // serve: --webhook-allow without a secret to sign with is refused at start, not at the
  // first submission; --help shows --listen's default.
  rt::TempDir dir;
  const auto hooks = rt::run_command("REELSCALE_TOKEN=cli-test-token-0123456789 " + std::string(REELSCALE_BINARY) +
                                     " serve --listen 127.0.0.1:0 --db " + (dir / "jobs.db").string() +
                                     " --webhook-allow http://127.0.0.1:9/hooks/");
  EXPECT_EQ(hooks.status, 2) << hooks.output;
  EXPECT_NE(hooks.output.find("--webhook-allow needs --webhook-secret-file"), std::string::npos) << hooks.output;
  EXPECT_FALSE(fs::exists(dir / "jobs.db")) << "refused before the store was opened";
  const auto help = rt::run_command(std::string(REELSCALE_BINARY) + " serve --help");
  EXPECT_NE(help.output.find("--listen TEXT=127.0.0.1:8080"), std::string::npos) << help.output;
  EXPECT_NE(help.output.find("--max-attempts"), std::string::npos) << help.output;
}

// simulate --compare: the jobs it says arrived are the jobs its rows count (issue 31: "200
// jobs", the nominal rate, above rows adding up to 187).
TEST(Cli, SimulateCompareCountsTheJobsItsRowsCount) {
  rt::TempDir dir;
  std::ofstream(dir / "policy.json") << R"({"objective": "cheapest_within_deadline", "deadline_s": 300,
    "schedule": {"time_zone": "UTC", "entries": [{"name": "evening", "hours": [18, 23], "deadline_s": 45}]}})";
  const auto r = rt::run_command(std::string(REELSCALE_BINARY) + " simulate --policy " + (dir / "policy.json").string() +
                                 " --compare --jobs-per-day 200 --hardware T4,L4");
  ASSERT_EQ(r.status, 0) << r.output;
  std::smatch said;
  ASSERT_TRUE(std::regex_search(r.output, said, std::regex(R"(base, ([0-9]+) jobs arrived)"))) << r.output;
  int64_t rows = 0;
  std::istringstream lines(r.output);
  std::string line;
  std::smatch row;
  while (std::getline(lines, line)) {
    if (std::regex_match(line, row, std::regex(R"(^(base|evening) +\| +([0-9]+) \|.*)"))) rows += std::stoll(row[2]);
  }
  EXPECT_EQ(rows, std::stoll(said[1])) << r.output;
  EXPECT_GT(rows, 0);
}

TEST(Cli, BadJobsExitTwoNamingTheField) {
  rt::TempDir dir;
  struct Case {
    std::string job;
    std::string message;
  };
  const std::vector<Case> cases = {
      {R"({"input": "IN", "output": "OUT", "output_width": 811})", "output_width is 811, must be even"},
      {R"({"input": "IN", "output": "OUT", "colour": 1})", "unknown job field 'colour'"},
      {R"({"input": "IN", "output": "OUT", "crop_keyframes": [{"time": 50, "x": 0, "y": 0, "width": 100, "height": 100}]})",
       "crop_keyframes[0].time is 50 s, past the end of the output"},
      {R"({"input": "IN", "output": "OUT", "model": "nope"})", "model 'nope' not found"},
      {R"({"input": "IN", "output": "OUT")", "not valid JSON"},
  };
  const std::string out = (dir / "o.mp4").string();
  for (const Case& c : cases) {
    std::string text = c.job;
    text.replace(text.find("IN"), 2, kTears);
    text.replace(text.find("OUT"), 3, out);
    std::ofstream((dir / "job.json").string()) << text;
    const auto r = run_reelscale("process framing_ai --job " + (dir / "job.json").string());
    EXPECT_EQ(r.status, 2) << c.job << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.job << "\n" << r.output;
    EXPECT_FALSE(fs::exists(out));
  }
}

// `profile --cpu-side-cores`: framing run in CPU-quota cgroups, the fitted curve on the
// GPU cells, each scaled to give its own CPU side on the price table's 2 cores.
TEST(Cli, ProfileMeasuresTheCpuSideByCoresAndTheGpuCellsTakeIt) {
  if (geteuid() != 0) GTEST_SKIP() << "not root: no CPU cgroup can be made";
  rt::TempDir dir;
  const auto r = run_reelscale("profile --quick --cpu-side-cores 0.5,1 --cpu-side-runs 1 --out " +
                               dir.path().string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("## CPU side by cores"), std::string::npos) << r.output;
  const auto profile = nlohmann::json::parse(std::ifstream(dir / "profile.json"));
  const auto& t4 = profile["endpoints"]["framing_ai"]["T4"];
  ASSERT_TRUE(t4.contains("cpu_side_by_cores")) << t4.dump();
  const auto& curve = t4["cpu_side_by_cores"];
  EXPECT_GT(curve["parallel_ms"].get<double>(), 0);
  EXPECT_GT(curve["floor_ms"].get<double>(), 0);
  EXPECT_TRUE(curve["measured"].get<bool>());
  EXPECT_NE(curve["source"].get<std::string>().find("--cpu-side-cores"), std::string::npos);
  EXPECT_NEAR(curve["serial_ms"].get<double>() + curve["parallel_ms"].get<double>() / 2, t4["cpu_side_ms"].get<double>(),
              1e-6);
  const auto raw = nlohmann::json::parse(std::ifstream(dir / "profile-raw.json"));
  EXPECT_EQ(raw["cpu_side_by_cores"]["runs"].size(), 2u);
  // One core count cannot be fitted: the command says so.
  const auto one = run_reelscale("profile --quick --cpu-side-cores 1 --out " +
                                 (dir / "one").string());
  EXPECT_NE(one.status, 0);
  EXPECT_NE(one.output.find("--cpu-side-cores needs two core counts or more"), std::string::npos) << one.output;
}

TEST(Cli, ProfileFeedsThePlanner) {
  rt::TempDir dir;
  const auto r = run_reelscale("profile --quick --out " + dir.path().string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Break-even lengths"), std::string::npos);
  std::ifstream f(dir / "profile.json");
  const auto profile = nlohmann::json::parse(f);
  const double measured = profile["endpoints"]["framing"]["CPU"]["ms_per_frame"].get<double>();
  EXPECT_GT(measured, 0);
  EXPECT_TRUE(profile["endpoints"]["framing"]["CPU"]["measured"].get<bool>());
  // The planner reads it: a 10 s framing clip on this machine's CPU.
  const auto p = rt::run_command(std::string(REELSCALE_BINARY) + " plan --endpoint framing --length 10 --hardware CPU --json --profile " +
                                     (dir / "profile.json").string(), false);
  ASSERT_EQ(p.status, 0) << p.output;
  const auto plan = nlohmann::json::parse(p.output);
  EXPECT_EQ(plan["chosen"]["hardware"], "CPU");
  EXPECT_NE(plan["profile"].get<std::string>().find("measured-CPU"), std::string::npos);
  // Its compute time is the largest chunk's frames at the measured stages' cost of a
  // 1920x1080 h264 source into 810x1440 with veryfast, on the cores they were measured on.
  const auto& st = profile["endpoints"]["framing"]["CPU"]["stages"];
  const auto line = [](const nlohmann::json& c, double pixels) {
    return c["fixed_ms"].get<double>() + c["ms_per_mpixel"].get<double>() * pixels / 1e6;
  };
  const double decode = line(st["decode"]["h264"], 1920.0 * 1080.0), process = line(st["process"], 810.0 * 1440.0);
  const double encode = line(st["encode"]["veryfast"], 810.0 * 1440.0);
  const double cores = st["cores"].get<double>();
  const auto span = [&](double work, const char* threads) { return work / std::clamp(st[threads].get<double>(), 1.0, cores); };
  const double slowest = std::max({span(decode, "decode_threads"), span(process, "process_threads"), span(encode, "encode_threads")});
  const double occupied = decode / st["decode_core_share"].get<double>() + process / st["process_core_share"].get<double>() + encode;
  const double frame_ms = st["efficiency"].get<double>() * std::max(slowest, occupied / cores);
  EXPECT_NEAR(plan["chosen"]["breakdown_s"]["compute"].get<double>(),
              frame_ms / 1000 * plan["chosen"]["largest_chunk_frames"].get<double>(), 1e-6);
  EXPECT_GT(encode, 0) << "each stage measured";
  EXPECT_GT(decode, 0);
  EXPECT_GT(line(st["encode"]["medium"], 404.0 * 720.0), line(st["encode"]["ultrafast"], 404.0 * 720.0));
  // detect is measured too: one call on one frame, whatever the clip's length.
  const auto& detect = profile["endpoints"]["detect"]["CPU"];
  EXPECT_TRUE(detect["measured"].get<bool>());
  const double detect_ms = detect["fixed_ms"].get<double>();
  EXPECT_GT(detect_ms, 1);
  EXPECT_LT(detect_ms, 5000);
  const auto d = rt::run_command(std::string(REELSCALE_BINARY) + " plan --endpoint detect --length 60 --hardware CPU --json --profile " +
                                     (dir / "profile.json").string(), false);
  ASSERT_EQ(d.status, 0) << d.output;
  const auto detect_plan = nlohmann::json::parse(d.output);
  EXPECT_EQ(detect_plan["chosen"]["largest_chunk_frames"].get<int>(), 1);
  EXPECT_NEAR(detect_plan["chosen"]["breakdown_s"]["compute"].get<double>(), detect_ms / 1000, 1e-6);
  // Start-up and clean-up are this machine's, not defaults.
  EXPECT_GT(profile["orchestrator_start_s"]["constant"].get<double>(), 0);
  EXPECT_LT(profile["orchestrator_start_s"]["constant"].get<double>(), 2);
  EXPECT_NE(profile["cleanup_s"]["source"].get<std::string>().find("measured"), std::string::npos);
  // The profiler's own content sample is what a job's sample is compared with: a job on a
  // real clip samples itself, records the sample, and its plan uses it.
  ASSERT_TRUE(st.contains("content_reference"));
  EXPECT_GT(line(st["content_reference"]["encode"], 810.0 * 1440.0), 0);
  const std::string out = (dir / "overlay.mp4").string();
  std::ofstream(dir / "job.json") << nlohmann::json{{"endpoint", "overlay"}, {"input", kTears}, {"output", out},
                                                     {"audio", "drop"}, {"segments", {{{"start", 2}, {"end", 3}}}},
                                                     {"highlight_keyframes", {{{"time", 0}, {"x", 320}, {"y", 180}, {"rx", 60}, {"ry", 90}}}}}
                                         .dump();
  const auto job = rt::run_command(std::string(REELSCALE_BINARY) + " run " + (dir / "job.json").string() +
                                       " --json --chunks 1 --profile " + (dir / "profile.json").string(), false);
  ASSERT_EQ(job.status, 0) << job.output;
  const auto rec = nlohmann::json::parse(job.output);
  EXPECT_GT(rec["content_decode_ms"].get<double>(), 0);
  EXPECT_GT(rec["content_encode_ms"].get<double>(), 0);
  EXPECT_EQ(rt::ffprobe_packet_count(out), 24);
}

TEST(Cli, PlanAndThresholdsOnOurProfileAndTheOldSystems) {
  const auto p = rt::run_command(std::string(REELSCALE_BINARY) + " plan --length 30 --max-parallel 16", false);
  ASSERT_EQ(p.status, 0) << p.output;
  for (const char* hw : {"T4", "L4", "A10G", "A100-40GB", "H100"}) EXPECT_NE(p.output.find(hw), std::string::npos) << hw;
  EXPECT_NE(p.output.find("N=16"), std::string::npos);
  EXPECT_NE(p.output.find("Pareto front"), std::string::npos);
  EXPECT_NE(p.output.find("profile 'reelscale'"), std::string::npos) << p.output;
  EXPECT_NE(p.output.find("model: realesr-animevideov3"), std::string::npos) << p.output;
  EXPECT_NE(p.output.find("different provenance"), std::string::npos) << p.output;
  const auto heavy = rt::run_command(std::string(REELSCALE_BINARY) + " plan --length 30 --json --hardware T4 --model RealESRGAN_x4plus", false);
  ASSERT_EQ(heavy.status, 0) << heavy.output;
  EXPECT_NE(nlohmann::json::parse(heavy.output)["notes"].dump().find("RRDBNet x4"), std::string::npos);
  const auto t = rt::run_command(std::string(REELSCALE_BINARY) + " thresholds --endpoint framing_ai --hardware T4 --profile old-system", false);
  ASSERT_EQ(t.status, 0) << t.output;
  EXPECT_NE(t.output.find("would miss the 180 s deadline"), std::string::npos) << t.output;
  const auto bad = run_reelscale("plan --length 30 --policy /nonexistent.json");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.output.find("file not found: /nonexistent.json"), std::string::npos);
}

TEST(Cli, PlanOnASlurmClusterFileUsesItsClassesPricesNodesAndSuspendTime) {
  rt::TempDir dir;
  const fs::path cluster = dir / "cluster.json";
  std::ofstream(cluster) << R"({"classes": {"T4": {"partition": "t4", "gres": "gpu:1", "usd_per_hour": 0.36, "nodes": 3},
                                            "L4": {"partition": "l4", "gres": "gpu:1", "usd_per_hour": 0.72, "nodes": 2}},
                                "suspend_time_s": 240})";
  const std::string plan_command = std::string(REELSCALE_BINARY) + " plan --length 30 --json --cluster " + cluster.string();
  const auto p = rt::run_command(plan_command, false);  // the JSON alone
  ASSERT_EQ(p.status, 0) << p.output;
  // The built-in figures stand for the classes, and standard error says so.
  const auto said = rt::run_command(plan_command + " 2>&1 >/dev/null", false);
  EXPECT_NE(said.output.find("the profile's T4 figures for framing_ai were not measured on a node of class T4"),
            std::string::npos)
      << said.output;
  const nlohmann::json plan = nlohmann::json::parse(p.output);
  EXPECT_EQ(plan["policy"]["allowed_hardware"], nlohmann::json::array({"L4", "T4"}));
  int most_chunks = 0;
  for (const auto& c : plan["candidates"]) most_chunks = std::max(most_chunks, c["chunks"].get<int>());
  EXPECT_EQ(most_chunks, 3) << "no more chunks than the largest class has nodes";
  const nlohmann::json& chosen = plan["chosen"];
  // The node price is all-in: one chunk of T4 bills its container-seconds at $0.36/h.
  EXPECT_NEAR(chosen["cost_usd"]["total"].get<double>() - chosen["cost_usd"]["orchestrator"].get<double>(),
              chosen["container_seconds"].get<double>() * 0.36 / 3600, 1e-9) << chosen.dump();
  EXPECT_NE(plan["reason"].get<std::string>().find("a 240 s idle tail"), std::string::npos) << plan["reason"];
  std::ofstream(cluster) << R"({"classes": {"T4": {"partition": "t4", "cores": "four"}}})";
  const auto bad = run_reelscale("plan --length 30 --cluster " + cluster.string());
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.output.find("classes.T4.cores"), std::string::npos) << bad.output;
}

// A class with a core range: the plan chooses each task's cores within it and prices them
// per core on top of the node's part; a dearer core makes the cheapest plan take fewer. On
// the fixed-cores model (every class all-in at its cores) both plans would be the same.
TEST(Cli, PlanOnAClusterClassWithACoreRangeChoosesTheCoresAndPricesThem) {
  rt::TempDir dir;
  const fs::path cluster = dir / "cluster.json";
  const auto plan_at = [&](double usd_per_core_hour) {
    std::ofstream(cluster) << nlohmann::json{{"classes", {{"T4", {{"partition", "t4"}, {"gres", "gpu:1"},
                                                                  {"cores", {1, 8}}, {"usd_per_hour", 0.30},
                                                                  {"usd_per_core_hour", usd_per_core_hour}, {"nodes", 4}}}}}}
                                  .dump();
    const auto p = rt::run_command(std::string(REELSCALE_BINARY) + " plan --endpoint framing_ai --length 30 --json --objective "
                                   "cheapest_within_deadline --deadline 100000 --cluster " + cluster.string() + " 2>/dev/null", false);
    EXPECT_EQ(p.status, 0) << p.output;
    return nlohmann::json::parse(p.output)["chosen"];
  };
  const nlohmann::json cheap_cores = plan_at(0.0001), dear_cores = plan_at(1.0);
  for (const nlohmann::json& chosen : {cheap_cores, dear_cores}) {
    const double cores = chosen["container_cores"].get<double>();
    EXPECT_TRUE(cores == 1 || cores == 2 || cores == 4 || cores == 8) << chosen.dump();
  }
  EXPECT_EQ(dear_cores["container_cores"].get<double>(), 1) << "at $1 a core-hour, the fewest cores";
  EXPECT_GT(cheap_cores["container_cores"].get<double>(), 1) << "at $0.0001, more cores pay for themselves";
  // The bill: the node's part and the chosen cores, per container-second.
  for (const auto& [chosen, per_core] : {std::pair{cheap_cores, 0.0001}, std::pair{dear_cores, 1.0}}) {
    const double per_hour = 0.30 + chosen["container_cores"].get<double>() * per_core;
    EXPECT_NEAR(chosen["cost_usd"]["total"].get<double>() - chosen["cost_usd"]["orchestrator"].get<double>(),
                chosen["container_seconds"].get<double>() * per_hour / 3600, 1e-9) << chosen.dump();
  }
  for (const std::string& bad : {R"({"classes": {"T4": {"partition": "t4", "cores": [8, 1]}}})",
                                 R"({"classes": {"T4": {"partition": "t4", "cores": 4, "usd_per_core_hour": 0.1}}})",
                                 R"({"classes": {"T4": {"partition": "t4", "cores": [1, 8]}}})"}) {
    std::ofstream(cluster) << bad;
    const auto refused = run_reelscale("plan --length 30 --cluster " + cluster.string());
    EXPECT_EQ(refused.status, 2) << bad;
    EXPECT_NE(refused.output.find("classes.T4."), std::string::npos) << refused.output;
  }
}

TEST(Cli, OutFoldersAreCreatedWhenMissing) {
  rt::TempDir dir;
  const fs::path out = dir / "not" / "yet";
  const auto r = run_reelscale("report --out " + out.string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(fs::exists(out / "report.md"));
  std::ofstream(dir / "a-file") << "x";
  const auto onto_file = run_reelscale("report --out " + (dir / "a-file").string());
  EXPECT_EQ(onto_file.status, 2) << onto_file.output;
  EXPECT_NE(onto_file.output.find("is a file"), std::string::npos) << onto_file.output;
}
