// tests/process/endpoints_test.cpp — the video endpoints on real and synthetic clips:
// framing equals FFmpeg's crop+scale, processed frames do not depend on the chunking
// (bit-exact for framing and overlay, within 1/255 for framing_ai), with and without
// segments; the overlay's pixels; framing_ai's work-saving rules; rotation; detect.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "job/job_flow.h"
#include "media/frame_reader.h"
#include "process/endpoints.h"
#include "process/framing.h"
#include "process/framing_ai.h"
#include "process/overlay.h"
#include "test_media.h"

namespace fs = std::filesystem;
namespace rt = reelscale::testing;
using namespace reelscale;
using namespace reelscale::process;
using nlohmann::json;

namespace {
const std::string kTears = std::string(REELSCALE_SAMPLES_DIR) + "/tears_of_steel_10s_640x360.mp4";

using Frames = std::map<int64_t, std::vector<uint8_t>>;

std::vector<uint8_t> planes_of(const AVFrame& f) {
  std::vector<uint8_t> out;
  for (int p = 0; p < 3; ++p) {
    const int w = p ? f.width / 2 : f.width, h = p ? f.height / 2 : f.height;
    for (int y = 0; y < h; ++y) out.insert(out.end(), f.data[p] + y * f.linesize[p], f.data[p] + y * f.linesize[p] + w);
  }
  return out;
}

// Runs a job locally in `chunks` chunks, keeping every processed frame.
Frames run_job(JobSpec spec, int chunks, record::JobRecord* result = nullptr) {
  Frames frames;
  std::mutex m;
  spec.preset = "ultrafast";
  store::ObjectStore store;
  exec::LocalExecutorOptions local;
  local.observer = [&](int64_t j, const AVFrame& f) {
    std::lock_guard lock(m);
    frames[j] = planes_of(f);
  };
  exec::LocalExecutor executor(local, [](const JobSpec& s) { return make_processor_factory(s, ModelSettings{}); }, store);
  job::JobOptions options;
  options.chunks = chunks;
  record::JobRecord r = job::run_job(spec, executor, store, options);
  job::throw_if_failed(r);
  if (result) *result = std::move(r);
  return frames;
}

int64_t frames_skipped(const record::JobRecord& r) {
  int64_t n = 0;
  for (const auto& c : r.chunk_results) n += c.frames_skipped;
  return n;
}

int max_diff(const Frames& a, const Frames& b) {
  EXPECT_EQ(a.size(), b.size());
  int m = 0;
  for (const auto& [j, fa] : a) {
    const auto& fb = b.at(j);
    EXPECT_EQ(fa.size(), fb.size());
    for (size_t i = 0; i < fa.size(); ++i) m = std::max(m, std::abs(fa[i] - fb[i]));
  }
  return m;
}

JobSpec spec_from(const json& j) { return parse_job_spec(j); }
}  // namespace

TEST(Framing, EqualsFfmpegCropAndScale) {
  rt::TempDir dir;
  const JobSpec spec = spec_from({{"endpoint", "framing"}, {"input", kTears}, {"output", (dir / "o.mp4").string()},
                                  {"output_width", 270}, {"output_height", 480}, {"fps", 24},
                                  {"crop_keyframes", json::array({{{"time", 0}, {"x", 201}, {"y", 10}, {"width", 190}, {"height", 338}}})}});
  const media::VideoProbe probe = media::probe_video(media::MediaSource::local(kTears));
  FramingProcessor proc(spec, probe);
  media::FrameReader reader(media::MediaSource::local(kTears), probe);
  media::FramePtr out = media::make_frame(270, 480, AV_PIX_FMT_YUV420P);
  // FFmpeg's crop snaps x to the chroma grid (201 -> 200) just as ours does.
  const std::string cmd = "ffmpeg -v error -i " + kTears +
                          " -vf crop=190:338:201:10,scale=270:480 -frames:v 10 -f rawvideo -pix_fmt yuv420p -";
  FILE* pipe = popen(cmd.c_str(), "r");
  std::vector<uint8_t> ref(270 * 480 * 3 / 2);
  for (int k = 0; k < 10; ++k) {
    ASSERT_EQ(fread(ref.data(), 1, ref.size(), pipe), ref.size());
    FrameJob job{&reader.frame(k), k, out.get()};
    proc.process(std::span<FrameJob>(&job, 1));
    const auto ours = planes_of(*out);
    int diff = 0;
    for (size_t i = 0; i < ref.size(); ++i) diff = std::max(diff, std::abs(ours[i] - ref[i]));
    EXPECT_EQ(diff, 0) << "frame " << k;
  }
  pclose(pipe);
}

