// process/job_spec.h — the job spec (docs/jobs.md): parsing and validating the JSON
// the app sends (every unknown field and out-of-range value is an error naming the
// field and its bound), and checks of a spec against the probed source.
#pragma once

#include <array>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "media/audio.h"
#include "media/rational.h"
#include "media/timeline.h"
#include "process/keyframes.h"

namespace reelscale::media {
struct VideoProbe;
}

namespace reelscale::process {

enum class Endpoint { kCopy, kFraming, kOverlay, kFramingAi, kDetect };

// framing_ai: what the network sees of a crop larger than output / scale. kReduced shrinks
// it to output / scale first (the network's cost is fixed by the output; detail is lost);
// kNative feeds the crop at its own size and resizes the network's output (Real-ESRGAN's
// own outscale rule; cost grows with the crop). docs/perf/quality.md measures both.
enum class SrInput { kReduced, kNative };
Endpoint parse_endpoint(const std::string& text);
const char* endpoint_name(Endpoint e);

// x, y, width, height of the crop, in source pixels.
using CropKeyframe = Keyframe<4>;
// x, y (centre), rx, ry (radii) of the highlight, in output pixels.
using HighlightKeyframe = Keyframe<4>;

struct OverlayStyle {
  double dim = 0.55;                         // how much the background darkens, 0..1
  double feather = 24;                       // soft edge width, pixels
  std::array<int, 3> ring_color{255, 214, 10};  // RGB
  double ring_width = 6;                     // pixels; 0: no ring
};

struct JobSpec {
  Endpoint endpoint = Endpoint::kFraming;
  std::string input;
  std::string output;
  int output_width = 810;
  int output_height = 1440;
  media::Rational fps{30, 1};
  bool fps_given = false;                    // false: framing defaults to 30, copy/overlay to the source's
  std::vector<CropKeyframe> crop_keyframes;
  Easing crop_easing = Easing::kLinear;
  std::vector<media::Segment> segments;
  std::vector<HighlightKeyframe> highlight_keyframes;
  Easing highlight_easing = Easing::kLinear;
  OverlayStyle style;
  std::string model = "realesr-animevideov3";
  SrInput sr_input = SrInput::kReduced;
  std::optional<double> detect_time;         // seconds from the first frame
  std::optional<int64_t> detect_frame;       // source frame index
  media::AudioMode audio = media::AudioMode::kAuto;
  std::string preset = "veryfast";
  int crf = 20;
  std::string encoder = "x264";              // x264, nvenc (the GPU's encoder; x264 where it has none), or auto (the plan's choice)
  int chunks = 0;                            // 0: let the planner choose (1 locally)
};

// Parses and validates. Throws Error(kBadInput) naming the field: "crop_keyframes[1].width
// must be > 0", "unknown field 'outptu'", ...
JobSpec parse_job_spec(const nlohmann::json& json);
JobSpec parse_job_spec_text(const std::string& text);
nlohmann::json to_json(const JobSpec& spec);

// Output rates a job may have, frames per second.
inline constexpr double kMinOutputFps = 1;
inline constexpr double kMaxOutputFps = 240;

// The output frame rate of a job — the one rule every path uses: the spec's fps when it
// gives one; else, for endpoints that keep the source's timing (copy, overlay), the
// source's nominal rate when it is constant and within [1, 240], else its average
// (rounded to whole frames per second when the rate varies); else the spec's default (30).
media::Rational output_fps(const JobSpec& spec, const media::VideoProbe& probe);

struct FrameSize {
  int width = 0;
  int height = 0;
};
// The size of a job's output frames: the spec's for framing and framing_ai, else the
// source as displayed (rotation applied) rounded down to even.
FrameSize output_size(const JobSpec& spec, const media::VideoProbe& probe);

// Checks the spec against its source: keyframe times within the output, crop
// rectangles inside the frame (clamped, with a warning returned), detect time/frame in
// range. Throws Error(kBadInput) for what cannot be fixed.
std::vector<std::string> check_against_source(JobSpec& spec, const media::VideoProbe& probe,
                                              const media::Timeline& timeline);

}  // namespace reelscale::process
