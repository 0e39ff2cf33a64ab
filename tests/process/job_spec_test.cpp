// tests/process/job_spec_test.cpp — keyframe maths and job spec validation.
#include "process/job_spec.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "job/job_plan.h"
#include "media/probe.h"

using namespace reelscale;
using namespace reelscale::process;
using nlohmann::json;

namespace {
std::string error_of(const json& j) {
  try {
    parse_job_spec(j);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    return e.what();
  }
  return "no error";
}
json framing() {
  return {{"endpoint", "framing"}, {"input", "in.mp4"}, {"output", "out.mp4"}};
}
}  // namespace

TEST(Keyframes, LinearEasedAndHolds) {
  std::vector<Keyframe<4>> k{{1.0, {0, 0, 100, 100}}, {3.0, {200, 40, 300, 100}}};
  EXPECT_EQ(interpolate(k, 0.0, Easing::kLinear)[0], 0);     // before the first: hold
  EXPECT_EQ(interpolate(k, 1.0, Easing::kLinear)[0], 0);
  EXPECT_DOUBLE_EQ(interpolate(k, 2.0, Easing::kLinear)[0], 100);
  EXPECT_DOUBLE_EQ(interpolate(k, 1.5, Easing::kLinear)[1], 10);
  EXPECT_DOUBLE_EQ(interpolate(k, 2.0, Easing::kEased)[0], 100);  // symmetric at the middle
  EXPECT_LT(interpolate(k, 1.5, Easing::kEased)[0], 50);          // slow start
  EXPECT_GT(interpolate(k, 2.5, Easing::kEased)[0], 150);         // slow end
  EXPECT_EQ(interpolate(k, 3.0, Easing::kLinear)[2], 300);
  EXPECT_EQ(interpolate(k, 99.0, Easing::kEased)[2], 300);  // after the last: hold
  // Two keyframes at the same time: a cut, the later one wins from then on.
  std::vector<Keyframe<4>> cut{{0.0, {0, 0, 1, 1}}, {1.0, {10, 0, 1, 1}}, {1.0, {50, 0, 1, 1}}, {2.0, {60, 0, 1, 1}}};
  EXPECT_DOUBLE_EQ(interpolate(cut, 0.5, Easing::kLinear)[0], 5);
  EXPECT_DOUBLE_EQ(interpolate(cut, 1.5, Easing::kLinear)[0], 55);
}

TEST(JobSpec, ParsesTheDesignExample) {
  const json j = json::parse(R"({
    "endpoint": "framing_ai", "input": "s3://videos/u1/raw/game.mp4", "output": "s3://videos/u1/exports/reel.mp4",
    "output_width": 810, "output_height": 1440, "fps": 30,
    "crop_keyframes": [{"time": 0.0, "x": 656, "y": 0, "width": 608, "height": 1080},
                       {"time": 4.0, "x": 900, "y": 0, "width": 608, "height": 1080}],
    "segments": [{"start": 12.0, "end": 16.0, "speed": 1.0}, {"start": 16.0, "end": 18.0, "speed": 0.5}],
    "model": "realesr-animevideov3"})");
  const JobSpec s = parse_job_spec(j);
  EXPECT_EQ(s.endpoint, Endpoint::kFramingAi);
  EXPECT_EQ(s.crop_keyframes.size(), 2u);
  EXPECT_EQ(s.crop_keyframes[1].values[0], 900);
  EXPECT_EQ(s.segments[1].speed, 0.5);
  EXPECT_EQ(s.fps.num, 30);
  // Round trip.
  const JobSpec again = parse_job_spec(to_json(s));
  EXPECT_EQ(again.crop_keyframes.size(), 2u);
  EXPECT_EQ(again.segments.size(), 2u);
  EXPECT_EQ(again.model, s.model);
}

