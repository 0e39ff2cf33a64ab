// exec/task.cpp — chunk task and result (de)serialisation.
#include "exec/task.h"

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_fields.h"

namespace reelscale::exec {

using nlohmann::json;

namespace {

// Integer fields are checked before conversion (common/json_fields): a JSON float or an
// out-of-range number is the sender's error, not undefined behaviour here.
const JsonFields kTask("chunk task field");

int small(const json& obj, const char* key, const std::string& field, std::optional<int64_t> fallback = std::nullopt) {
  return static_cast<int>(kTask.integer(obj, key, field, INT32_MIN, INT32_MAX, fallback));
}

int64_t wide(const json& obj, const char* key, const std::string& field) {
  return kTask.integer(obj, key, field, INT64_MIN, INT64_MAX);
}

std::vector<int64_t> integers(const json& obj, const char* key, const std::string& field) {
  const json& v = obj.at(key);
  if (!v.is_array()) kTask.bad(field, "must be an array of integers");
  std::vector<int64_t> out;
  out.reserve(v.size());
  for (const json& x : v) {
    if (!x.is_number_integer() || (x.is_number_unsigned() && x.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))) {
      kTask.bad(field, "must hold integers");
    }
    out.push_back(x.get<int64_t>());
  }
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
  p.stream_index = small(j, "stream_index", "probe.stream_index");
  p.width = small(j, "width", "probe.width");
  p.height = small(j, "height", "probe.height");
  p.rotation = small(j, "rotation", "probe.rotation");
  p.pixel_format = j.at("pixel_format").get<std::string>();
  p.frame_rate = media::parse_rational(j.at("frame_rate").get<std::string>());
  p.average_frame_rate = media::parse_rational(j.at("average_frame_rate").get<std::string>());
  p.time_base = media::parse_rational(j.at("time_base").get<std::string>());
  p.pts = integers(j, "pts", "probe.pts");
  p.keyframes = integers(j, "keyframes", "probe.keyframes");
  p.end_pts = wide(j, "end_pts", "probe.end_pts");
  p.variable_frame_rate = j.at("variable_frame_rate").get<bool>();
  p.container_frame_count = kTask.integer(j, "container_frame_count", "probe.container_frame_count", 0, INT64_MAX, 0);
  p.file_bytes = kTask.integer(j, "file_bytes", "probe.file_bytes", 0, INT64_MAX, 0);
  for (const auto& a : j.value("audio", json::array())) {
    media::AudioStreamInfo info;
    info.index = small(a, "index", "probe.audio.index");
    info.codec = a.at("codec").get<std::string>();
    info.sample_rate = small(a, "sample_rate", "probe.audio.sample_rate");
    info.channels = small(a, "channels", "probe.audio.channels");
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
  e.codec = job.encoder == "nvenc" ? media::kNvencCodec : encoding.codec;
  return e;
}

json to_json(const ChunkTaskSpec& t) {
  return {{"task_id", t.task_id}, {"index", t.index}, {"job", process::to_json(t.job)}, {"probe", to_json(t.probe)},
          {"range", {t.range.begin, t.range.end}}, {"output", t.output},
          {"encoding", {{"threads", t.encoding.threads}, {"gop", t.encoding.gop}, {"codec", t.encoding.codec}}},
          {"deadline_s", t.deadline_s}, {"cores", t.cores}};
}

ChunkTaskSpec task_from_json(const json& j) {
  try {
    if (!j.is_object()) fail(ErrorKind::kBadInput, "the chunk task must be a JSON object");
    ChunkTaskSpec t;
    t.task_id = j.at("task_id").get<std::string>();
    t.index = small(j, "index", "index");
    t.job = process::parse_job_spec(j.at("job"));
    if (!t.job.fps_given) fail(ErrorKind::kBadInput, "the chunk task's job has no output fps");
    t.probe = probe_from_json(j.at("probe"));
    const std::vector<int64_t> range = integers(j, "range", "range");
    if (range.size() != 2) kTask.bad("range", "must be [begin, end]");
    t.range = {range[0], range[1]};
    t.output = j.at("output").get<std::string>();
    const json& e = j.at("encoding");
    t.encoding.threads = small(e, "threads", "encoding.threads", 0);
    t.encoding.gop = small(e, "gop", "encoding.gop", 0);
    t.encoding.codec = e.value("codec", std::string("libx264"));
    t.deadline_s = j.value("deadline_s", 600.0);
    t.cores = static_cast<int>(kTask.integer(j, "cores", "cores", 0, 1024, 0));
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
