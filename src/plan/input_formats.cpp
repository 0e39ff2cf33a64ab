// plan/input_formats.cpp — the planner's inputs as JSON: parsing, with errors that name
// the field, and serialising (profiles, prices, platforms, policies, thread scaling).
#include "plan/inputs.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/error.h"
#include "common/json_fields.h"
#include "infer/sr_architecture.h"

namespace reelscale::plan {

using nlohmann::json;

namespace {

// The planner's inputs name their fields plainly ("join.base_s is ...").
const JsonFields kFields("");

[[noreturn]] void bad(const std::string& field, const std::string& what) {
  kFields.bad(field, what);
}

void only(const json& j, const std::string& where, std::initializer_list<const char*> allowed) {
  kFields.only(j, where, allowed);
}

double num(const json& j, const char* key, const std::string& field, double lo, double hi,
           std::optional<double> fallback) {
  return kFields.number(j, key, field, lo, hi, fallback);
}

Provenance provenance(const json& j) {
  Provenance p;
  if (j.contains("source")) p.source = j["source"].get<std::string>();
  if (j.contains("date")) p.date = j["date"].get<std::string>();
  if (j.contains("measured")) p.measured_by_us = j["measured"].get<bool>();
  return p;
}

void put(json& j, const Provenance& p) {
  if (!p.source.empty()) j["source"] = p.source;
  if (!p.date.empty()) j["date"] = p.date;
  if (p.measured_by_us) j["measured"] = true;
}

// {"class": "T4", "node": "gpu1", "cores": 1, "cpu_quota": 0.2}
NodeOrigin parse_node_origin(const json& j, const std::string& f) {
  if (!j.is_object()) bad(f, "must be an object: {\"class\": ..., \"node\": ..., \"cores\": ..., \"cpu_quota\": ...}");
  only(j, f, {"class", "node", "cores", "cpu_quota"});
  NodeOrigin o;
  if (!j.contains("class") || !j["class"].is_string() || j["class"].get<std::string>().empty()) {
    bad(f + ".class", "is required: the cluster class the node belongs to");
  }
  o.cluster_class = j["class"].get<std::string>();
  if (j.contains("node") && j["node"].is_string()) o.node = j["node"].get<std::string>();
  o.cores = static_cast<int>(num(j, "cores", f + ".cores", 0, 1e5, 0.0));
  o.cpu_quota = num(j, "cpu_quota", f + ".cpu_quota", 0, 1e5, 0.0);
  return o;
}

// {"cores": 2, "alone": {"1": 1.7, "2": 1}, "concurrent": {"1": 1, "2": 1.6}}
ThreadScaling parse_scaling(const json& j, const std::string& f) {
  if (!j.is_object()) bad(f, "must be an object {\"cores\": N, \"alone\": {...}, \"concurrent\": {...}}");
  only(j, f, {"cores", "alone", "concurrent", "source", "date", "measured"});
  ThreadScaling s;
  s.cores = static_cast<int>(num(j, "cores", f + ".cores", 1, 4096, std::nullopt));
  for (const char* key : {"alone", "concurrent"}) {
    if (!j.contains(key)) continue;
    if (!j[key].is_object()) bad(f + "." + key, "must be an object of counts to relative times");
    for (const auto& [count, v] : j[key].items()) {
      int n = 0;
      try {
        n = std::stoi(count);
      } catch (const std::exception&) {
        bad(f + "." + key, "'" + count + "' is not a count");
      }
      if (n < 1 || !v.is_number() || v.get<double>() <= 0) bad(f + "." + key + "." + count, "must be a number > 0");
      (std::string(key) == "alone" ? s.alone : s.concurrent)[n] = v.get<double>();
    }
  }
  s.provenance = provenance(j);
  return s;
}

// {"serial_ms": 3.1, "parallel_ms": 25.6, "source": ..., "date": ..., "measured": true}
CpuCurve parse_cpu_curve(const json& j, const std::string& f) {
  if (!j.is_object()) bad(f, "must be an object: {\"serial_ms\": ..., \"parallel_ms\": ...}");
  only(j, f, {"serial_ms", "parallel_ms", "floor_ms", "source", "date", "measured"});
  CpuCurve c;
  c.serial_ms = num(j, "serial_ms", f + ".serial_ms", 0, 1e7, std::nullopt);
  c.parallel_ms = num(j, "parallel_ms", f + ".parallel_ms", 1e-6, 1e7, std::nullopt);
  c.floor_ms = num(j, "floor_ms", f + ".floor_ms", 0, 1e7, 0.0);
  c.provenance = provenance(j);
  return c;
}

json cpu_curve_json(const CpuCurve& c) {
  json j = {{"serial_ms", c.serial_ms}, {"parallel_ms", c.parallel_ms}, {"floor_ms", c.floor_ms}};
  put(j, c.provenance);
  return j;
}

json scaling_json(const ThreadScaling& s) {
  json alone = json::object(), concurrent = json::object();
  for (const auto& [n, v] : s.alone) alone[std::to_string(n)] = v;
  for (const auto& [n, v] : s.concurrent) concurrent[std::to_string(n)] = v;
  json j = {{"cores", s.cores}, {"alone", alone}, {"concurrent", concurrent}};
  put(j, s.provenance);
  return j;
}

}  // namespace

Profile parse_profile_fields(const json& j);

// A field of the wrong JSON type deep inside is a bad input, not a library exception.
Profile parse_profile(const json& j) {
  try {
    return parse_profile_fields(j);
  } catch (const json::exception& e) {
    fail(ErrorKind::kBadInput, "the profile has a field of the wrong type: " + std::string(e.what()));
  }
}

SetupCost parse_job_setup(const json& js) {
  if (!js.is_object()) bad("job_setup", "must be an object");
  only(js, "job_setup", {"base_s", "per_frame_s", "source", "date", "measured"});
  return {num(js, "base_s", "job_setup.base_s", 0, 1e4, 0.0),
          num(js, "per_frame_s", "job_setup.per_frame_s", 0, 10, 0.0), provenance(js)};
}

// One endpoint-on-hardware cell, `f` naming it in errors.
Cell parse_cell(const json& c, const std::string& f) {
  Cell cell;
  cell.frame_time.ms_at_reference = num(c, "ms_per_frame", f + ".ms_per_frame", 0, 1e7, std::nullopt);
  cell.frame_time.reference_pixels = num(c, "reference_pixels", f + ".reference_pixels", 1, 1e9, 810.0 * 1440.0);
  cell.frame_time.exponent = num(c, "pixel_exponent", f + ".pixel_exponent", 0, 3, 1.0);
  cell.frame_time.fixed_ms = num(c, "fixed_ms", f + ".fixed_ms", 0, 1e7, 0.0);
  cell.frame_time.ms_per_source_mpixel = num(c, "ms_per_source_mpixel", f + ".ms_per_source_mpixel", 0, 1e7, 0.0);
  cell.frame_time.network_ms = num(c, "network_ms", f + ".network_ms", 0, 1e7, 0.0);
  cell.frame_time.cpu_side_ms = num(c, "cpu_side_ms", f + ".cpu_side_ms", 0, 1e7, 0.0);
  if (c.contains("cpu_side_by_cores"))
    cell.frame_time.cpu_curve = parse_cpu_curve(c["cpu_side_by_cores"], f + ".cpu_side_by_cores");
  cell.frame_time.provenance = provenance(c);
  if (c.contains("stages")) cell.frame_time.stages = parse_frame_stages(c["stages"], f + ".stages");
  if (!c.contains("cold_start_s")) bad(f + ".cold_start_s", "is required");
  cell.cold_start_s = parse_distribution(c["cold_start_s"], f + ".cold_start_s");
  cell.warm_start_s = c.contains("warm_start_s") ? parse_distribution(c["warm_start_s"], f + ".warm_start_s")
                                                 : Distribution::constant(0.2);
  cell.start_s_per_source_mpixel = num(c, "start_s_per_source_mpixel", f + ".start_s_per_source_mpixel", 0, 1e3, 0.0);
  cell.warm_start_billed_s = num(c, "warm_start_billed_s", f + ".warm_start_billed_s", 0, 1e5, 0.0);
  if (c.contains("thread_scaling")) cell.scaling = parse_scaling(c["thread_scaling"], f + ".thread_scaling");
  if (c.contains("measured_on")) cell.measured_on = parse_node_origin(c["measured_on"], f + ".measured_on");
  if (c.contains("model")) {
    if (!c["model"].is_string() || !infer::is_known_architecture(c["model"].get<std::string>())) {
      bad(f + ".model",
          "must name a known network (realesr-animevideov3, realesr-general-x4v3, "
          "RealESRGAN_x4plus, "
          "RealESRGAN_x2plus)");
    }
    cell.model = c["model"].get<std::string>();
  }
  return cell;
}

Profile parse_profile_fields(const json& j) {
  if (!j.is_object()) fail(ErrorKind::kBadInput, "the profile must be a JSON object");
  only(j, "",
       {"name", "version", "source", "date", "measured", "endpoints", "orchestrator_start_s", "request_latency_s",
        "download_mb_per_s", "upload_mb_per_s", "whole_file_download", "preroll_s", "join", "cleanup_s", "job_setup",
        "source_mbit_per_s", "output_mbit_per_s", "transfer_source"});
  Profile p;
  p.name = j.value("name", "profile");
  if (j.contains("version")) {
    if (!j["version"].is_string()) bad("version", "must be a string");
    p.declared_version = j["version"].get<std::string>();
  }
  p.provenance = provenance(j);
  if (!j.contains("endpoints") || !j["endpoints"].is_object() || j["endpoints"].empty()) {
    bad("endpoints", "is required: {\"framing_ai\": {\"T4\": {...}}, ...}");
  }
  for (const auto& [endpoint, hws] : j["endpoints"].items()) {
    if (!hws.is_object()) bad("endpoints." + endpoint, "must be an object of hardware types");
    for (const auto& [hw, c] : hws.items()) {
      const std::string f = "endpoints." + endpoint + "." + hw;
      if (!c.is_object()) bad(f, "must be an object");
      only(c, f,
           {"ms_per_frame", "reference_pixels", "pixel_exponent", "fixed_ms", "ms_per_source_mpixel", "cold_start_s",
            "warm_start_s", "start_s_per_source_mpixel", "thread_scaling", "model", "network_ms", "cpu_side_ms",
            "cpu_side_by_cores", "stages", "source", "date", "measured", "measured_on", "warm_start_billed_s"});
      p.cells[endpoint][hw] = parse_cell(c, f);
    }
  }
  auto dist = [&](const char* key, Distribution fallback) {
    return j.contains(key) ? parse_distribution(j[key], key) : fallback;
  };
  p.orchestrator_start_s = dist("orchestrator_start_s", Distribution::constant(1));
  p.request_latency_s = dist("request_latency_s", Distribution::constant(0.1));
  p.download_mb_per_s = num(j, "download_mb_per_s", "download_mb_per_s", 0.01, 1e5, 100.0);
  p.upload_mb_per_s = num(j, "upload_mb_per_s", "upload_mb_per_s", 0.01, 1e5, 50.0);
  if (j.contains("whole_file_download")) {
    if (!j["whole_file_download"].is_boolean()) bad("whole_file_download", "must be true or false");
    p.whole_file_download = j["whole_file_download"].get<bool>();
  }
  p.preroll_s = dist("preroll_s", Distribution::constant(0.3));
  if (j.contains("join")) {
    const json& jj = j["join"];
    if (!jj.is_object()) bad("join", "must be an object");
    only(jj, "join", {"base_s", "per_chunk_s", "per_gb_s", "source", "date", "measured"});
    p.join.base_s = num(jj, "base_s", "join.base_s", 0, 1e4, 0.0);
    p.join.per_chunk_s = num(jj, "per_chunk_s", "join.per_chunk_s", 0, 1e4, 0.0);
    p.join.per_gb_s = num(jj, "per_gb_s", "join.per_gb_s", 0, 1e5, 0.0);
    p.join.provenance = provenance(jj);
  }
  if (j.contains("job_setup")) {
    p.job_setup = parse_job_setup(j["job_setup"]);
  }
  p.cleanup_s = dist("cleanup_s", Distribution::constant(0.2));
  p.source_mbit_per_s = num(j, "source_mbit_per_s", "source_mbit_per_s", 0.01, 1e4, 10.0);
  p.output_mbit_per_s_at_reference = num(j, "output_mbit_per_s", "output_mbit_per_s", 0.01, 1e4, 8.0);
  if (j.contains("transfer_source")) p.transfer_provenance.source = j["transfer_source"].get<std::string>();
  return p;
}

json to_json(const Profile& p) {
  json j = {{"name", p.name}};
  if (!p.declared_version.empty()) j["version"] = p.declared_version;
  put(j, p.provenance);
  json endpoints = json::object();
  for (const auto& [e, hws] : p.cells) {
    for (const auto& [hw, c] : hws) {
      json cj = {{"ms_per_frame", c.frame_time.ms_at_reference}, {"reference_pixels", c.frame_time.reference_pixels},
                 {"pixel_exponent", c.frame_time.exponent},      {"fixed_ms", c.frame_time.fixed_ms},
                 {"cold_start_s", to_json(c.cold_start_s)},      {"warm_start_s", to_json(c.warm_start_s)}};
      put(cj, c.frame_time.provenance);
      if (c.scaling.cores > 0) cj["thread_scaling"] = scaling_json(c.scaling);
      if (!c.model.empty()) cj["model"] = c.model;
      if (c.frame_time.ms_per_source_mpixel > 0) cj["ms_per_source_mpixel"] = c.frame_time.ms_per_source_mpixel;
      if (c.start_s_per_source_mpixel > 0) cj["start_s_per_source_mpixel"] = c.start_s_per_source_mpixel;
      if (c.warm_start_billed_s > 0) cj["warm_start_billed_s"] = c.warm_start_billed_s;
      if (c.frame_time.network_ms > 0) cj["network_ms"] = c.frame_time.network_ms;
      if (c.frame_time.cpu_side_ms > 0) cj["cpu_side_ms"] = c.frame_time.cpu_side_ms;
      if (c.frame_time.cpu_curve.known()) cj["cpu_side_by_cores"] = cpu_curve_json(c.frame_time.cpu_curve);
      if (c.frame_time.stages.known()) cj["stages"] = to_json(c.frame_time.stages);
      if (c.measured_on.known()) {
        cj["measured_on"] = {{"class", c.measured_on.cluster_class},
                             {"node", c.measured_on.node},
                             {"cores", c.measured_on.cores},
                             {"cpu_quota", c.measured_on.cpu_quota}};
      }
      endpoints[e][hw] = cj;
    }
  }
  j["endpoints"] = endpoints;
  j["orchestrator_start_s"] = to_json(p.orchestrator_start_s);
  j["request_latency_s"] = to_json(p.request_latency_s);
  j["download_mb_per_s"] = p.download_mb_per_s;
  j["upload_mb_per_s"] = p.upload_mb_per_s;
  j["whole_file_download"] = p.whole_file_download;
  j["preroll_s"] = to_json(p.preroll_s);
  json jj = {{"base_s", p.join.base_s}, {"per_chunk_s", p.join.per_chunk_s}, {"per_gb_s", p.join.per_gb_s}};
  put(jj, p.join.provenance);
  j["join"] = jj;
  j["cleanup_s"] = to_json(p.cleanup_s);
  if (p.job_setup.base_s > 0 || p.job_setup.per_frame_s > 0) {
    json js = {{"base_s", p.job_setup.base_s}, {"per_frame_s", p.job_setup.per_frame_s}};
    put(js, p.job_setup.provenance);
    j["job_setup"] = js;
  }
  j["source_mbit_per_s"] = p.source_mbit_per_s;
  j["output_mbit_per_s"] = p.output_mbit_per_s_at_reference;
  if (!p.transfer_provenance.source.empty()) j["transfer_source"] = p.transfer_provenance.source;
  return j;
}

PriceTable parse_prices_fields(const json& j);

// A field of the wrong JSON type deep inside is a bad input, not a library exception.
PriceTable parse_prices(const json& j) {
  try {
    return parse_prices_fields(j);
  } catch (const json::exception& e) {
    fail(ErrorKind::kBadInput, "the price table has a field of the wrong type: " + std::string(e.what()));
  }
}

PriceTable parse_prices_fields(const json& j) {
  if (!j.is_object()) fail(ErrorKind::kBadInput, "the price table must be a JSON object");
  only(j, "",
       {"currency", "source", "date", "measured", "gpu_per_second", "cpu_core_per_second", "memory_gib_per_second",
        "gpu_container_cores", "gpu_container_memory_gib", "cpu_container_cores", "cpu_container_memory_gib",
        "gpu_container_core_options", "orchestrator_cores", "orchestrator_memory_gib"});
  PriceTable p;
  p.currency = j.value("currency", "USD");
  p.provenance = provenance(j);
  if (!j.contains("gpu_per_second") || !j["gpu_per_second"].is_object())
    bad("gpu_per_second", "is required: {\"T4\": 0.000164, ...}");
  for (const auto& [hw, v] : j["gpu_per_second"].items()) {
    if (!v.is_number() || v.get<double>() < 0) bad("gpu_per_second." + hw, "must be a number >= 0");
    p.gpu_per_second[hw] = v.get<double>();
  }
  p.cpu_core_per_second = num(j, "cpu_core_per_second", "cpu_core_per_second", 0, 1, std::nullopt);
  p.memory_gib_per_second = num(j, "memory_gib_per_second", "memory_gib_per_second", 0, 1, std::nullopt);
  p.gpu_container_cores = num(j, "gpu_container_cores", "gpu_container_cores", 0, 512, p.gpu_container_cores);
  if (j.contains("gpu_container_core_options")) {
    const json& o = j["gpu_container_core_options"];
    if (!o.is_array() || o.empty()) bad("gpu_container_core_options", "must be a non-empty array of core counts");
    for (const json& v : o) {
      if (!v.is_number() || v.get<double>() < 0.125 || v.get<double>() > 512) {
        bad("gpu_container_core_options", "holds " + v.dump() + ", not a core count in [0.125, 512]");
      }
      p.gpu_container_core_options.push_back(v.get<double>());
    }
  }
  p.gpu_container_memory_gib =
      num(j, "gpu_container_memory_gib", "gpu_container_memory_gib", 0, 4096, p.gpu_container_memory_gib);
  p.cpu_container_cores = num(j, "cpu_container_cores", "cpu_container_cores", 0.125, 512, p.cpu_container_cores);
  p.cpu_container_memory_gib =
      num(j, "cpu_container_memory_gib", "cpu_container_memory_gib", 0, 4096, p.cpu_container_memory_gib);
  p.orchestrator_cores = num(j, "orchestrator_cores", "orchestrator_cores", 0, 512, p.orchestrator_cores);
  p.orchestrator_memory_gib =
      num(j, "orchestrator_memory_gib", "orchestrator_memory_gib", 0, 4096, p.orchestrator_memory_gib);
  return p;
}

json to_json(const PriceTable& p) {
  json j = {{"currency", p.currency},
            {"gpu_per_second", p.gpu_per_second},
            {"cpu_core_per_second", p.cpu_core_per_second},
            {"memory_gib_per_second", p.memory_gib_per_second},
            {"gpu_container_cores", p.gpu_container_cores},
            {"gpu_container_memory_gib", p.gpu_container_memory_gib},
            {"cpu_container_cores", p.cpu_container_cores},
            {"cpu_container_memory_gib", p.cpu_container_memory_gib},
            {"orchestrator_cores", p.orchestrator_cores},
            {"orchestrator_memory_gib", p.orchestrator_memory_gib}};
  if (!p.gpu_container_core_options.empty()) j["gpu_container_core_options"] = p.gpu_container_core_options;
  put(j, p.provenance);
  return j;
}

Platform parse_platform_fields(const json& j);

// A field of the wrong JSON type deep inside is a bad input, not a library exception.
Platform parse_platform(const json& j) {
  try {
    return parse_platform_fields(j);
  } catch (const json::exception& e) {
    fail(ErrorKind::kBadInput, "the platform has a field of the wrong type: " + std::string(e.what()));
  }
}

Platform parse_platform_fields(const json& j) {
  if (!j.is_object()) fail(ErrorKind::kBadInput, "the platform must be a JSON object");
  only(j, "",
       {"kind", "slots", "cores", "local_speed", "billing_granularity_s", "minimum_billed_s", "scale_down_window_s",
        "max_containers", "warm_idle", "queue_wait_s", "idle_tail_share", "cold_starts_together"});
  const std::string kind = j.value("kind", "serverless");
  if (kind == "local") {
    Platform p = Platform::local(static_cast<int>(num(j, "slots", "slots", 1, 4096, std::nullopt)),
                                 static_cast<int>(num(j, "cores", "cores", 1, 4096, std::nullopt)));
    p.local_speed = num(j, "local_speed", "local_speed", 0.01, 100, 1.0);
    return p;
  }
  if (kind != "serverless") bad("kind", "'" + kind + "' is not serverless or local");
  Platform p;
  p.billing_granularity_s = num(j, "billing_granularity_s", "billing_granularity_s", 0.001, 3600, 1.0);
  p.minimum_billed_s = num(j, "minimum_billed_s", "minimum_billed_s", 0, 3600, 0.0);
  p.scale_down_window_s = num(j, "scale_down_window_s", "scale_down_window_s", 0, 86400, 60.0);
  p.max_containers = static_cast<int>(num(j, "max_containers", "max_containers", 1, 100000, 100.0));
  p.queue_wait_s = num(j, "queue_wait_s", "queue_wait_s", 0, 86400, 0.0);
  p.idle_tail_share = num(j, "idle_tail_share", "idle_tail_share", 0, 1, 1.0);
  if (j.contains("cold_starts_together")) {
    if (!j["cold_starts_together"].is_boolean()) bad("cold_starts_together", "must be true or false");
    p.cold_starts_together = j["cold_starts_together"].get<bool>();
  }
  if (j.contains("warm_idle")) {
    if (!j["warm_idle"].is_object()) bad("warm_idle", "must be an object {\"T4\": 2}");
    for (const auto& [hw, v] : j["warm_idle"].items()) {
      if (!v.is_number_integer() || v.get<int>() < 0) bad("warm_idle." + hw, "must be an integer >= 0");
      p.warm_idle[hw] = v.get<int>();
    }
  }
  return p;
}

json to_json(const ThreadScaling& s) {
  return scaling_json(s);
}

json to_json(const Platform& p) {
  if (p.is_local()) {
    return {{"kind", "local"}, {"slots", p.local_slots}, {"cores", p.local_cores}, {"local_speed", p.local_speed}};
  }
  return {{"kind", "serverless"},
          {"billing_granularity_s", p.billing_granularity_s},
          {"minimum_billed_s", p.minimum_billed_s},
          {"scale_down_window_s", p.scale_down_window_s},
          {"max_containers", p.max_containers},
          {"warm_idle", p.warm_idle},
          {"queue_wait_s", p.queue_wait_s},
          {"idle_tail_share", p.idle_tail_share},
          {"cold_starts_together", p.cold_starts_together}};
}

Policy parse_policy_fields(const json& j);

// A field of the wrong JSON type deep inside is a bad input, not a library exception.
Policy parse_policy(const json& j) {
  try {
    return parse_policy_fields(j);
  } catch (const json::exception& e) {
    fail(ErrorKind::kBadInput, "the policy has a field of the wrong type: " + std::string(e.what()));
  }
}

Policy parse_policy_fields(const json& j) {
  if (!j.is_object()) fail(ErrorKind::kBadInput, "the policy must be a JSON object");
  only(j, "",
       {"objective", "deadline_s", "budget_usd", "weight", "time_percentile", "max_parallel", "min_frames_per_chunk",
        "allowed_hardware", "adaptive", "reserve_cores"});
  Policy p;
  const std::string o = j.value("objective", "auto");
  if (o == "auto")
    p.objective = Objective::kAuto;
  else if (o == "fastest")
    p.objective = Objective::kFastest;
  else if (o == "cheapest_within_deadline")
    p.objective = Objective::kCheapestWithinDeadline;
  else if (o == "fastest_within_budget")
    p.objective = Objective::kFastestWithinBudget;
  else if (o == "balanced")
    p.objective = Objective::kBalanced;
  else
    bad("objective", "'" + o +
                         "' is not one of auto, fastest, cheapest_within_deadline, "
                         "fastest_within_budget, balanced");
  p.reserve_cores = static_cast<int>(num(j, "reserve_cores", "reserve_cores", 0, 4096, 0.0));
  p.deadline_s = num(j, "deadline_s", "deadline_s", 0.001, 1e7, p.deadline_s);
  p.budget_usd = num(j, "budget_usd", "budget_usd", 0, 1e6, p.budget_usd);
  p.weight = num(j, "weight", "weight", 0, 1, p.weight);
  const std::string pct = j.value("time_percentile", "p90");
  if (pct != "p90" && pct != "mean") bad("time_percentile", "'" + pct + "' is not p90 or mean");
  p.use_p90 = pct == "p90";
  p.max_parallel = static_cast<int>(num(j, "max_parallel", "max_parallel", 1, 1024, p.max_parallel));
  p.max_parallel_given = j.contains("max_parallel");
  p.min_frames_per_chunk =
      static_cast<int>(num(j, "min_frames_per_chunk", "min_frames_per_chunk", 1, 1e6, p.min_frames_per_chunk));
  if (j.contains("allowed_hardware")) {
    if (!j["allowed_hardware"].is_array()) bad("allowed_hardware", "must be an array of hardware names");
    for (const auto& h : j["allowed_hardware"]) p.allowed_hardware.push_back(h.get<std::string>());
  }
  if (j.contains("adaptive")) p.adaptive = j["adaptive"].get<bool>();
  return p;
}

json to_json(const Policy& p) {
  const char* o[] = {"auto", "fastest", "cheapest_within_deadline", "fastest_within_budget", "balanced"};
  return {{"objective", o[static_cast<int>(p.objective)]},
          {"reserve_cores", p.reserve_cores},
          {"deadline_s", p.deadline_s},
          {"budget_usd", p.budget_usd},
          {"weight", p.weight},
          {"time_percentile", p.use_p90 ? "p90" : "mean"},
          {"max_parallel", p.max_parallel},
          {"min_frames_per_chunk", p.min_frames_per_chunk},
          {"allowed_hardware", p.allowed_hardware},
          {"adaptive", p.adaptive}};
}

json read_json_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) fail(ErrorKind::kNotFound, "file not found: " + path);
  try {
    return json::parse(f);
  } catch (const json::exception& e) {  // a syntax error, or a number out of range
    fail(ErrorKind::kBadInput, path + " is not valid JSON: " + e.what());
  }
}

}  // namespace reelscale::plan