TEST(JobSpec, BadFieldsAreNamedWithTheirBounds) {
  json j = framing();
  j["outptu"] = "x";
  EXPECT_NE(error_of(j).find("unknown job field 'outptu'"), std::string::npos);
  j = framing();
  j["output_width"] = 811;
  EXPECT_NE(error_of(j).find("output_width is 811, must be even"), std::string::npos);
  j = framing();
  j["output_height"] = 10000;
  EXPECT_NE(error_of(j).find("output_height is 10000, outside [16, 4096]"), std::string::npos);
  j = framing();
  j["fps"] = 500;
  EXPECT_NE(error_of(j).find("fps is 500, outside [1, 120]"), std::string::npos);
  j = framing();
  j["crop_keyframes"] = json::array({{{"time", 0}, {"x", 0}, {"y", 0}, {"width", 0}, {"height", 10}}});
  EXPECT_NE(error_of(j).find("crop_keyframes[0].width is 0, outside [2,"), std::string::npos);
  j = framing();
  j["crop_keyframes"] = json::array({{{"time", 2}, {"x", 0}, {"y", 0}, {"width", 10}, {"height", 10}},
                                     {{"time", 1}, {"x", 0}, {"y", 0}, {"width", 10}, {"height", 10}}});
  EXPECT_NE(error_of(j).find("crop_keyframes[1].time is 1 s, earlier than"), std::string::npos);
  j = framing();
  j["crop_keyframes"] = json::array({{{"time", 0}, {"x", 0}, {"y", 0}, {"w", 10}, {"height", 10}}});
  EXPECT_NE(error_of(j).find("unknown job field 'crop_keyframes[0].w'"), std::string::npos);
  j = framing();
  j["segments"] = json::array({{{"start", 1}, {"end", 2}, {"speed", 8}}});
  EXPECT_NE(error_of(j).find("segments[0].speed is 8, outside [0.25, 4]"), std::string::npos);
  j = framing();
  j["segments"] = json::array({{{"start", 3}, {"end", 2}}});
  EXPECT_NE(error_of(j).find("segments[0].end is 2, must be after start 3"), std::string::npos);
  j = framing();
  j["endpoint"] = "sharpen";
  EXPECT_NE(error_of(j).find("unknown endpoint 'sharpen'"), std::string::npos);
  j = framing();
  j.erase("input");
  EXPECT_NE(error_of(j).find("job field input is required"), std::string::npos);
  j = framing();
  j["endpoint"] = "overlay";
  EXPECT_NE(error_of(j).find("highlight_keyframes is required for overlay"), std::string::npos);
  j["highlight_keyframes"] = json::array({{{"time", 0}, {"x", 5}, {"y", 5}, {"rx", 10}, {"ry", 10}}});
  j["style"] = {{"dim", 1.5}};
  EXPECT_NE(error_of(j).find("style.dim is 1.5, outside [0, 1]"), std::string::npos);
  j["style"] = {{"ring_color", "#12345"}};
  EXPECT_NE(error_of(j).find("style.ring_color must be"), std::string::npos);
  j["style"] = {{"ring_color", "#ff8000"}};
  EXPECT_EQ(parse_job_spec(j).style.ring_color, (std::array<int, 3>{255, 128, 0}));
  j = framing();
  j["crf"] = 60;
  EXPECT_NE(error_of(j).find("crf is 60, outside [0, 51]"), std::string::npos);
  j = framing();
  j["encoder"] = "vp9";
  EXPECT_NE(error_of(j).find("encoder 'vp9' is not x264, nvenc or auto"), std::string::npos);
  j["encoder"] = "nvenc";
  EXPECT_EQ(parse_job_spec(j).encoder, "nvenc");
  EXPECT_EQ(to_json(parse_job_spec(j))["encoder"], "nvenc");
  j["encoder"] = "auto";
  EXPECT_EQ(to_json(parse_job_spec(j))["encoder"], "auto");
  j = framing();
  j["audio"] = "loud";
  EXPECT_NE(error_of(j).find("job field audio is invalid"), std::string::npos);
  EXPECT_NE(error_of(json::array()).find("must be a JSON object"), std::string::npos);
}

TEST(JobSpec, CheckedAgainstTheSourceClampsCropsAndRejectsLateKeyframes) {
  media::VideoProbe probe;
  probe.width = 640;
  probe.height = 360;
  probe.time_base = {1, 30};
  for (int i = 0; i < 90; ++i) probe.pts.push_back(i);
  probe.end_pts = 90;
  const media::Timeline timeline(probe.relative_times_ns(), probe.relative_end_ns(), {30, 1});
  json j = framing();
  j["crop_keyframes"] = json::array({{{"time", 0}, {"x", 600}, {"y", -20}, {"width", 202}, {"height", 400}}});
  JobSpec s = parse_job_spec(j);
  const auto warnings = check_against_source(s, probe, timeline);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("clamped"), std::string::npos);
  EXPECT_EQ(s.crop_keyframes[0].values, (std::array<double, 4>{438, 0, 202, 360}));
  j["crop_keyframes"] = json::array({{{"time", 4}, {"x", 0}, {"y", 0}, {"width", 202}, {"height", 360}}});
  s = parse_job_spec(j);
  try {
    check_against_source(s, probe, timeline);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("crop_keyframes[0].time is 4 s, past the end of the output (3 s)"),
              std::string::npos);
  }
}

