// process/job_spec.cpp — JSON job spec parsing and validation.
#include "process/job_spec.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/error.h"
#include "common/json_fields.h"
#include "media/probe.h"

namespace reelscale::process {

using nlohmann::json;

Endpoint parse_endpoint(const std::string& text) {
  if (text == "copy") return Endpoint::kCopy;
  if (text == "framing") return Endpoint::kFraming;
  if (text == "overlay") return Endpoint::kOverlay;
  if (text == "framing_ai") return Endpoint::kFramingAi;
  if (text == "detect") return Endpoint::kDetect;
  fail(ErrorKind::kBadInput, "unknown endpoint '" + text + "' (known: framing, overlay, framing_ai, detect, copy)");
}

const char* endpoint_name(Endpoint e) {
  switch (e) {
    case Endpoint::kCopy: return "copy";
    case Endpoint::kFraming: return "framing";
    case Endpoint::kOverlay: return "overlay";
    case Endpoint::kFramingAi: return "framing_ai";
    case Endpoint::kDetect: return "detect";
  }
  return "?";
}

namespace {

std::string num(double v) { return format_number(v); }

// Job-spec fields are named as such in messages: "job field crf is 60, outside [0, 51]".
const JsonFields kFields("job field");

[[noreturn]] void bad(const std::string& field, const std::string& what) { kFields.bad(field, what); }

void only_fields(const json& obj, const std::string& where, std::initializer_list<const char*> allowed) {
  kFields.only(obj, where, allowed);
}

double number(const json& obj, const std::string& key, const std::string& field, double lo, double hi,
              std::optional<double> fallback = std::nullopt) {
  return kFields.number(obj, key, field, lo, hi, fallback);
}

int integer(const json& obj, const std::string& key, const std::string& field, int lo, int hi, int fallback) {
  return static_cast<int>(kFields.integer(obj, key, field, lo, hi, fallback));
}

std::string text(const json& obj, const std::string& key, const std::string& field, const std::string& fallback,
                 bool required = false) {
  return required ? kFields.text(obj, key, field) : kFields.text(obj, key, field, fallback);
}

template <typename T>
T parse_named(const std::string& field, const std::string& value, T (*parser)(const std::string&)) {
  try {
    return parser(value);
  } catch (const Error& e) {
    bad(field, std::string("is invalid: ") + e.what());
  }
}

constexpr double kMaxTime = 24 * 3600;
constexpr double kMaxCoordinate = 1e5;
constexpr size_t kMaxKeyframes = 10000;          // per list
constexpr size_t kMaxSegments = 1000;
constexpr double kMaxOutputSeconds = 4 * 3600;   // what the segments may add up to

std::vector<Keyframe<4>> keyframes(const json& j, const std::string& name, const std::array<const char*, 4>& channels,
                                   const std::array<double, 4>& lows) {
  if (!j.is_array() || j.empty()) bad(name, "must be a non-empty array");
  if (j.size() > kMaxKeyframes) {
    bad(name, "has " + std::to_string(j.size()) + " entries, over the limit of " + std::to_string(kMaxKeyframes));
  }
  std::vector<Keyframe<4>> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string at = name + "[" + std::to_string(i) + "]";
    const json& k = j[i];
    if (!k.is_object()) bad(at, "must be an object");
    for (const auto& [key, value] : k.items()) {
      bool known = key == "time";
      for (const char* c : channels) known = known || key == c;
      if (!known) fail(ErrorKind::kBadInput, "unknown job field '" + at + "." + key + "'");
    }
    Keyframe<4> kf;
    kf.time = number(k, "time", at + ".time", 0, kMaxTime);
    for (size_t c = 0; c < 4; ++c) {
      kf.values[c] = number(k, channels[c], at + "." + channels[c], lows[c], kMaxCoordinate);
    }
    if (!out.empty() && kf.time < out.back().time) {
      bad(at + ".time", "is " + num(kf.time) + " s, earlier than the keyframe before it (" + num(out.back().time) + " s)");
    }
    out.push_back(kf);
  }
  return out;
}

std::array<int, 3> color(const json& j, const std::string& field) {
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (s.size() == 7 && s[0] == '#') {
      try {
        const long v = std::stol(s.substr(1), nullptr, 16);
        return {static_cast<int>((v >> 16) & 255), static_cast<int>((v >> 8) & 255), static_cast<int>(v & 255)};
      } catch (const std::exception&) {
      }
    }
    bad(field, "must be \"#rrggbb\" or [r, g, b]");
  }
  if (!j.is_array() || j.size() != 3) bad(field, "must be \"#rrggbb\" or [r, g, b]");
  std::array<int, 3> c{};
  for (int i = 0; i < 3; ++i) {
    if (!j[i].is_number_integer() || j[i].get<int>() < 0 || j[i].get<int>() > 255) {
      bad(field + "[" + std::to_string(i) + "]", "must be an integer in [0, 255]");
    }
    c[i] = j[i].get<int>();
  }
  return c;
}

