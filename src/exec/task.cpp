// exec/task.cpp — chunk task and result (de)serialisation.
#include "exec/task.h"

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace reelscale::exec {

using nlohmann::json;

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
  p.stream_index = j.at("stream_index").get<int>();
  p.width = j.at("width").get<int>();
  p.height = j.at("height").get<int>();
  p.rotation = j.at("rotation").get<int>();
  p.pixel_format = j.at("pixel_format").get<std::string>();
  p.frame_rate = media::parse_rational(j.at("frame_rate").get<std::string>());
  p.average_frame_rate = media::parse_rational(j.at("average_frame_rate").get<std::string>());
  p.time_base = media::parse_rational(j.at("time_base").get<std::string>());
  p.pts = j.at("pts").get<std::vector<int64_t>>();
  p.keyframes = j.at("keyframes").get<std::vector<int64_t>>();
  p.end_pts = j.at("end_pts").get<int64_t>();
  p.variable_frame_rate = j.at("variable_frame_rate").get<bool>();
  p.container_frame_count = j.value("container_frame_count", int64_t{0});
  p.file_bytes = j.value("file_bytes", int64_t{0});
  for (const auto& a : j.value("audio", json::array())) {
    media::AudioStreamInfo info;
    info.index = a.at("index").get<int>();
    info.codec = a.at("codec").get<std::string>();
    info.sample_rate = a.at("sample_rate").get<int>();
    info.channels = a.at("channels").get<int>();
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
    t.index = j.at("index").get<int>();
    t.job = process::parse_job_spec(j.at("job"));
    if (!t.job.fps_given) fail(ErrorKind::kBadInput, "the chunk task's job has no output fps");
    t.probe = probe_from_json(j.at("probe"));
    t.range = {j.at("range").at(0).get<int64_t>(), j.at("range").at(1).get<int64_t>()};
    t.output = j.at("output").get<std::string>();
    const json& e = j.at("encoding");
    t.encoding.threads = e.value("threads", 0);
    t.encoding.gop = e.value("gop", 0);
    t.encoding.codec = e.value("codec", std::string("libx264"));
    t.deadline_s = j.value("deadline_s", 600.0);
    if (t.range.begin < 0 || t.range.end <= t.range.begin) fail(ErrorKind::kBadInput, "the task's range is empty");
    if (t.probe.frame_count() > media::kMaxProbeFrames || t.range.end - t.range.begin > media::kMaxProbeFrames) {
      fail(ErrorKind::kBadInput, "the task has more than " + std::to_string(media::kMaxProbeFrames) + " frames, the limit");
    }
    if (t.probe.width <= 0 || t.probe.height <= 0 || t.probe.width > 16384 || t.probe.height > 16384) {
      fail(ErrorKind::kBadInput, "the task's probe gives dimensions " + std::to_string(t.probe.width) + "x" +
                                     std::to_string(t.probe.height) + ", outside 1..16384");
    }
    t.encoder_settings().validate_options();
    return t;
  } catch (const json::exception& e) {
    fail(ErrorKind::kBadInput, std::string("malformed chunk task: ") + e.what());
  }
}

}  // namespace reelscale::exec
