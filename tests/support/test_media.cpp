// tests/support/test_media.cpp — command running, barcode clips and ffmpeg-CLI decoding.
#include "test_media.h"

#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <bit>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace reelscale::testing {

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no error";
}

CommandResult run_command(const std::string& command, bool merge_stderr) {
  CommandResult r;
  const std::string full = merge_stderr ? command + " 2>&1" : command;
  FILE* pipe = popen(full.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 65536> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

namespace {
constexpr int kColumns = 12;
constexpr int kRows = 2;
constexpr int kIndexBits = 20;

uint32_t code_of(int64_t index) {
  const uint32_t v = static_cast<uint32_t>(index) & ((1u << kIndexBits) - 1);
  const uint32_t check = (static_cast<uint32_t>(std::popcount(v)) * 5 + 3) & 15;
  return v | (check << kIndexBits);
}

void block_rect(int bit, int w, int h, int* x0, int* y0, int* x1, int* y1) {
  const int row = bit / kColumns;
  const int col = bit % kColumns;
  *x0 = col * w / kColumns;
  *x1 = (col + 1) * w / kColumns;
  *y0 = row * (h / 2) / kRows;
  *y1 = (row + 1) * (h / 2) / kRows;
}
}  // namespace

void draw_barcode(uint8_t* luma, int linesize, int width, int height, int64_t index) {
  const uint32_t code = code_of(index);
  for (int bit = 0; bit < kColumns * kRows; ++bit) {
    int x0, y0, x1, y1;
    block_rect(bit, width, height, &x0, &y0, &x1, &y1);
    const uint8_t value = (code >> bit) & 1 ? 235 : 16;
    for (int y = y0; y < y1; ++y) {
      for (int x = x0; x < x1; ++x) luma[y * linesize + x] = value;
    }
  }
  for (int y = height / 2; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      luma[y * linesize + x] = static_cast<uint8_t>(64 + ((x + 3 * index) ^ (y * 2)) % 128);
    }
  }
}

int64_t read_barcode(const uint8_t* luma, int linesize, int grid_width, int grid_height) {
  uint32_t code = 0;
  for (int bit = 0; bit < kColumns * kRows; ++bit) {
    int x0, y0, x1, y1;
    block_rect(bit, grid_width, grid_height, &x0, &y0, &x1, &y1);
    // Average the inner half of the block: edges blur under compression and scaling.
    const int mx = (x1 - x0) / 4, my = (y1 - y0) / 4;
    int64_t sum = 0, count = 0;
    for (int y = y0 + my; y < y1 - my; ++y) {
      for (int x = x0 + mx; x < x1 - mx; ++x) {
        sum += luma[y * linesize + x];
        ++count;
      }
    }
    if (count && sum / count > 125) code |= 1u << bit;
  }
  const int64_t index = code & ((1u << kIndexBits) - 1);
  return code_of(index) == code ? index : -1;
}

void make_clip(const fs::path& path, const ClipSpec& s) {
  std::ostringstream cmd;
  cmd << "ffmpeg -y -v error ";
  if (!s.audio_only) {
    // A variable rate comes from dropping every third frame of a 60 fps stream.
    cmd << "-f rawvideo -pix_fmt yuv420p -s " << s.width << "x" << s.height << " -framerate "
        << (s.variable_rate ? "60" : s.fps) << " -i - ";
  }
  if (s.audio_seconds > 0) {
    cmd << "-f lavfi -i sine=frequency=440:sample_rate=48000:duration=" << s.audio_seconds << " ";
  }
  if (!s.audio_only) {
    cmd << "-map 0:v ";
    if (s.audio_seconds > 0) cmd << "-map 1:a -c:a aac -b:a 96k ";
    cmd << "-c:v libx264 -preset veryfast -pix_fmt " << s.pix_fmt << " -bf " << s.bframes << " -g " << s.keyint
        << " -keyint_min " << s.keyint << " -sc_threshold 0";
    if (s.open_gop) cmd << " -x264-params open-gop=1";
    if (s.variable_rate) {
      cmd << " -vf \"select='not(eq(mod(n,3),1))'\" -fps_mode vfr";
    }
  } else {
    cmd << "-c:a aac ";
  }
  if (s.start_offset != 0) cmd << " -output_ts_offset " << s.start_offset;
  cmd << " " << s.extra_args << " " << shell_quote(path.string());
  signal(SIGPIPE, SIG_IGN);  // a failing ffmpeg must give an error, not kill the test
  FILE* pipe = popen(cmd.str().c_str(), "w");
  if (!pipe) throw std::runtime_error("cannot start ffmpeg");
  if (!s.audio_only) {
    const int w = s.width, h = s.height, cw = (w + 1) / 2, ch = (h + 1) / 2;
    std::vector<uint8_t> frame(static_cast<size_t>(w) * h + 2 * static_cast<size_t>(cw) * ch, 128);
    for (int i = 0; i < s.frames; ++i) {
      draw_barcode(frame.data(), w, w, h, i);
      if (fwrite(frame.data(), 1, frame.size(), pipe) != frame.size()) break;
    }
  }
  const int status = pclose(pipe);
  if (status != 0 || !fs::exists(path)) throw std::runtime_error("ffmpeg failed making " + path.string() + ": " + cmd.str());
}

std::vector<double> probe_frame_times(const fs::path& path) {
  const CommandResult r = run_command("ffprobe -v error -select_streams v:0 -show_entries frame=pts_time,best_effort_timestamp_time -of csv=p=0 " +
                                      shell_quote(path.string()), false);
  std::vector<double> times;
  std::istringstream in(r.output);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::string first = line.substr(0, line.find(','));
    if (first.empty() || first == "N/A") first = line.substr(line.find(',') + 1);
    times.push_back(std::stod(first));
  }
  return times;
}