// Found by fuzz/job_spec_fuzz: a number too large for a double escaped the parser as a
// JSON library exception instead of a bad-input error.
TEST(JobSpec, FuzzFoundAnOverflowingNumberIsBadInput) {
  try {
    reelscale::process::parse_job_spec_text("33333333333333e3333333333333333333333333");
    FAIL() << "no error";
  } catch (const reelscale::Error& e) {
    EXPECT_EQ(e.kind(), reelscale::ErrorKind::kBadInput);
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos) << e.what();
  }
}

// Found by fuzz/job_spec_fuzz: a decimal frame rate beyond int64 once rounded (3e115)
// overflowed in llround and then in gcd's negation.
TEST(JobSpec, FuzzFoundAHugeDecimalFpsIsBadInput) {
  json f = framing();
  f["fps"] = "3000000000000001e100";
  EXPECT_NE(error_of(f).find("not a positive rate"), std::string::npos) << error_of(f);
  f["fps"] = "29.97";
  EXPECT_NO_THROW(parse_job_spec(f));
}

TEST(JobSpec, SrInputIsReducedOrNativeAndOnlyForFramingAi) {
  json ai = {{"endpoint", "framing_ai"}, {"input", "in.mp4"}, {"output", "out.mp4"}};
  EXPECT_EQ(parse_job_spec(ai).sr_input, SrInput::kReduced);
  ai["sr_input"] = "native";
  const JobSpec native = parse_job_spec(ai);
  EXPECT_EQ(native.sr_input, SrInput::kNative);
  EXPECT_EQ(parse_job_spec(to_json(native)).sr_input, SrInput::kNative);
  ai["sr_input"] = "huge";
  EXPECT_NE(error_of(ai).find("sr_input 'huge' is not reduced or native"), std::string::npos);
  json f = framing();
  f["sr_input"] = "native";
  EXPECT_NE(error_of(f).find("sr_input is only for the framing_ai endpoint"), std::string::npos);
}

TEST(JobSpec, ThePlannerCostsTheNativeRuleByTheCropsItFeeds) {
  media::VideoProbe probe;
  probe.width = 640;
  probe.height = 360;
  json ai = {{"endpoint", "framing_ai"}, {"input", "in.mp4"}, {"output", "out.mp4"}, {"output_width", 404},
             {"output_height", 720}, {"fps", 30},
             {"crop_keyframes", json::array({{{"time", 0}, {"x", 0}, {"y", 0}, {"width", 202}, {"height", 360}}})}};
  EXPECT_DOUBLE_EQ(reelscale::job::job_shape(parse_job_spec(ai), probe, 90).network_input_factor, 1.0);
  ai["sr_input"] = "native";
  // 202x360 fed as it is, against 101x180 (output / 4) under the reduced rule: 4x the pixels.
  EXPECT_NEAR(reelscale::job::job_shape(parse_job_spec(ai), probe, 90).network_input_factor, 4.0, 0.01);
  // A crop already below output / scale costs the same under both rules.
  ai["crop_keyframes"][0]["width"] = 100;
  ai["crop_keyframes"][0]["height"] = 178;
  EXPECT_NEAR(reelscale::job::job_shape(parse_job_spec(ai), probe, 90).network_input_factor, 1.0, 1e-9);
}

TEST(JobSpec, FramesWhoseCropHasTheOutputsPixelsSkipTheNetworkInThePlanToo) {
  media::VideoProbe probe;
  probe.width = 1280;
  probe.height = 720;
  json ai = {{"endpoint", "framing_ai"}, {"input", "in.mp4"}, {"output", "out.mp4"}, {"output_width", 404},
             {"output_height", 720}, {"fps", 30},
             {"crop_keyframes", json::array({{{"time", 0}, {"x", 0}, {"y", 0}, {"width", 404}, {"height", 720}},
                                             {{"time", 3}, {"x", 0}, {"y", 0}, {"width", 202}, {"height", 360}}})}};
  // The crop shrinks from the output's size to half of it: the network runs on every frame
  // but the first.
  const auto shape = reelscale::job::job_shape(parse_job_spec(ai), probe, 90);
  EXPECT_GT(shape.network_share, 0.95);
  EXPECT_LT(shape.network_share, 1.0);
  ai["crop_keyframes"] = json::array({{{"time", 0}, {"x", 0}, {"y", 0}, {"width", 404}, {"height", 720}}});
  EXPECT_EQ(reelscale::job::job_shape(parse_job_spec(ai), probe, 90).network_share, 0.0);
}
