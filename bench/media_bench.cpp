// bench/media_bench.cpp — measures the media core on this machine and prints Markdown:
// probe time per clip, pre-roll cost per chunk against GOP length, encode speed at
// 810x1440, and join time for 2..32 chunks. Not a test: numbers vary with the machine.
// Usage: media_bench WORK_DIR CLIP...   (WORK_DIR gets scratch files)
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "media/encoder.h"
#include "media/frame_reader.h"
#include "media/join.h"
#include "media/probe.h"
#include "media/timeline.h"

namespace fs = std::filesystem;
using namespace reelscale::media;
using Clock = std::chrono::steady_clock;

namespace {
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

int run(const std::string& cmd) { return std::system(cmd.c_str()); }

// Frames of a 900-frame 810x1440 clip (FFmpeg's testsrc2 pattern, moving), made once by
// the ffmpeg CLI and decoded by reelscale; the encoder gets realistic work.
class SourceFrames {
 public:
  explicit SourceFrames(const fs::path& work) : path_((work / "src-810x1440.mp4").string()) {
    if (!fs::exists(path_)) {
      run("ffmpeg -y -v error -f lavfi -i testsrc2=size=810x1440:rate=30 -t 30 -c:v libx264 -preset veryfast "
          "-g 60 -pix_fmt yuv420p " + path_);
    }
    probe_ = probe_video(MediaSource::local(path_));
    reader_ = std::make_unique<FrameReader>(MediaSource::local(path_), probe_, 2);
  }
  const AVFrame& frame(int64_t j) { return reader_->frame(j % probe_.frame_count()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  VideoProbe probe_;
  std::unique_ptr<FrameReader> reader_;
};

// Decode time of output frame `first` of a fresh reader: seek + pre-roll.
double first_frame_seconds(const std::string& path, const VideoProbe& probe, int64_t k, int64_t* decoded) {
  const auto t = Clock::now();
  FrameReader reader(MediaSource::local(path), probe, 1);
  reader.frame(k);
  *decoded = reader.stats().decoded;
  return since(t);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: media_bench WORK_DIR [CLIP...]\n");
    return 2;
  }
  const fs::path work = argv[1];
  fs::create_directories(work);
  av_log_set_level(AV_LOG_ERROR);
  SourceFrames source(work);

  std::printf("### Probe time (packets read, no decoding)\n\n| clip | frames | bytes | probe ms |\n|---|---|---|---|\n");
  for (int i = 2; i < argc; ++i) {
    double best = 1e9;
    VideoProbe p;
    for (int rep = 0; rep < 5; ++rep) {
      const auto t = Clock::now();
      p = probe_video(MediaSource::local(argv[i]));
      best = std::min(best, since(t));
    }
    std::printf("| %s | %lld | %lld | %.2f |\n", fs::path(argv[i]).filename().c_str(),
                static_cast<long long>(p.frame_count()), static_cast<long long>(p.file_bytes), best * 1000);
  }

  // Pre-roll: a 1280x720 clip per GOP length; a chunk starting on the frame just before
  // a key frame pays the longest pre-roll (GOP - 1 frames decoded and dropped).
  std::printf("\n### Pre-roll per chunk against GOP length (1280x720 H.264, veryfast, decoder on 1 thread)\n\n"
              "| GOP | worst-case start frame | frames decoded | ms to first frame | start on a key frame, ms |\n|---|---|---|---|---|\n");
  for (int gop : {15, 30, 60, 120, 250}) {
    const std::string clip = (work / ("gop" + std::to_string(gop) + ".mp4")).string();
    if (!fs::exists(clip)) {
      run("ffmpeg -y -v error -f lavfi -i testsrc2=size=1280x720:rate=30 -t 20 -c:v libx264 -preset veryfast -g " +
          std::to_string(gop) + " -keyint_min " + std::to_string(gop) + " -sc_threshold 0 " + clip);
    }
    const VideoProbe p = probe_video(MediaSource::local(clip));
    const int64_t worst = 2 * gop - 1 < p.frame_count() ? 2 * gop - 1 : gop - 1;
    int64_t decoded = 0, decoded_key = 0;
    double worst_s = 1e9, key_s = 1e9;
    for (int rep = 0; rep < 3; ++rep) {
      worst_s = std::min(worst_s, first_frame_seconds(clip, p, worst, &decoded));
      key_s = std::min(key_s, first_frame_seconds(clip, p, worst + 1, &decoded_key));
    }
    std::printf("| %d | %lld | %lld | %.1f | %.1f |\n", gop, static_cast<long long>(worst),
                static_cast<long long>(decoded), worst_s * 1000, key_s * 1000);
  }

  // Encode speed at 810x1440.
  std::printf("\n### Encode speed, 810x1440 yuv420p, libx264\n\n| preset | threads | frames | fps |\n|---|---|---|---|\n");
  for (const char* preset : {"ultrafast", "veryfast"}) {
    for (int threads : {1, 2}) {
      EncoderSettings s;
      s.width = 810;
      s.height = 1440;
      s.preset = preset;
      s.threads = threads;
      const int frames = 120;
      std::vector<FramePtr> decoded;
      for (int i = 0; i < frames; ++i) {
        decoded.push_back(make_frame());
        check_av(av_frame_ref(decoded.back().get(), &source.frame(i)), "ref");
      }
      const auto t = Clock::now();
      {
        ChunkEncoder enc((work / "enc.mp4").string(), s);
        for (int i = 0; i < frames; ++i) enc.write(*decoded[i]);
        enc.finish();
      }
      std::printf("| %s | %d | %d | %.1f |\n", preset, threads, frames, frames / since(t));
    }
  }

  // Join: the 900-frame 810x1440 clip in N chunks (chunks encoded once per N, veryfast).
  std::printf("\n### Join by stream copy, 900 frames of 810x1440 at 30 fps\n\n| chunks | bytes | join ms | per chunk ms |\n|---|---|---|---|\n");
  for (int n : {2, 4, 8, 16, 32}) {
    const auto ranges = split_evenly(900, n);
    std::vector<ChunkFile> files;
    EncoderSettings s;
    s.width = 810;
    s.height = 1440;
    s.preset = "veryfast";
    s.threads = 2;
    for (size_t c = 0; c < ranges.size(); ++c) {
      const std::string path = (work / ("join-" + std::to_string(n) + "-" + std::to_string(c) + ".mp4")).string();
      ChunkEncoder enc(path, s);
      for (int64_t j = ranges[c].begin; j < ranges[c].end; ++j) enc.write(source.frame(j));
      enc.finish();
      files.push_back({path, ranges[c].begin, ranges[c].size()});
    }
    double best = 1e9;
    JoinResult r;
    for (int rep = 0; rep < 3; ++rep) {
      const auto t = Clock::now();
      r = join_chunks(files, Rational{30, 1}, (work / "joined.mp4").string());
      best = std::min(best, since(t));
    }
    std::printf("| %d | %lld | %.1f | %.2f |\n", n, static_cast<long long>(r.bytes), best * 1000, best * 1000 / n);
    for (const auto& f : files) fs::remove(f.path);
  }
  return 0;
}
