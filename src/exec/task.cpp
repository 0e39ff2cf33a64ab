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

json to_json(const ChunkTaskSpec& t) {
  return {{"task_id", t.task_id}, {"index", t.index}, {"job", process::to_json(t.job)}, {"input", t.input},
          {"probe", to_json(t.probe)}, {"fps", t.fps.to_string()}, {"range", {t.range.begin, t.range.end}},
          {"output", t.output},
          {"encoder", {{"preset", t.encoder.preset}, {"crf", t.encoder.crf}, {"threads", t.encoder.threads},
                       {"gop", t.encoder.gop}, {"codec", t.encoder.codec}}},
          {"deadline_s", t.deadline_s}};
}

ChunkTaskSpec task_from_json(const json& j) {
  try {
    ChunkTaskSpec t;
    t.task_id = j.at("task_id").get<std::string>();
    t.index = j.at("index").get<int>();
    t.job = process::parse_job_spec(j.at("job"));
    t.input = j.at("input").get<std::string>();
    t.probe = probe_from_json(j.at("probe"));
    t.fps = media::parse_rational(j.at("fps").get<std::string>());
    t.range = {j.at("range").at(0).get<int64_t>(), j.at("range").at(1).get<int64_t>()};
    t.output = j.at("output").get<std::string>();
    const json& e = j.at("encoder");
    t.encoder.preset = e.at("preset").get<std::string>();
    t.encoder.crf = e.at("crf").get<int>();
    t.encoder.threads = e.value("threads", 0);
    t.encoder.gop = e.value("gop", 0);
    t.encoder.codec = e.value("codec", std::string("libx264"));
    t.encoder.fps = t.fps;
    t.deadline_s = j.value("deadline_s", 600.0);
    if (t.range.begin < 0 || t.range.end <= t.range.begin) fail(ErrorKind::kBadInput, "the task's range is empty");
    return t;
  } catch (const json::exception& e) {
    fail(ErrorKind::kBadInput, std::string("malformed chunk task: ") + e.what());
  }
}

json to_json(const ChunkResult& r) {
  const ChunkStats& s = r.stats;
  return {{"index", r.index}, {"worker", r.worker}, {"output", r.output}, {"attempts", r.attempts},
          {"speculative", r.speculative}, {"frames", s.frames}, {"bytes", s.bytes},
          {"timings_s", {{"open", s.open_seconds}, {"preroll", s.preroll_seconds}, {"decode", s.decode_seconds},
                         {"process", s.process_seconds}, {"encode", s.encode_seconds}, {"chunk", s.total_seconds},
                         {"upload", r.upload_seconds}, {"task", r.task_seconds}, {"round_trip", r.round_trip_seconds}}},
          {"frames_decoded", s.reader.decoded}, {"frames_dropped", s.reader.dropped}, {"seeks", s.reader.seeks},
          {"input_bytes_read", r.input_bytes_read}, {"input_bytes", r.input_bytes}};
}

ChunkResult result_from_json(const json& j) {
  ChunkResult r;
  r.index = j.at("index").get<int>();
  r.worker = j.value("worker", "");
  r.output = j.value("output", "");
  r.attempts = j.value("attempts", 1);
  r.speculative = j.value("speculative", false);
  r.stats.frames = j.at("frames").get<int64_t>();
  r.stats.bytes = j.value("bytes", int64_t{0});
  const json& t = j.at("timings_s");
  r.stats.open_seconds = t.value("open", 0.0);
  r.stats.preroll_seconds = t.value("preroll", 0.0);
  r.stats.decode_seconds = t.value("decode", 0.0);
  r.stats.process_seconds = t.value("process", 0.0);
  r.stats.encode_seconds = t.value("encode", 0.0);
  r.stats.total_seconds = t.value("chunk", 0.0);
  r.upload_seconds = t.value("upload", 0.0);
  r.task_seconds = t.value("task", 0.0);
  r.round_trip_seconds = t.value("round_trip", 0.0);
  r.stats.reader.decoded = j.value("frames_decoded", int64_t{0});
  r.stats.reader.dropped = j.value("frames_dropped", int64_t{0});
  r.stats.reader.seeks = j.value("seeks", int64_t{0});
  r.input_bytes_read = j.value("input_bytes_read", int64_t{0});
  r.input_bytes = j.value("input_bytes", int64_t{0});
  return r;
}

}  // namespace reelscale::exec