void parse_destination(const json& j, JobSpec& s) {
  s.endpoint = parse_named("endpoint", text(j, "endpoint", "endpoint", "", true), parse_endpoint);
  s.input = text(j, "input", "input", "", true);
  if (s.input.empty()) bad("input", "must not be empty");
  s.output = text(j, "output", "output", "", s.endpoint != Endpoint::kDetect);
  if (s.endpoint != Endpoint::kDetect && s.output.empty()) bad("output", "must not be empty");
  s.output_width = integer(j, "output_width", "output_width", 16, 4096, s.output_width);
  s.output_height = integer(j, "output_height", "output_height", 16, 4096, s.output_height);
  if (s.output_width % 2) bad("output_width", "is " + std::to_string(s.output_width) + ", must be even");
  if (s.output_height % 2) bad("output_height", "is " + std::to_string(s.output_height) + ", must be even");
}

void parse_fps(const json& j, JobSpec& s) {
  if (!j.contains("fps")) return;
  const json& f = j.at("fps");
  if (f.is_string()) {
    s.fps = parse_named("fps", f.get<std::string>(), media::parse_rational);
  } else {
    const double d = number(j, "fps", "fps", 1, 120);
    s.fps = std::fabs(d - std::round(d)) < 1e-9 ? media::Rational{std::llround(d), 1}
                                                : media::Rational{std::llround(d * 1000), 1000}.reduced();
  }
  if (s.fps.to_double() < 1 || s.fps.to_double() > 120) bad("fps", "is " + s.fps.to_string() + ", outside [1, 120]");
  s.fps_given = true;
}

std::vector<media::Segment> parse_segments(const json& segs) {
  if (!segs.is_array()) bad("segments", "must be an array");
  if (segs.size() > kMaxSegments) {
    bad("segments", "has " + std::to_string(segs.size()) + " entries, over the limit of " + std::to_string(kMaxSegments));
  }
  std::vector<media::Segment> out;
  double output_seconds = 0;
  for (size_t i = 0; i < segs.size(); ++i) {
    const std::string at = "segments[" + std::to_string(i) + "]";
    if (!segs[i].is_object()) bad(at, "must be an object");
    only_fields(segs[i], at, {"start", "end", "speed"});
    media::Segment seg;
    seg.start = number(segs[i], "start", at + ".start", 0, kMaxTime);
    seg.end = number(segs[i], "end", at + ".end", 0, kMaxTime);
    seg.speed = number(segs[i], "speed", at + ".speed", media::kMinSpeed, media::kMaxSpeed, 1.0);
    if (seg.end <= seg.start) bad(at + ".end", "is " + num(seg.end) + ", must be after start " + num(seg.start));
    output_seconds += (seg.end - seg.start) / seg.speed;
    out.push_back(seg);
  }
  if (output_seconds > kMaxOutputSeconds) {
    bad("segments", "add up to " + num(output_seconds) + " s of output, over the limit of " + num(kMaxOutputSeconds) + " s");
  }
  return out;
}

void parse_motion(const json& j, JobSpec& s) {
  if (j.contains("crop_keyframes")) {
    s.crop_keyframes = keyframes(j.at("crop_keyframes"), "crop_keyframes", {"x", "y", "width", "height"},
                                 {-kMaxCoordinate, -kMaxCoordinate, 2, 2});
  }
  s.crop_easing = parse_named("crop_easing", text(j, "crop_easing", "crop_easing", "linear"), parse_easing);
  if (j.contains("segments")) s.segments = parse_segments(j.at("segments"));
  if (j.contains("highlight_keyframes")) {
    s.highlight_keyframes =
        keyframes(j.at("highlight_keyframes"), "highlight_keyframes", {"x", "y", "rx", "ry"}, {-kMaxCoordinate, -kMaxCoordinate, 1, 1});
  }
  s.highlight_easing = parse_named("highlight_easing", text(j, "highlight_easing", "highlight_easing", "linear"), parse_easing);
}

void parse_style(const json& j, JobSpec& s) {
  if (!j.contains("style")) return;
  const json& st = j.at("style");
  if (!st.is_object()) bad("style", "must be an object");
  only_fields(st, "style", {"dim", "feather", "ring_color", "ring_width"});
  s.style.dim = number(st, "dim", "style.dim", 0, 1, s.style.dim);
  s.style.feather = number(st, "feather", "style.feather", 0, 500, s.style.feather);
  s.style.ring_width = number(st, "ring_width", "style.ring_width", 0, 100, s.style.ring_width);
  if (st.contains("ring_color")) s.style.ring_color = color(st.at("ring_color"), "style.ring_color");
}

