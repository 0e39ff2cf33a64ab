// tests/support/test_media.h — helpers the tests share: running commands, making
// synthetic clips whose frames carry their own index as a barcode (encoded by the
// ffmpeg CLI, not by reelscale), and decoding outputs independently with the ffmpeg
// CLI to read those indices, timestamps and audio length back.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace reelscale::testing {

// Runs a shell command; returns its exit status and captures stdout (and stderr if asked).
struct CommandResult {
  int status = -1;
  std::string output;
};
CommandResult run_command(const std::string& command, bool merge_stderr = true);
std::string shell_quote(const std::string& text);
// The message of the exception `f` throws, or "no error".
std::string error_message(const std::function<void()>& f);

// --- barcodes -------------------------------------------------------------------
// Draws `index` into a grayscale/luma plane of width x height (top half: 24 blocks of
// 2 rows x 12 columns, 20 bits of index + 4 of check; bottom half: moving texture).
void draw_barcode(uint8_t* luma, int linesize, int width, int height, int64_t index);
// Reads the index back from a luma plane drawn for a grid of grid_width x grid_height
// (the plane may be cropped by a pixel). -1 when the check bits disagree.
int64_t read_barcode(const uint8_t* luma, int linesize, int grid_width, int grid_height);

// --- synthetic clips --------------------------------------------------------------
struct ClipSpec {
  int width = 192;
  int height = 108;
  int frames = 60;
  std::string fps = "30";
  int bframes = 3;
  int keyint = 30;
  bool open_gop = false;
  double start_offset = 0;     // seconds added to every timestamp
  bool variable_rate = false;  // 60 fps with every third frame dropped: intervals 1/30 s, 1/60 s
  double audio_seconds = 0;    // 0: no audio
  bool audio_only = false;
  std::string pix_fmt = "yuv420p";  // of the encoded clip (odd sizes need yuv444p)
  std::string extra_args;      // more ffmpeg output options
};
// Writes the clip with the ffmpeg CLI; throws std::runtime_error on failure.
void make_clip(const std::filesystem::path& path, const ClipSpec& spec);

// A/V sync clip: a white frame every `flash_every` frames at 30 fps on black, and a
// 50 ms 1 kHz beep starting at the same instants, over a quiet hum and noise (as a
// crowd would be). Matroska with FLAC, so the source itself is in sync to the sample.
void make_flash_beep_clip(const std::filesystem::path& path, double seconds, int flash_every);

// --- decoding with the ffmpeg CLI -------------------------------------------------
struct DecodedVideo {
  int width = 0;
  int height = 0;
  std::vector<std::vector<uint8_t>> frames;  // gray, width*height each
  std::vector<double> pts;                   // presentation times of the frames (s)
};
DecodedVideo decode_gray(const std::filesystem::path& path);
std::vector<int64_t> read_indices(const DecodedVideo& video, int grid_width, int grid_height);
// 0, 1, ..., n - 1: the indices a whole clip of n frames reads back as.
std::vector<int64_t> iota(int64_t n);
// The end of the last video frame (its pts plus its packet duration), from ffprobe.
double probe_video_end(const std::filesystem::path& path);
// Frame times from ffprobe, in presentation order.
std::vector<double> probe_frame_times(const std::filesystem::path& path);
int64_t ffprobe_packet_count(const std::filesystem::path& path);
// The first audio stream decoded to mono float samples at `rate`.
std::vector<float> decode_audio_mono(const std::filesystem::path& path, int rate = 48000);
// Times (s) where |sample| first passes `level` after at least 50 ms below it: the
// starts of beeps.
std::vector<double> level_onsets(const std::vector<float>& samples, int rate, float level = 0.25f);
// Seconds of decoded audio (0 when the file has none).
double decoded_audio_seconds(const std::filesystem::path& path);
double psnr(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b);

std::string sha256_file(const std::filesystem::path& path);
// Files in a directory whose names start with '.' or contain ".part" (leftovers).
std::vector<std::string> hidden_files(const std::filesystem::path& dir);

// A fresh directory under the test temp dir, removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace reelscale::testing