TEST(Framing, ChunkInvariantWithAndWithoutSegments) {
  rt::TempDir dir;
  json j = {{"endpoint", "framing"}, {"input", kTears}, {"output", (dir / "o.mp4").string()},
            {"output_width", 180}, {"output_height", 320}, {"fps", 30}, {"crop_easing", "eased"},
            {"crop_keyframes", json::array({{{"time", 0}, {"x", 0}, {"y", 0}, {"width", 202}, {"height", 360}},
                                            {{"time", 3}, {"x", 400}, {"y", 20}, {"width", 150}, {"height", 267}}})}};
  const Frames one = run_job(spec_from(j), 1);
  EXPECT_EQ(one.size(), 300u);
  EXPECT_EQ(max_diff(one, run_job(spec_from(j), 7)), 0);
  j["segments"] = json::array({{{"start", 1}, {"end", 2.5}, {"speed", 0.5}}, {{"start", 6}, {"end", 8}, {"speed", 2}}});
  const Frames seg_one = run_job(spec_from(j), 1);
  EXPECT_EQ(seg_one.size(), 120u);  // 3 s + 1 s at 30 fps
  EXPECT_EQ(max_diff(seg_one, run_job(spec_from(j), 5)), 0);
}

// x264 writes its options into the stream: "analyse=0x3:0x113" is veryfast's search in P and
// B frames (intra 4x4 and 8x8, P and B 8x8 sub-partitions), "analyse=0x3:0x3" the intra ones alone.
std::string x264_options_of(const fs::path& video) {
  std::ifstream in(video, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t at = bytes.find("x264 - core");
  return at == std::string::npos ? "" : bytes.substr(at, std::min<size_t>(2000, bytes.size() - at));
}

TEST(Framing, AnEnlargedCropIsEncodedWithoutThe8x8SubPartitionSearchAndAnythingElseWithIt) {
  rt::TempDir dir;
  const json crop = json::array({{{"time", 0}, {"x", 0}, {"y", 0}, {"width", 202}, {"height", 360}},
                                 {{"time", 1}, {"x", 300}, {"y", 0}, {"width", 180}, {"height", 320}}});
  const auto framing = [&](int width, int height) {
    return spec_from({{"endpoint", "framing"}, {"input", kTears}, {"output", (dir / "o.mp4").string()},
                      {"output_width", width}, {"output_height", height}, {"fps", 24}, {"crop_keyframes", crop},
                      {"segments", json::array({{{"start", 0}, {"end", 1}}})}});
  };
  // The least enlargement of the track is at its largest crop: the lesser of 270/202 wide and 480/360 high.
  EXPECT_NEAR(CropTrack(framing(270, 480), 640, 360).least_upscale(270, 480), 480.0 / 360, 1e-9);
  EXPECT_NEAR(CropTrack(framing(202, 360), 640, 360).least_upscale(202, 360), 1.0, 1e-9);
  const auto encoded = [&](const JobSpec& spec) {
    store::ObjectStore store;
    exec::LocalExecutor executor({}, [](const JobSpec& s) { return make_processor_factory(s, ModelSettings{}); }, store);
    job::throw_if_failed(job::run_job(spec, executor, store, job::JobOptions{}));
    return x264_options_of(spec.output);
  };
  const std::string enlarged = encoded(framing(270, 480));  // 1.34x: a smooth picture
  EXPECT_NE(enlarged.find("analyse=0x3:0x3 "), std::string::npos) << enlarged;
  EXPECT_NE(enlarged.find("keyint=250 "), std::string::npos) << enlarged;
  const std::string native = encoded(framing(202, 360));  // the first crop at its own size
  EXPECT_NE(native.find("analyse=0x3:0x113"), std::string::npos) << native;
  JobSpec overlay = spec_from({{"endpoint", "overlay"}, {"input", kTears}, {"output", (dir / "v.mp4").string()},
                               {"segments", json::array({{{"start", 0}, {"end", 0.5}}})},
                               {"highlight_keyframes", {{{"time", 0}, {"x", 320}, {"y", 180}, {"rx", 60}, {"ry", 90}}}}});
  EXPECT_NE(encoded(overlay).find("analyse=0x3:0x113"), std::string::npos);
}

// A job that asks for NVENC gets it where the GPU has one; elsewhere (this machine has no
// NVIDIA driver) every chunk is encoded with x264, and the record says so and why.
TEST(Framing, NvencWhereItOpensElseX264WithTheReasonInTheRecord) {
  rt::TempDir dir;
  const JobSpec spec = spec_from({{"endpoint", "framing"}, {"input", kTears}, {"output", (dir / "o.mp4").string()},
                                  {"output_width", 270}, {"output_height", 480}, {"fps", 24}, {"encoder", "nvenc"},
                                  {"segments", json::array({{{"start", 0}, {"end", 1}}})}});
  store::ObjectStore store;
  exec::LocalExecutor executor({}, [](const JobSpec& s) { return make_processor_factory(s, ModelSettings{}); }, store);
  job::JobOptions options;
  options.chunks = 2;
  const record::JobRecord r = job::run_job(spec, executor, store, options);
  job::throw_if_failed(r);
  EXPECT_EQ(rt::ffprobe_packet_count(spec.output), 24);
  ASSERT_EQ(r.chunk_results.size(), 2u);
  for (const record::ChunkRecord& c : r.chunk_results) {
    if (c.encoder == "h264_nvenc") {
      EXPECT_EQ(c.encoder_note, "");
      continue;
    }
    EXPECT_EQ(c.encoder, "libx264");
    EXPECT_NE(c.encoder_note.find("h264_nvenc could not be used: "), std::string::npos) << c.encoder_note;
    EXPECT_NE(c.encoder_note.find("; encoded with libx264"), std::string::npos) << c.encoder_note;
    const std::string warning = "chunk " + std::to_string(c.index) + ": " + c.encoder_note;
    EXPECT_NE(std::find(r.warnings.begin(), r.warnings.end(), warning), r.warnings.end()) << warning;
  }
  EXPECT_EQ(r.chunk_results[0].encoder, r.chunk_results[1].encoder);
  EXPECT_NE(x264_options_of(spec.output).empty(), r.chunk_results[0].encoder == "libx264");
  // The record's JSON keeps both fields.
  const json back = record::to_json(r);
  EXPECT_EQ(back["chunk_results"][0]["encoder"], r.chunk_results[0].encoder);
  EXPECT_EQ(back["chunk_results"][0]["encoder_note"], r.chunk_results[0].encoder_note);
}

TEST(Overlay, ChunkInvariantWithAndWithoutSegments) {
  rt::TempDir dir;
  json j = {{"endpoint", "overlay"}, {"input", kTears}, {"output", (dir / "o.mp4").string()},
            {"highlight_keyframes", json::array({{{"time", 0}, {"x", 100}, {"y", 180}, {"rx", 60}, {"ry", 90}},
                                                 {{"time", 9}, {"x", 520}, {"y", 200}, {"rx", 90}, {"ry", 110}}})}};
  record::JobRecord r;
  const Frames one = run_job(spec_from(j), 1, &r);
  EXPECT_EQ(one.size(), 240u);  // the source's own 24 fps
  EXPECT_EQ(r.fps, "24/1");
  EXPECT_EQ(max_diff(one, run_job(spec_from(j), 6)), 0);
  // 2.5 s at quarter speed: a 10 s output, so the keyframe at 9 s stays inside it.
  j["segments"] = json::array({{{"start", 2}, {"end", 4.5}, {"speed", 0.25}}});
  EXPECT_EQ(max_diff(run_job(spec_from(j), 1), run_job(spec_from(j), 4)), 0);
}

TEST(Overlay, DimsOutsideKeepsInsideDrawsRing) {
  OverlayStyle style;
  style.dim = 0.5;
  style.feather = 8;
  style.ring_width = 4;
  style.ring_color = {255, 0, 0};
  HighlightPainter painter(style);
  media::FramePtr src = media::make_frame(200, 120, AV_PIX_FMT_YUV420P);
  for (int p = 0; p < 3; ++p) {
    const int h = p ? 60 : 120;
    for (int y = 0; y < h; ++y) std::memset(src->data[p] + y * src->linesize[p], p ? 128 : 200, p ? 100 : 200);
  }
  media::FramePtr dst = media::make_frame(200, 120, AV_PIX_FMT_YUV420P);
  painter.paint(*src, *dst, Spotlight{100, 60, 40, 30});
  auto y_at = [&](int x, int y) { return dst->data[0][y * dst->linesize[0] + x]; };
  auto v_at = [&](int x, int y) { return dst->data[2][(y / 2) * dst->linesize[2] + x / 2]; };
  EXPECT_EQ(y_at(100, 60), 200);                           // centre untouched
  EXPECT_EQ(y_at(0, 0), (200 * 128 + 16 * 128 + 128) >> 8);  // corner dimmed halfway to black (108)
  EXPECT_EQ(y_at(199, 119), y_at(0, 0));
  EXPECT_GT(v_at(140, 60), 200);                           // red ring on the ellipse's right edge (V high)
  EXPECT_EQ(v_at(100, 60), 128);                           // no colour inside
  // Feathered: between the ring and the full dim the luma falls monotonically.
  EXPECT_GE(y_at(146, 60), y_at(150, 60));
  EXPECT_GE(y_at(150, 60), y_at(160, 60));
}

TEST(FramingAi, ChunkInvariantWithinOneLevelAndSkipsWhenNotNeeded) {
  rt::TempDir dir;
  // A 60 x 106 crop upscaled to a 96 x 170 output: the network runs on 24 x 43.
  json j = {{"endpoint", "framing_ai"}, {"input", kTears}, {"output", (dir / "o.mp4").string()},
            {"output_width", 96}, {"output_height", 170}, {"fps", 24},
            {"crop_keyframes", json::array({{{"time", 0}, {"x", 300}, {"y", 100}, {"width", 60}, {"height", 106}},
                                            {{"time", 1}, {"x", 340}, {"y", 120}, {"width", 60}, {"height", 106}}})},
            {"segments", json::array({{{"start", 2}, {"end", 2.5}}, {{"start", 5}, {"end", 5.25}, {"speed", 0.5}}})}};
  record::JobRecord r;
  const Frames one = run_job(spec_from(j), 1, &r);
  EXPECT_EQ(one.size(), 24u);
  EXPECT_EQ(frames_skipped(r), 0);
  EXPECT_LE(max_diff(one, run_job(spec_from(j), 3)), 1);
  // Without segments the same holds (a shorter clip keeps the test quick).
  j.erase("segments");
  j["input"] = std::string(REELSCALE_SAMPLES_DIR) + "/asl_walk.mkv";
  j["crop_keyframes"] = json::array({{{"time", 0}, {"x", 300}, {"y", 100}, {"width", 60}, {"height", 106}}});
  j["fps"] = 10;
  const Frames a = run_job(spec_from(j), 1);
  EXPECT_EQ(a.size(), 30u);
  EXPECT_LE(max_diff(a, run_job(spec_from(j), 4)), 1);
  // A crop that already has the output's resolution skips the network on every frame.
  j["crop_keyframes"] = json::array({{{"time", 0}, {"x", 0}, {"y", 0}, {"width", 200}, {"height", 354}}});
  run_job(spec_from(j), 2, &r);
  EXPECT_EQ(frames_skipped(r), r.frames);
}

TEST(FramingAi, NetworkInputIsOutputOverScaleForLargeCrops) {
  const JobSpec spec = spec_from({{"endpoint", "framing_ai"}, {"input", kTears}, {"output", "x.mp4"}});
  const media::VideoProbe probe = media::probe_video(media::MediaSource::local(kTears));
  ModelSettings settings;
  FramingAiProcessor proc(spec, probe, load_sr_model("realesr-animevideov3", settings), settings);
  // 608x1080 -> 810x1440 at x4: the network sees 203x360, not 608x1080.
  EXPECT_EQ(proc.network_input(media::CropRect{0, 0, 608, 1080}), std::make_pair(203, 360));
  // A small crop is fed as it is.
  EXPECT_EQ(proc.network_input(media::CropRect{0, 0, 150, 266}), std::make_pair(150, 266));
  // sr_input native: the crop at its own size, whatever its size.
  JobSpec native = spec;
  native.sr_input = SrInput::kNative;
  FramingAiProcessor at_size(native, probe, load_sr_model("realesr-animevideov3", settings), settings);
  EXPECT_EQ(at_size.network_input(media::CropRect{0, 0, 608, 1080}), std::make_pair(608, 1080));
  EXPECT_EQ(at_size.network_input(media::CropRect{0, 0, 150, 266}), std::make_pair(150, 266));
}

TEST(Models, MissingModelIsAClearError) {
  ModelSettings settings;
  try {
    load_sr_model("no-such-model", settings);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("model 'no-such-model' not found"), std::string::npos);
  }
}