void parse_model_detect_and_encoding(const json& j, JobSpec& s) {
  s.model = text(j, "model", "model", s.model);
  const std::string sr_input = text(j, "sr_input", "sr_input", "reduced");
  if (sr_input != "reduced" && sr_input != "native") bad("sr_input", "'" + sr_input + "' is not reduced or native");
  s.sr_input = sr_input == "native" ? SrInput::kNative : SrInput::kReduced;
  if (j.contains("sr_input") && s.endpoint != Endpoint::kFramingAi) bad("sr_input", "is only for the framing_ai endpoint");
  if (s.model.empty()) bad("model", "must not be empty");
  if (j.contains("time")) s.detect_time = number(j, "time", "time", 0, kMaxTime);
  if (j.contains("frame")) {
    if (!j.at("frame").is_number_integer() || j.at("frame").get<int64_t>() < 0) bad("frame", "must be an integer >= 0");
    s.detect_frame = j.at("frame").get<int64_t>();
  }
  if (s.detect_time && s.detect_frame) bad("time", "and frame cannot both be given");
  s.audio = parse_named("audio", text(j, "audio", "audio", "auto"), media::parse_audio_mode);
  s.preset = text(j, "preset", "preset", s.preset);
  s.crf = integer(j, "crf", "crf", 0, 51, s.crf);
  s.encoder = text(j, "encoder", "encoder", s.encoder);
  if (s.encoder != "x264" && s.encoder != "nvenc" && s.encoder != "auto") {
    bad("encoder", "'" + s.encoder + "' is not x264, nvenc or auto");
  }
  s.chunks = integer(j, "chunks", "chunks", 0, 256, 0);
}

// Fields that belong to another endpoint are errors, not silently ignored.
void check_fields_fit_endpoint(const JobSpec& s) {
  if (s.endpoint == Endpoint::kOverlay && s.highlight_keyframes.empty()) bad("highlight_keyframes", "is required for overlay");
  if (s.endpoint != Endpoint::kOverlay && !s.highlight_keyframes.empty()) {
    bad("highlight_keyframes", "is only for the overlay endpoint");
  }
  if ((s.endpoint == Endpoint::kOverlay || s.endpoint == Endpoint::kCopy || s.endpoint == Endpoint::kDetect) &&
      !s.crop_keyframes.empty()) {
    bad("crop_keyframes", std::string("is not used by the ") + endpoint_name(s.endpoint) + " endpoint");
  }
  if (s.endpoint == Endpoint::kDetect && !s.segments.empty()) bad("segments", "is not used by the detect endpoint");
}

}  // namespace

JobSpec parse_job_spec(const json& j) {
  if (!j.is_object()) fail(ErrorKind::kBadInput, "the job spec must be a JSON object");
  only_fields(j, "", {"endpoint", "input", "output", "output_width", "output_height", "fps", "crop_keyframes",
                      "crop_easing", "segments", "highlight_keyframes", "highlight_easing", "style", "model", "time",
                      "frame", "audio", "preset", "crf", "encoder", "chunks", "sr_input"});
  JobSpec s;
  parse_destination(j, s);
  parse_fps(j, s);
  parse_motion(j, s);
  parse_style(j, s);
  parse_model_detect_and_encoding(j, s);
  check_fields_fit_endpoint(s);
  return s;
}

JobSpec parse_job_spec_text(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // a syntax error, or a number out of range
    fail(ErrorKind::kBadInput, std::string("the job spec is not valid JSON: ") + e.what());
  }
  return parse_job_spec(j);
}

json to_json(const JobSpec& s) {
  json j = {{"endpoint", endpoint_name(s.endpoint)}, {"input", s.input}};
  if (!s.output.empty()) j["output"] = s.output;
  if (s.endpoint == Endpoint::kFraming || s.endpoint == Endpoint::kFramingAi) {
    j["output_width"] = s.output_width;
    j["output_height"] = s.output_height;
  }
  if (s.fps_given) j["fps"] = s.fps.to_string();
  auto keys = [](const std::vector<Keyframe<4>>& ks, std::array<const char*, 4> names) {
    json a = json::array();
    for (const auto& k : ks) {
      json o = {{"time", k.time}};
      for (size_t c = 0; c < 4; ++c) o[names[c]] = k.values[c];
      a.push_back(o);
    }
    return a;
  };
  if (!s.crop_keyframes.empty()) {
    j["crop_keyframes"] = keys(s.crop_keyframes, {"x", "y", "width", "height"});
    j["crop_easing"] = easing_name(s.crop_easing);
  }
  if (!s.highlight_keyframes.empty()) {
    j["highlight_keyframes"] = keys(s.highlight_keyframes, {"x", "y", "rx", "ry"});
    j["highlight_easing"] = easing_name(s.highlight_easing);
    j["style"] = {{"dim", s.style.dim}, {"feather", s.style.feather}, {"ring_width", s.style.ring_width},
                  {"ring_color", s.style.ring_color}};
  }
  if (!s.segments.empty()) {
    json a = json::array();
    for (const auto& seg : s.segments) a.push_back({{"start", seg.start}, {"end", seg.end}, {"speed", seg.speed}});
    j["segments"] = a;
  }
  if (s.endpoint == Endpoint::kFramingAi) {
    j["model"] = s.model;
    j["sr_input"] = s.sr_input == SrInput::kNative ? "native" : "reduced";
  }
  if (s.detect_time) j["time"] = *s.detect_time;
  if (s.detect_frame) j["frame"] = *s.detect_frame;
  const char* audio[] = {"auto", "copy", "reencode", "drop"};
  j["audio"] = audio[static_cast<int>(s.audio)];
  j["preset"] = s.preset;
  j["crf"] = s.crf;
  if (s.encoder != "x264") j["encoder"] = s.encoder;
  if (s.chunks) j["chunks"] = s.chunks;
  return j;
}

