// exec/task.cpp — chunk task and result (de)serialisation.
#include "exec/task.h"

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace reelscale::exec {

using nlohmann::json;

namespace {

// An integer field of the task, checked before conversion: a JSON float or an
// out-of-range number is the sender's error, not undefined behaviour here.
int64_t integer(const json& v, const std::string& what, int64_t lo = INT64_MIN, int64_t hi = INT64_MAX) {
  if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))) {
    fail(ErrorKind::kBadInput, "the chunk task's " + what + " must be an integer");
  }
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) {
    fail(ErrorKind::kBadInput, "the chunk task's " + what + " is " + std::to_string(x) + ", outside [" +
                                   std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return x;
}

int small(const json& v, const std::string& what) { return static_cast<int>(integer(v, what, INT32_MIN, INT32_MAX)); }

int small_or(const json& j, const char* key, int fallback) { return j.contains(key) ? small(j.at(key), key) : fallback; }

std::vector<int64_t> integers(const json& v, const std::string& what) {
  if (!v.is_array()) fail(ErrorKind::kBadInput, "the chunk task's " + what + " must be an array of integers");
  std::vector<int64_t> out;
  out.reserve(v.size());
  for (const json& x : v) out.push_back(integer(x, what));
  return out;
}

}  // namespace

json to_json(const media::VideoProbe& p) {
  json audio = json::array();
  for (const auto& a : p.audio) {
    audio.push_back({{"index", a.index}, {"codec", a.codec}, {"sample_rate", a.sample_rate}, {"channels", a.channels},
                     {"time_base", a.time_base.to_string()}, {"start_seconds", a.start_seconds},
                     {"duration_seconds", a.duration_seconds}});
  }
  return {{"container", p.container}, {"codec", p.codec}, {"stream_index", p.stream_index}, {"width", p.width},
          {"height", p.height}, {"rotation", p.rotation}, {"pixel_format", p.pixel_format},
          {"frame_rate", p.frame_rate.to_string()}, {"average_frame_rate", p.average_frame_rate.to_string()},
          {"time_base", p.time_base.to_string()}, {"pts", p.pts}, {"keyframes", p.keyframes}, {"end_pts", p.end_pts},
          {"variable_frame_rate", p.variable_frame_rate}, {"container_frame_count", p.container_frame_count},
          {"file_bytes", p.file_bytes}, {"audio", audio}};
}

media::VideoProbe probe_from_json(const json& j) {
  media::VideoProbe p;
  p.container = j.at("container").get<std::string>();
  p.codec = j.at("codec").get<std::string>();
  p.stream_index = small(j.at("stream_index"), "probe.stream_index");
  p.width = small(j.at("width"), "probe.width");
  p.height = small(j.at("height"), "probe.height");
  p.rotation = small(j.at("rotation"), "probe.rotation");
  p.pixel_format = j.at("pixel_format").get<std::string>();
  p.frame_rate = media::parse_rational(j.at("frame_rate").get<std::string>());
  p.average_frame_rate = media::parse_rational(j.at("average_frame_rate").get<std::string>());
  p.time_base = media::parse_rational(j.at("time_base").get<std::string>());
  p.pts = integers(j.at("pts"), "probe.pts");
  p.keyframes = integers(j.at("keyframes"), "probe.keyframes");
  p.end_pts = integer(j.at("end_pts"), "probe.end_pts");
  p.variable_frame_rate = j.at("variable_frame_rate").get<bool>();
  p.container_frame_count = j.contains("container_frame_count") ? integer(j["container_frame_count"], "probe.container_frame_count") : 0;
  p.file_bytes = j.contains("file_bytes") ? integer(j["file_bytes"], "probe.file_bytes") : 0;
  for (const auto& a : j.value("audio", json::array())) {
    media::AudioStreamInfo info;
    info.index = small(a.at("index"), "probe.audio.index");
    info.codec = a.at("codec").get<std::string>();
    info.sample_rate = small(a.at("sample_rate"), "probe.audio.sample_rate");
    info.channels = small(a.at("channels"), "probe.audio.channels");
    info.time_base = media::parse_rational(a.at("time_base").get<std::string>());
    info.start_seconds = a.at("start_seconds").get<double>();
    info.duration_seconds = a.at("duration_seconds").get<double>();
    p.audio.push_back(info);
  }
  if (p.pts.empty() || p.keyframes.empty()) fail(ErrorKind::kBadInput, "the task's probe has no frames");
  return p;
}

media::EncoderSettings ChunkTaskSpec::encoder_settings() const {
  media::EncoderSettings e;
  e.fps = job.fps;
  e.preset = job.preset;
  e.crf = job.crf;
  e.threads = encoding.threads;
  e.gop = encoding.gop;
  e.codec = encoding.codec;
  return e;
}

json to_json(const ChunkTaskSpec& t) {
  return {{"task_id", t.task_id}, {"index", t.index}, {"job", process::to_json(t.job)}, {"probe", to_json(t.probe)},
          {"range", {t.range.begin, t.range.end}}, {"output", t.output},
          {"encoding", {{"threads", t.encoding.threads}, {"gop", t.encoding.gop}, {"codec", t.encoding.codec}}},
          {"deadline_s", t.deadline_s}};
}

ChunkTaskSpec task_from_json(const json& j) {
  try {
    if (!j.is_object()) fail(ErrorKind::kBadInput, "the chunk task must be a JSON object");
    ChunkTaskSpec t;
    t.task_id = j.at("task_id").get<std::string>();
    t.index = small(j.at("index"), "index");
    t.job = process::parse_job_spec(j.at("job"));
    if (!t.job.fps_given) fail(ErrorKind::kBadInput, "the chunk task's job has no output fps");
    t.probe = probe_from_json(j.at("probe"));
    t.range = {integer(j.at("range").at(0), "range"), integer(j.at("range").at(1), "range")};
    t.output = j.at("output").get<std::string>();
    const json& e = j.at("encoding");
    t.encoding.threads = small_or(e, "threads", 0);
    t.encoding.gop = small_or(e, "gop", 0);
    t.encoding.codec = e.value("codec", std::string("libx264"));
    t.deadline_s = j.value("deadline_s", 600.0);
    if (t.range.begin < 0 || t.range.end <= t.range.begin) fail(ErrorKind::kBadInput, "the task's range is empty");
    if (t.probe.frame_count() > media::kMaxProbeFrames || t.range.end - t.range.begin > media::kMaxProbeFrames) {
      fail(ErrorKind::kBadInput, "the task has more than " + std::to_string(media::kMaxProbeFrames) + " frames, the limit");
    }
    if (t.probe.width <= 0 || t.probe.height <= 0 || t.probe.width > media::kMaxProbeDimension ||
        t.probe.height > media::kMaxProbeDimension) {
      fail(ErrorKind::kBadInput, "the task's probe gives dimensions " + std::to_string(t.probe.width) + "x" +
                                     std::to_string(t.probe.height) + ", outside 1.." +
                                     std::to_string(media::kMaxProbeDimension));
    }
    t.encoder_settings().validate_options();
    return t;
  } catch (const json::exception& e) {
    fail(ErrorKind::kBadInput, std::string("malformed chunk task: ") + e.what());
  }
}

}  // namespace reelscale::exec