TEST(Upright, RotationMapsPixelsClockwise) {
  media::VideoProbe probe;
  probe.width = 4;
  probe.height = 2;
  probe.rotation = 90;
  media::FramePtr f = media::make_frame(4, 2, AV_PIX_FMT_YUV420P);
  for (int y = 0; y < 2; ++y) {
    for (int x = 0; x < 4; ++x) f->data[0][y * f->linesize[0] + x] = static_cast<uint8_t>(10 * y + x);
  }
  UprightFrames upright(probe);
  const AVFrame& r = upright.get(*f);
  ASSERT_EQ(r.width, 2);
  ASSERT_EQ(r.height, 4);
  // Turned 90 degrees clockwise: the bottom-left source pixel (0,1) lands top-left.
  EXPECT_EQ(r.data[0][0], 10);
  EXPECT_EQ(r.data[0][1], 0);
  EXPECT_EQ(r.data[0][3 * r.linesize[0] + 0], 13);
  EXPECT_EQ(r.data[0][3 * r.linesize[0] + 1], 3);
}

TEST(Detect, FindsThePersonInTheClip) {
  const std::string clip = std::string(REELSCALE_SAMPLES_DIR) + "/one-by-one-person-8s_derived.mp4";
  const media::VideoProbe probe = media::probe_video(media::MediaSource::local(clip));
  JobSpec spec = spec_from({{"endpoint", "detect"}, {"input", clip}, {"time", 6.0}});
  const json r = detect_people(spec, media::MediaSource::local(clip), probe, ModelSettings{});
  EXPECT_EQ(r["frame"], 60);
  ASSERT_GE(r["people"].size(), 1u);
  EXPECT_GT(r["people"][0]["score"].get<double>(), 0.5);
}
