// record/job_record.cpp — the record's JSON form. Each struct lists its fields once
// (the *_fields functions); writing and reading both walk that list, so the two
// directions cannot drift apart.
#include "record/job_record.h"

#include <cmath>

#include <chrono>
#include <ctime>

#include "common/error.h"

namespace reelscale::record {

using nlohmann::json;

namespace {

// Walks the fields with a writer (const structs) or a reader (mutable ones).
template <class T, class F>
void timing_fields(T& t, F&& f) {
  f("open", t.open), f("preroll", t.preroll), f("decode", t.decode), f("process", t.process), f("encode", t.encode);
  f("chunk", t.chunk), f("upload", t.upload), f("task", t.task), f("round_trip", t.round_trip);
  f("queue", t.queue), f("boot", t.boot);
}

template <class T, class F>
void chunk_fields(T& c, F&& f) {
  f("index", c.index), f("begin", c.begin), f("end", c.end), f("worker", c.worker), f("output", c.output);
  f("attempts", c.attempts), f("speculative", c.speculative), f("frames", c.frames), f("bytes", c.bytes);
  f("frames_decoded", c.frames_decoded), f("frames_dropped", c.frames_dropped), f("seeks", c.seeks);
  f("frames_skipped", c.frames_skipped), f("input_bytes_read", c.input_bytes_read), f("input_bytes", c.input_bytes);
  f("billed_seconds", c.billed_seconds), f("frames_concealed", c.frames_concealed);
  f("concealed_at_s", c.concealed_at_s), f("start", c.start), f("cores", c.cores), f("encoder", c.encoder);
  f("encoder_note", c.encoder_note), f("timings_s", c.timings_s);
}

template <class T, class F>
void damage_fields(T& d, F&& f) {
  f("stream", d.stream), f("unit", d.unit), f("count", d.count), f("read", d.read), f("times_s", d.times_s);
}

template <class T, class F>
void plan_fields(T& p, F&& f) {
  f("platform_model", p.platform_model), f("hardware", p.hardware), f("chunks", p.chunks);
  f("forced_chunks", p.forced_chunks), f("feasible", p.feasible), f("concurrent", p.concurrent);
  f("threads_per_chunk", p.threads_per_chunk), f("warm_chunks", p.warm_chunks), f("core_seconds", p.core_seconds);
  f("chunk_frame_ms", p.chunk_frame_ms), f("chunk_speed_from", p.chunk_speed_from), f("encoder", p.encoder);
  f("container_cores", p.container_cores), f("cpu_side_share", p.cpu_side_share), f("cost_cores_usd", p.cost_cores_usd);
  f("cloud_equivalent_usd", p.cloud_equivalent_usd), f("local_speed", p.local_speed);
  f("reason", p.reason), f("wall_mean_s", p.wall_mean_s), f("wall_p90_s", p.wall_p90_s), f("cost_usd", p.cost_usd);
  f("breakdown_s", p.breakdown_s), f("wall_by_chunks_s", p.wall_by_chunks_s), f("profile_name", p.profile_name), f("profile_version", p.profile_version);
  f("note", p.note), f("policy", p.policy), f("policy_entry", p.policy_entry);
}

// Written only where a budget moved the plan; read where present.
template <class F>
void budget_move_fields(const PlanRecord& p, F&& f) {
  if (!p.budget_moved.empty()) f("budget_moved", p.budget_moved), f("budget_moved_from", p.budget_moved_from);
}
template <class F>
void budget_move_fields(PlanRecord& p, F&& f) {
  f("budget_moved", p.budget_moved), f("budget_moved_from", p.budget_moved_from);
}

template <class T, class F>
void choice_fields(T& c, F&& f) {
  f("hardware", c.hardware), f("chunks", c.chunks), f("container_cores", c.container_cores);
  f("wall_p90_s", c.wall_p90_s), f("cost_usd", c.cost_usd);
}

template <class T, class F>
void source_fields(T& s, F&& f) {
  f("width", s.width), f("height", s.height), f("rotation", s.rotation), f("codec", s.codec), f("frames", s.frames);
  f("seconds", s.seconds), f("bytes", s.bytes), f("audio", s.audio);
}

template <class T, class F>
void record_fields(T& r, F&& f) {
  f("schema_version", r.schema_version), f("job_id", r.job_id), f("endpoint", r.endpoint), f("model", r.model);
  f("preset", r.preset), f("network_input_factor", r.network_input_factor), f("network_share", r.network_share);
  f("content_decode_ms", r.content_decode_ms), f("content_encode_ms", r.content_encode_ms);
  f("preroll_frames", r.preroll_frames);
  f("input", r.input), f("output", r.output), f("executor", r.executor), f("hardware", r.hardware);
  f("started_at", r.started_at), f("started_unix_s", r.started_unix_s), f("source", r.source), f("frames", r.frames);
  f("fps", r.fps), f("output_width", r.output_width), f("output_height", r.output_height), f("chunks", r.chunks);
  f("chunk_results", r.chunk_results), f("timings_s", r.timings_s), f("output_bytes", r.output_bytes);
  f("audio", r.audio), f("warnings", r.warnings), f("damage", r.damage);
  f("workers_read_input_bytes", r.workers_read_input_bytes);
  f("store_requests", r.store_requests), f("store_retries", r.store_retries), f("attempts", r.attempts);
  f("billed_seconds", r.billed_seconds), f("cost_usd", r.cost_usd), f("idle_billed_seconds", r.idle_billed_seconds), f("core_seconds", r.core_seconds);
  f("billing_note", r.billing_note);
  f("cloud_equivalent_usd", r.cloud_equivalent_usd), f("outcome", r.outcome);
  f("error_kind", r.error_kind), f("error_message", r.error_message), f("result", r.result);
}

struct Writer {
  json& j;
  template <class V>
  void operator()(const char* key, const V& value) const {
    j[key] = value;
  }
};

// Reads present fields into the struct (absent ones keep their defaults); a field of the
// wrong type is an error naming it.
struct Reader {
  const json& j;
  std::string where;
  template <class V>
  void operator()(const char* key, V& value) const {
    if (!j.contains(key) || j[key].is_null()) return;
    try {
      value = j[key].get<V>();
    } catch (const json::exception&) {
      fail(ErrorKind::kBadInput, "job record field " + where + key + " has the wrong type");
    }
  }
};

void require_object(const json& j, const std::string& what) {
  if (!j.is_object()) fail(ErrorKind::kBadInput, what + " must be a JSON object");
}

}  // namespace

// nlohmann's hooks for the nested structs (found by argument-dependent lookup).
void to_json(json& j, const ChunkTimings& t) { timing_fields(t, Writer{j = json::object()}); }
void from_json(const json& j, ChunkTimings& t) {
  require_object(j, "timings_s");
  timing_fields(t, Reader{j, "timings_s."});
}
void to_json(json& j, const ChunkRecord& c) { chunk_fields(c, Writer{j = json::object()}); }
void from_json(const json& j, ChunkRecord& c) {
  require_object(j, "a chunk result");
  chunk_fields(c, Reader{j, "chunk_results[]."});
}
void to_json(json& j, const MediaDamage& d) { damage_fields(d, Writer{j = json::object()}); }
void from_json(const json& j, MediaDamage& d) {
  require_object(j, "damage[]");
  damage_fields(d, Reader{j, "damage[]."});
}
void to_json(json& j, const PlanChoice& c) { choice_fields(c, Writer{j = json::object()}); }
void from_json(const json& j, PlanChoice& c) {
  require_object(j, "plan.budget_moved_from");
  choice_fields(c, Reader{j, "plan.budget_moved_from."});
}
void to_json(json& j, const SourceSummary& s) { source_fields(s, Writer{j = json::object()}); }
void from_json(const json& j, SourceSummary& s) {
  require_object(j, "source");
  source_fields(s, Reader{j, "source."});
}

double rate_value(const std::string& rate) {
  try {
    const auto slash = rate.find('/');
    const double v = slash == std::string::npos ? std::stod(rate) : std::stod(rate.substr(0, slash)) / std::stod(rate.substr(slash + 1));
    return std::isfinite(v) && v > 0 ? v : 30;
  } catch (const std::exception&) {
    return 30;
  }
}

double JobRecord::total_seconds() const {
  auto it = timings_s.find("total");
  return it == timings_s.end() ? 0 : it->second;
}

json to_json(const ChunkRecord& chunk) { return chunk; }

ChunkRecord chunk_from_json(const json& j) { return j.get<ChunkRecord>(); }

json to_json(const PlanRecord& plan) {
  json j = json::object();
  plan_fields(plan, Writer{j});
  budget_move_fields(plan, Writer{j});
  return j;
}

PlanRecord plan_from_json(const json& j) {
  require_object(j, "plan");
  PlanRecord p;
  plan_fields(p, Reader{j, "plan."});
  budget_move_fields(p, Reader{j, "plan."});
  return p;
}

json to_json(const JobRecord& record) {
  json j = json::object();
  record_fields(record, Writer{j});
  j["plan"] = record.plan ? to_json(*record.plan) : json(nullptr);
  return j;
}

JobRecord record_from_json(const json& j) {
  require_object(j, "a job record");
  if (!j.contains("schema_version")) fail(ErrorKind::kBadInput, "job record field schema_version is required");
  JobRecord r;
  record_fields(r, Reader{j, ""});
  if (r.schema_version < 1 || r.schema_version > kSchemaVersion) {
    fail(ErrorKind::kBadInput, "job record schema_version " + std::to_string(r.schema_version) +
                                   " is not one this build reads (1.." + std::to_string(kSchemaVersion) + ")");
  }
  if (r.endpoint.empty()) fail(ErrorKind::kBadInput, "job record field endpoint is required");
  if (j.contains("plan") && !j["plan"].is_null()) r.plan = plan_from_json(j["plan"]);
  return r;
}

std::string utc_now_iso8601() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace reelscale::record
