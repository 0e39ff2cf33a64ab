// bench/audio_bench.cpp — the audio step of speed segments: time per output second and
// the worst beep-to-mapped-time offset at each speed, for reelscale's TimelineAudio
// (Rubber Band R3, pieces cut at onsets) against the ffmpeg CLI's atempo chain doing
// the same stretch in the same run. Prints Markdown for docs/perf/media.md.
//
//   audio_bench WORK_DIR [SECONDS]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "media/audio_timeline.h"

namespace fs = std::filesystem;
using reelscale::media::PlanarSamples;
using reelscale::media::Segment;
using reelscale::media::TimelineAudio;

namespace {

constexpr int kRate = 48000;
constexpr double kBeepEvery = 0.8;

// Stereo: beeps every 0.8 s over a hum and noise, the two channels slightly different.
PlanarSamples source(double seconds) {
  PlanarSamples s(2, std::vector<float>(static_cast<size_t>(seconds * kRate)));
  unsigned noise = 1;
  for (size_t i = 0; i < s[0].size(); ++i) {
    const double t = static_cast<double>(i) / kRate;
    const double into = std::fmod(t + 1e-9, kBeepEvery);
    const double beep = into < 0.05 ? 0.7 * std::sin(2 * M_PI * 1000 * into) : 0.0;
    for (size_t c = 0; c < 2; ++c) {
      noise = noise * 1103515245u + 12345u;
      const double hum = 0.05 * std::sin(2 * M_PI * (220 + 110 * c) * t);
      s[c][i] = static_cast<float>(beep + hum + 0.03 * (static_cast<double>(noise >> 16 & 0x7fff) / 32768.0 - 0.5));
    }
  }
  return s;
}

double worst_offset_ms(const std::vector<float>& left, double speed, double source_seconds) {
  std::vector<double> onsets;
  size_t quiet = kRate / 20;
  for (size_t i = 0; i < left.size(); ++i) {
    if (std::fabs(left[i]) > 0.25f) {
      if (quiet >= static_cast<size_t>(kRate / 20)) onsets.push_back(static_cast<double>(i) / kRate);
      quiet = 0;
    } else {
      ++quiet;
    }
  }
  double worst = 0;
  size_t k = 0;
  for (double t = 0; t < source_seconds - 1e-9; t += kBeepEvery, ++k) {
    if (k >= onsets.size()) return INFINITY;
    worst = std::max(worst, std::fabs(onsets[k] - t / speed) * 1000);
  }
  return worst;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// TimelineAudio on the whole source at one speed: best-of-3 seconds and the left channel.
double time_reelscale(const PlanarSamples& src, double speed, std::vector<float>* left) {
  const double seconds = static_cast<double>(src[0].size()) / kRate;
  const int64_t total = std::llround(seconds / speed * kRate);
  double best = 1e9;
  for (int rep = 0; rep < 3; ++rep) {
    size_t pos = 0;
    const auto start = std::chrono::steady_clock::now();
    TimelineAudio audio(reelscale::media::sample_layout({Segment{0, seconds, speed}}, kRate, total), 2, kRate,
                        [&](PlanarSamples& into, size_t max) {
                          const size_t n = std::min(max, src[0].size() - pos);
                          for (size_t c = 0; c < 2; ++c) {
                            into[c].insert(into[c].end(), src[c].begin() + pos, src[c].begin() + pos + n);
                          }
                          pos += n;
                          return n;
                        });
    PlanarSamples out(2);
    while (audio.read(out, 4096) > 0) {
    }
    best = std::min(best, seconds_since(start));
    *left = out[0];
  }
  return best;
}

std::string atempo_chain(double speed) {
  std::ostringstream os;
  while (speed < 0.5) {
    os << "atempo=0.5,";
    speed /= 0.5;
  }
  os << "atempo=" << speed;
  return os.str();
}

// The ffmpeg CLI stretching the same interleaved file with atempo: best-of-3 seconds.
double time_atempo(const fs::path& raw, double speed, const fs::path& out, std::vector<float>* left) {
  const std::string cmd = "ffmpeg -v error -y -f f32le -ar 48000 -ac 2 -i " + raw.string() + " -af " +
                          atempo_chain(speed) + " -f f32le " + out.string();
  double best = 1e9;
  for (int rep = 0; rep < 3; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    if (std::system(cmd.c_str()) != 0) return NAN;
    best = std::min(best, seconds_since(start));
  }
  left->clear();
  std::vector<float> all(fs::file_size(out) / sizeof(float));
  std::ifstream in(out, std::ios::binary);
  in.read(reinterpret_cast<char*>(all.data()), static_cast<std::streamsize>(all.size() * sizeof(float)));
  for (size_t i = 0; i < all.size(); i += 2) left->push_back(all[i]);
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: audio_bench WORK_DIR [SECONDS]\n");
    return 2;
  }
  const fs::path work = argv[1];
  fs::create_directories(work);
  const double seconds = argc > 2 ? std::atof(argv[2]) : 8.0;
  const PlanarSamples src = source(seconds);
  const fs::path raw = work / "audio-source.f32";
  {
    std::ofstream f(raw, std::ios::binary);
    for (size_t i = 0; i < src[0].size(); ++i) {
      f.write(reinterpret_cast<const char*>(&src[0][i]), sizeof(float));
      f.write(reinterpret_cast<const char*>(&src[1][i]), sizeof(float));
    }
  }
  std::printf("Stereo 48 kHz, %.1f s of source (50 ms beeps every 0.8 s over hum and noise), one segment at\n"
              "each speed; best of 3. ffmpeg's time includes its start-up (about 40 ms).\n\n", seconds);
  std::printf("| speed | output s | reelscale ms per output s | ffmpeg atempo ms per output s | ratio | worst beep offset, reelscale ms | atempo ms |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (double speed : {0.25, 0.5, 0.75, 1.5, 2.0, 4.0}) {
    std::vector<float> ours, theirs;
    const double t_ours = time_reelscale(src, speed, &ours);
    const double t_theirs = time_atempo(raw, speed, work / "audio-atempo.f32", &theirs);
    const double out_s = seconds / speed;
    std::printf("| %.2f | %.1f | %.1f | %.1f | %.2f | %.1f | %.1f |\n", speed, out_s, t_ours * 1000 / out_s,
                t_theirs * 1000 / out_s, t_ours / t_theirs, worst_offset_ms(ours, speed, seconds),
                worst_offset_ms(theirs, speed, seconds));
  }
  fs::remove(raw);
  fs::remove(work / "audio-atempo.f32");
  return 0;
}