double probe_video_end(const fs::path& path) {
  const CommandResult r = run_command("ffprobe -v error -select_streams v:0 -show_entries packet=pts_time,duration_time -of csv=p=0 " +
                                      shell_quote(path.string()), false);
  std::istringstream in(r.output);
  std::string line;
  double end = 0;
  while (std::getline(in, line)) {
    double pts = 0, duration = 0;
    if (std::sscanf(line.c_str(), "%lf,%lf", &pts, &duration) >= 1) end = std::max(end, pts + duration);
  }
  return end;
}

DecodedVideo decode_gray(const fs::path& path) {
  DecodedVideo v;
  const CommandResult dims = run_command("ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0 " +
                                         shell_quote(path.string()), false);
  if (std::sscanf(dims.output.c_str(), "%d,%d", &v.width, &v.height) != 2) {
    throw std::runtime_error("cannot read dimensions of " + path.string() + ": " + dims.output);
  }
  const std::string cmd = "ffmpeg -v error -i " + shell_quote(path.string()) +
                          " -map 0:v:0 -fps_mode passthrough -f rawvideo -pix_fmt gray -";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot start ffmpeg");
  const size_t size = static_cast<size_t>(v.width) * v.height;
  std::vector<uint8_t> frame(size);
  while (fread(frame.data(), 1, size, pipe) == size) v.frames.push_back(frame);
  pclose(pipe);
  v.pts = probe_frame_times(path);
  return v;
}

std::vector<int64_t> read_indices(const DecodedVideo& video, int grid_width, int grid_height) {
  std::vector<int64_t> out;
  for (const auto& f : video.frames) out.push_back(read_barcode(f.data(), video.width, grid_width, grid_height));
  return out;
}

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(std::max<int64_t>(0, n)));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i;
  return v;
}

int64_t ffprobe_packet_count(const fs::path& path) {
  const CommandResult r = run_command("ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 " +
                                      shell_quote(path.string()), false);
  return std::stoll(r.output);
}

void make_flash_beep_clip(const fs::path& path, double seconds, int flash_every) {
  const double every = flash_every / 30.0;
  std::ostringstream cmd;
  cmd << "ffmpeg -v error -y -f lavfi -i \"color=c=black:s=160x90:r=30:d=" << seconds
      << ",drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='eq(mod(n\\," << flash_every << ")\\,0)'\" "
      << "-f lavfi -i \"aevalsrc='0.7*if(lt(mod(t+1e-9\\," << every << ")\\,0.05)\\,sin(2*PI*1000*t)\\,0)"
      << "+0.05*sin(2*PI*220*t)+0.03*(random(0)-0.5)':s=48000:d=" << seconds << "\" "
      << "-c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 30 -c:a flac -shortest " << shell_quote(path.string());
  const CommandResult r = run_command(cmd.str());
  if (r.status != 0) throw std::runtime_error("ffmpeg failed making " + path.string() + ": " + r.output);
}

std::vector<float> decode_audio_mono(const fs::path& path, int rate) {
  const std::string cmd = "ffmpeg -v error -i " + shell_quote(path.string()) + " -map 0:a:0 -f f32le -ac 1 -ar " +
                          std::to_string(rate) + " -";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot start ffmpeg");
  std::vector<float> samples;
  float block[4096];
  size_t n = 0;
  while ((n = fread(block, sizeof(float), 4096, pipe)) > 0) samples.insert(samples.end(), block, block + n);
  pclose(pipe);
  return samples;
}

std::vector<double> level_onsets(const std::vector<float>& samples, int rate, float level) {
  std::vector<double> out;
  const size_t gap = static_cast<size_t>(rate / 20);
  size_t quiet = gap;
  for (size_t i = 0; i < samples.size(); ++i) {
    if (std::fabs(samples[i]) > level) {
      if (quiet >= gap) out.push_back(static_cast<double>(i) / rate);
      quiet = 0;
    } else {
      ++quiet;
    }
  }
  return out;
}

double decoded_audio_seconds(const fs::path& path) {
  const CommandResult r = run_command("ffmpeg -v error -i " + shell_quote(path.string()) +
                                      " -map 0:a:0? -f s16le -ac 1 -ar 48000 - | wc -c", false);
  return std::stod(r.output) / 2.0 / 48000.0;
}

double psnr(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  double se = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    se += d * d;
  }
  const double mse = se / static_cast<double>(a.size());
  return mse == 0 ? 100.0 : 10.0 * std::log10(255.0 * 255.0 / mse);
}

std::string sha256_file(const fs::path& path) {
  const CommandResult r = run_command("sha256sum " + shell_quote(path.string()), false);
  return r.output.substr(0, 64);
}

std::vector<std::string> hidden_files(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name[0] == '.' || name.find(".part") != std::string::npos) out.push_back(name);
  }
  return out;
}

TempDir::TempDir() {
  const char* base = getenv("TMPDIR");
  std::string pattern = (fs::path(base ? base : "/tmp") / "reelscale-test-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace reelscale::testing
