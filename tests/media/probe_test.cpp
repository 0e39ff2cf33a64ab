// tests/media/probe_test.cpp — probing real and synthetic clips against ffprobe.
#include "media/probe.h"

extern "C" {
#include <libavutil/display.h>
}

#include <gtest/gtest.h>

#include "test_media.h"

namespace rt = reelscale::testing;
using reelscale::media::MediaSource;
using reelscale::media::probe_video;

namespace {
// Remuxes `in` to `out` with a display matrix saying "rotate clockwise by degrees".
void add_rotation(const std::filesystem::path& in, const std::filesystem::path& out, int degrees) {
  using namespace reelscale::media;
  InputMedia input(MediaSource::local(in.string()));
  OutputFormat output(out.string());
  for (unsigned i = 0; i < input.format()->nb_streams; ++i) {
    AVStream* st = output.add_stream();
    check_av(avcodec_parameters_copy(st->codecpar, input.format()->streams[i]->codecpar), "copy");
    st->codecpar->codec_tag = 0;
    st->time_base = input.format()->streams[i]->time_base;
    if (input.format()->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
      auto* matrix = reinterpret_cast<int32_t*>(av_stream_new_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, 9 * 4));
      av_display_rotation_set(matrix, degrees);  // "clockwise" here; av_display_rotation_get reads it back as -degrees
    }
  }
  output.open();
  output.write_header();
  PacketPtr pkt = make_packet();
  while (av_read_frame(input.format(), pkt.get()) >= 0) {
    av_packet_rescale_ts(pkt.get(), input.format()->streams[pkt->stream_index]->time_base,
                         output.get()->streams[pkt->stream_index]->time_base);
    check_av(av_interleaved_write_frame(output.get(), pkt.get()), "write");
  }
  output.write_trailer();
}
}  // namespace

TEST(Probe, RealClipsMatchFfprobe) {
  for (const char* name : {"tears_of_steel_10s_640x360.mp4", "asl_walk.mkv", "one-by-one-person-8s_derived.mp4"}) {
    const std::string path = std::string(REELSCALE_SAMPLES_DIR) + "/" + name;
    const auto p = probe_video(MediaSource::local(path));
    EXPECT_EQ(p.frame_count(), rt::ffprobe_packet_count(path)) << name;
    EXPECT_EQ(p.codec, "h264");
    ASSERT_FALSE(p.keyframes.empty());
    EXPECT_EQ(p.keyframes.front(), 0);
    EXPECT_TRUE(std::is_sorted(p.pts.begin(), p.pts.end()));
    // Our presentation times equal ffprobe's decoded frame times.
    const auto times = rt::probe_frame_times(path);
    ASSERT_EQ(times.size(), p.pts.size()) << name;
    for (size_t k = 0; k < times.size(); ++k) {
      EXPECT_NEAR(p.pts[k] * p.time_base.to_double(), times[k], 1e-3) << name << " frame " << k;
    }
  }
  const auto tears = probe_video(MediaSource::local(std::string(REELSCALE_SAMPLES_DIR) + "/tears_of_steel_10s_640x360.mp4"));
  EXPECT_EQ(tears.width, 640);
  EXPECT_EQ(tears.height, 360);
  EXPECT_EQ(tears.frame_count(), 240);
  EXPECT_NEAR(tears.duration_seconds(), 10.0, 1e-6);
  EXPECT_FALSE(tears.variable_frame_rate);
  EXPECT_TRUE(tears.audio.empty());
}

TEST(Probe, StartTimeRotationAudioAndVariableRate) {
  rt::TempDir dir;
  rt::ClipSpec spec;
  spec.frames = 45;
  spec.start_offset = 2.5;
  spec.audio_seconds = 1.5;
  make_clip(dir / "a.mp4", spec);
  add_rotation(dir / "a.mp4", dir / "r.mp4", 90);
  const auto p = probe_video(MediaSource::local((dir / "r.mp4").string()));
  EXPECT_EQ(p.frame_count(), 45);
  EXPECT_NEAR(p.start_seconds(), 2.5, 0.05);
  EXPECT_EQ(p.rotation, 90);
  ASSERT_EQ(p.audio.size(), 1u);
  EXPECT_EQ(p.audio[0].codec, "aac");
  EXPECT_EQ(p.audio[0].sample_rate, 48000);

  rt::ClipSpec vfr;
  vfr.frames = 40;
  vfr.variable_rate = true;
  make_clip(dir / "v.mkv", vfr);
  const auto v = probe_video(MediaSource::local((dir / "v.mkv").string()));
  EXPECT_EQ(v.frame_count(), 27);  // 40 at 60 fps less every third
  EXPECT_TRUE(v.variable_frame_rate);
}