media::Rational output_fps(const JobSpec& spec, const media::VideoProbe& probe) {
  if (spec.fps_given) return spec.fps;
  const bool keeps_source_timing = spec.endpoint == Endpoint::kCopy || spec.endpoint == Endpoint::kOverlay;
  if (!keeps_source_timing) return spec.fps;
  const double nominal = probe.frame_rate.to_double();
  if (!probe.variable_frame_rate && probe.frame_rate.valid() && nominal >= kMinOutputFps && nominal <= kMaxOutputFps) {
    return probe.frame_rate;
  }
  const double average = probe.average_frame_rate.to_double();
  if (probe.average_frame_rate.valid() && average >= kMinOutputFps && average <= kMaxOutputFps) {
    // A variable rate becomes its average rounded to whole frames per second.
    return probe.variable_frame_rate ? media::Rational{std::max<int64_t>(1, std::llround(average)), 1}
                                     : probe.average_frame_rate;
  }
  return spec.fps;
}

FrameSize output_size(const JobSpec& spec, const media::VideoProbe& probe) {
  if (spec.endpoint == Endpoint::kFraming || spec.endpoint == Endpoint::kFramingAi) {
    return {spec.output_width, spec.output_height};
  }
  return {probe.upright_width() & ~1, probe.upright_height() & ~1};
}

std::vector<std::string> check_against_source(JobSpec& s, const media::VideoProbe& probe, const media::Timeline& timeline) {
  std::vector<std::string> warnings;
  const double out_seconds = static_cast<double>(timeline.output_frame_count()) / timeline.fps().to_double();
  const int W = probe.upright_width();
  const int H = probe.upright_height();
  auto check_times = [&](const std::vector<Keyframe<4>>& ks, const std::string& name) {
    for (size_t i = 0; i < ks.size(); ++i) {
      if (ks[i].time > out_seconds + 1e-6) {
        bad(name + "[" + std::to_string(i) + "].time",
            "is " + num(ks[i].time) + " s, past the end of the output (" + num(out_seconds) + " s)");
      }
    }
  };
  check_times(s.crop_keyframes, "crop_keyframes");
  check_times(s.highlight_keyframes, "highlight_keyframes");
  for (size_t i = 0; i < s.crop_keyframes.size(); ++i) {
    auto& v = s.crop_keyframes[i].values;  // x, y, w, h
    const auto before = v;
    v[2] = std::min(v[2], static_cast<double>(W));
    v[3] = std::min(v[3], static_cast<double>(H));
    v[0] = std::clamp(v[0], 0.0, W - v[2]);
    v[1] = std::clamp(v[1], 0.0, H - v[3]);
    if (v != before) {
      warnings.push_back("crop_keyframes[" + std::to_string(i) + "] (" + num(before[0]) + ", " + num(before[1]) + ", " +
                         num(before[2]) + "x" + num(before[3]) + ") extends outside the " + std::to_string(W) + "x" +
                         std::to_string(H) + " source; clamped to (" + num(v[0]) + ", " + num(v[1]) + ", " + num(v[2]) +
                         "x" + num(v[3]) + ")");
    }
  }
  if (s.detect_time && *s.detect_time > probe.duration_seconds()) {
    bad("time", "is " + num(*s.detect_time) + " s, past the end of the source (" + num(probe.duration_seconds()) + " s)");
  }
  if (s.detect_frame && *s.detect_frame >= probe.frame_count()) {
    bad("frame", "is " + std::to_string(*s.detect_frame) + ", but the source has " + std::to_string(probe.frame_count()) +
                     " frames");
  }
  return warnings;
}

}  // namespace reelscale::process
