// plan/inputs.cpp — parsing, serialising and the inherited defaults of the planner's inputs.
#include "plan/inputs.h"

#include "infer/sr_architecture.h"
#include "plan/builtin_local_cells.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/error.h"
#include "common/json_fields.h"

namespace reelscale::plan {

using nlohmann::json;

double FrameTime::ms(const FrameWork& work, int cores, int chunks_at_once) const {
  if (stages.known()) return stages.times(work, cores, chunks_at_once).frame_ms;
  return ms(work.output_pixels, work.network_factor, work.source_pixels / 1e6 * std::max(0.0, work.decoded_per_frame));
}

void FrameTime::scale(double k) {
  for (double* v : {&ms_at_reference, &fixed_ms, &ms_per_source_mpixel, &network_ms, &cpu_side_ms}) *v *= k;
  stages.scale(k);
}

double FrameTime::ms(double pixels, double network_factor, double source_mpixels_decoded) const {
  if (stages.known()) {
    FrameWork work;
    work.output_pixels = pixels;
    work.network_factor = network_factor;
    return stages.times(work).frame_ms;
  }
  const double ratio = std::max(1.0, pixels) / reference_pixels;
  const double scale = exponent == 1.0 ? ratio : exponent == 0.0 ? 1.0 : std::pow(ratio, exponent);
  if (network_ms > 0 && cpu_side_ms > 0) {
    return fixed_ms + scale * std::max(cpu_side_ms, network_ms * network_factor);
  }
  return fixed_ms + ms_at_reference * scale * network_factor + ms_per_source_mpixel * source_mpixels_decoded;
}

double ThreadScaling::factor(int k, int threads, int machine_cores) const {
  k = std::max(1, k);
  threads = std::max(1, threads);
  const int measured_on = cores > 0 ? cores : std::max(1, machine_cores);
  const auto alone_at = [&](int t) {
    auto it = alone.find(t);
    return it != alone.end() ? it->second : static_cast<double>(measured_on) / std::min(t, measured_on);
  };
  double contention = 1.0;
  if (auto it = concurrent.find(k); it != concurrent.end()) {
    contention = it->second / alone_at(std::max(1, measured_on / k));
  }
  return alone_at(threads) * contention;
}

Platform Platform::local(int slots, int cores) {
  Platform p;
  p.kind = PlatformKind::kLocal;
  p.local_slots = std::max(1, slots);
  p.local_cores = std::max(1, cores);
  p.max_containers = p.local_slots * 16;  // more chunks than slots queue for them
  p.scale_down_window_s = 0;
  p.billing_granularity_s = 0.001;
  return p;
}

Objective Policy::objective_for(const Platform& platform) const {
  if (objective != Objective::kAuto) return objective;
  return platform.is_local() ? Objective::kFastest : Objective::kCheapestWithinDeadline;
}

double JoinCost::seconds(int chunks, double bytes) const {
  if (chunks <= 1) return 0;
  return base_s + per_chunk_s * chunks + per_gb_s * bytes / 1e9;
}

const Cell& Profile::cell(const std::string& endpoint, const std::string& hardware) const {
  auto e = cells.find(endpoint);
  if (e == cells.end()) fail(ErrorKind::kBadInput, "the profile has no figures for endpoint '" + endpoint + "'");
  auto h = e->second.find(hardware);
  if (h == e->second.end()) {
    fail(ErrorKind::kBadInput, "the profile has no figures for " + endpoint + " on '" + hardware + "'");
  }
  return h->second;
}

double Profile::model_factor(const Cell& cell, const std::string& model) {
  const std::string measured = cell.model.empty() ? "realesr-animevideov3" : cell.model;
  if (model.empty() || model == measured) return 1.0;
  if (!infer::is_known_architecture(model) || !infer::is_known_architecture(measured)) return 1.0;
  return infer::architecture_by_name(model).macs_per_output_pixel() /
         infer::architecture_by_name(measured).macs_per_output_pixel();
}

std::string Profile::version() const {
  if (!declared_version.empty()) return declared_version;
  json j = to_json(*this);
  j.erase("version");
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char ch : j.dump()) h = (h ^ ch) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return std::string(buf).substr(0, 12);
}

bool Profile::has(const std::string& endpoint, const std::string& hardware) const {
  auto e = cells.find(endpoint);
  return e != cells.end() && e->second.count(hardware);
}

std::vector<std::string> Profile::hardware_for(const std::string& endpoint) const {
  std::vector<std::string> out;
  if (auto e = cells.find(endpoint); e != cells.end()) {
    for (const auto& [hw, c] : e->second) out.push_back(hw);
  }
  return out;
}

bool PriceTable::known(const std::string& hw) const { return hw == "CPU" || gpu_per_second.count(hw); }

double PriceTable::container_per_second(const std::string& hw) const {
  if (hw == "CPU") return cpu_container_cores * cpu_core_per_second + cpu_container_memory_gib * memory_gib_per_second;
  auto it = gpu_per_second.find(hw);
  if (it == gpu_per_second.end()) fail(ErrorKind::kBadInput, "the price table has no price for '" + hw + "'");
  return it->second + gpu_container_cores * cpu_core_per_second + gpu_container_memory_gib * memory_gib_per_second;
}

double PriceTable::orchestrator_per_second() const {
  return orchestrator_cores * cpu_core_per_second + orchestrator_memory_gib * memory_gib_per_second;
}

double Platform::billed(double seconds) const {
  const double g = billing_granularity_s > 0 ? billing_granularity_s : 1e-9;
  return std::max(minimum_billed_s, std::ceil(seconds / g - 1e-9) * g);
}

std::string Policy::describe() const {
  std::ostringstream os;
  switch (objective) {
    case Objective::kAuto: os << "fastest on local slots, else cheapest within a " << deadline_s << " s deadline"; break;
    case Objective::kFastest: os << "fastest"; break;
    case Objective::kCheapestWithinDeadline: os << "cheapest within a " << deadline_s << " s deadline"; break;
    case Objective::kFastestWithinBudget: os << "fastest within a $" << budget_usd << " budget"; break;
    case Objective::kBalanced: os << "balanced (cost weight " << weight << ")"; break;
  }
  os << (use_p90 ? ", time judged at p90" : ", time judged at the mean") << ", at most " << max_parallel
     << " containers, >= " << min_frames_per_chunk << " frames per chunk";
  if (adaptive) os << ", adaptive to the warm pool";
  if (reserve_cores > 0) os << ", " << reserve_cores << " core(s) left free on local slots";
  return os.str();
}

namespace {

// The planner's inputs name their fields plainly ("join.base_s is ...").
const JsonFields kFields("");

[[noreturn]] void bad(const std::string& field, const std::string& what) { kFields.bad(field, what); }

void only(const json& j, const std::string& where, std::initializer_list<const char*> allowed) {
  kFields.only(j, where, allowed);
}

double num(const json& j, const char* key, const std::string& field, double lo, double hi, std::optional<double> fallback) {
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
  return {num(js, "base_s", "job_setup.base_s", 0, 1e4, 0.0), num(js, "per_frame_s", "job_setup.per_frame_s", 0, 10, 0.0),
          provenance(js)};
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
  cell.frame_time.provenance = provenance(c);
  if (c.contains("stages")) cell.frame_time.stages = parse_frame_stages(c["stages"], f + ".stages");
  if (!c.contains("cold_start_s")) bad(f + ".cold_start_s", "is required");
  cell.cold_start_s = parse_distribution(c["cold_start_s"], f + ".cold_start_s");
  cell.warm_start_s = c.contains("warm_start_s") ? parse_distribution(c["warm_start_s"], f + ".warm_start_s")
                                                 : Distribution::constant(0.2);
  cell.start_s_per_source_mpixel =
      num(c, "start_s_per_source_mpixel", f + ".start_s_per_source_mpixel", 0, 1e3, 0.0);
  cell.warm_start_billed_s = num(c, "warm_start_billed_s", f + ".warm_start_billed_s", 0, 1e5, 0.0);
  if (c.contains("thread_scaling")) cell.scaling = parse_scaling(c["thread_scaling"], f + ".thread_scaling");
  if (c.contains("measured_on")) cell.measured_on = parse_node_origin(c["measured_on"], f + ".measured_on");
  if (c.contains("model")) {
    if (!c["model"].is_string() || !infer::is_known_architecture(c["model"].get<std::string>())) {
      bad(f + ".model", "must name a known network (realesr-animevideov3, realesr-general-x4v3, RealESRGAN_x4plus, "
                        "RealESRGAN_x2plus)");
    }
    cell.model = c["model"].get<std::string>();
  }
  return cell;
}

Profile parse_profile_fields(const json& j) {
  if (!j.is_object()) fail(ErrorKind::kBadInput, "the profile must be a JSON object");
  only(j, "", {"name", "version", "source", "date", "measured", "endpoints", "orchestrator_start_s", "request_latency_s",
               "download_mb_per_s", "upload_mb_per_s", "whole_file_download", "preroll_s", "join", "cleanup_s",
               "job_setup", "source_mbit_per_s", "output_mbit_per_s", "transfer_source"});
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
      only(c, f, {"ms_per_frame", "reference_pixels", "pixel_exponent", "fixed_ms", "ms_per_source_mpixel", "cold_start_s",
                  "warm_start_s", "start_s_per_source_mpixel", "thread_scaling", "model", "network_ms", "cpu_side_ms", "stages", "source", "date", "measured",
                  "measured_on", "warm_start_billed_s"});
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
                 {"pixel_exponent", c.frame_time.exponent}, {"fixed_ms", c.frame_time.fixed_ms},
                 {"cold_start_s", to_json(c.cold_start_s)}, {"warm_start_s", to_json(c.warm_start_s)}};
      put(cj, c.frame_time.provenance);
      if (c.scaling.cores > 0) cj["thread_scaling"] = scaling_json(c.scaling);
      if (!c.model.empty()) cj["model"] = c.model;
      if (c.frame_time.ms_per_source_mpixel > 0) cj["ms_per_source_mpixel"] = c.frame_time.ms_per_source_mpixel;
      if (c.start_s_per_source_mpixel > 0) cj["start_s_per_source_mpixel"] = c.start_s_per_source_mpixel;
      if (c.warm_start_billed_s > 0) cj["warm_start_billed_s"] = c.warm_start_billed_s;
      if (c.frame_time.network_ms > 0) cj["network_ms"] = c.frame_time.network_ms;
      if (c.frame_time.cpu_side_ms > 0) cj["cpu_side_ms"] = c.frame_time.cpu_side_ms;
      if (c.frame_time.stages.known()) cj["stages"] = to_json(c.frame_time.stages);
      if (c.measured_on.known()) {
        cj["measured_on"] = {{"class", c.measured_on.cluster_class}, {"node", c.measured_on.node},
                             {"cores", c.measured_on.cores}, {"cpu_quota", c.measured_on.cpu_quota}};
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
  only(j, "", {"currency", "source", "date", "measured", "gpu_per_second", "cpu_core_per_second", "memory_gib_per_second",
               "gpu_container_cores", "gpu_container_memory_gib", "cpu_container_cores", "cpu_container_memory_gib",
               "orchestrator_cores", "orchestrator_memory_gib"});
  PriceTable p;
  p.currency = j.value("currency", "USD");
  p.provenance = provenance(j);
  if (!j.contains("gpu_per_second") || !j["gpu_per_second"].is_object()) bad("gpu_per_second", "is required: {\"T4\": 0.000164, ...}");
  for (const auto& [hw, v] : j["gpu_per_second"].items()) {
    if (!v.is_number() || v.get<double>() < 0) bad("gpu_per_second." + hw, "must be a number >= 0");
    p.gpu_per_second[hw] = v.get<double>();
  }
  p.cpu_core_per_second = num(j, "cpu_core_per_second", "cpu_core_per_second", 0, 1, std::nullopt);
  p.memory_gib_per_second = num(j, "memory_gib_per_second", "memory_gib_per_second", 0, 1, std::nullopt);
  p.gpu_container_cores = num(j, "gpu_container_cores", "gpu_container_cores", 0, 512, p.gpu_container_cores);
  p.gpu_container_memory_gib = num(j, "gpu_container_memory_gib", "gpu_container_memory_gib", 0, 4096, p.gpu_container_memory_gib);
  p.cpu_container_cores = num(j, "cpu_container_cores", "cpu_container_cores", 0.125, 512, p.cpu_container_cores);
  p.cpu_container_memory_gib = num(j, "cpu_container_memory_gib", "cpu_container_memory_gib", 0, 4096, p.cpu_container_memory_gib);
  p.orchestrator_cores = num(j, "orchestrator_cores", "orchestrator_cores", 0, 512, p.orchestrator_cores);
  p.orchestrator_memory_gib = num(j, "orchestrator_memory_gib", "orchestrator_memory_gib", 0, 4096, p.orchestrator_memory_gib);
  return p;
}

json to_json(const PriceTable& p) {
  json j = {{"currency", p.currency}, {"gpu_per_second", p.gpu_per_second}, {"cpu_core_per_second", p.cpu_core_per_second},
            {"memory_gib_per_second", p.memory_gib_per_second}, {"gpu_container_cores", p.gpu_container_cores},
            {"gpu_container_memory_gib", p.gpu_container_memory_gib}, {"cpu_container_cores", p.cpu_container_cores},
            {"cpu_container_memory_gib", p.cpu_container_memory_gib}, {"orchestrator_cores", p.orchestrator_cores},
            {"orchestrator_memory_gib", p.orchestrator_memory_gib}};
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
  only(j, "", {"kind", "slots", "cores", "local_speed", "billing_granularity_s", "minimum_billed_s", "scale_down_window_s",
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

json to_json(const ThreadScaling& s) { return scaling_json(s); }

json to_json(const Platform& p) {
  if (p.is_local()) {
    return {{"kind", "local"}, {"slots", p.local_slots}, {"cores", p.local_cores}, {"local_speed", p.local_speed}};
  }
  return {{"kind", "serverless"}, {"billing_granularity_s", p.billing_granularity_s}, {"minimum_billed_s", p.minimum_billed_s},
          {"scale_down_window_s", p.scale_down_window_s}, {"max_containers", p.max_containers},
          {"warm_idle", p.warm_idle}, {"queue_wait_s", p.queue_wait_s}, {"idle_tail_share", p.idle_tail_share},
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
  only(j, "", {"objective", "deadline_s", "budget_usd", "weight", "time_percentile", "max_parallel",
               "min_frames_per_chunk", "allowed_hardware", "adaptive", "reserve_cores"});
  Policy p;
  const std::string o = j.value("objective", "auto");
  if (o == "auto") p.objective = Objective::kAuto;
  else if (o == "fastest") p.objective = Objective::kFastest;
  else if (o == "cheapest_within_deadline") p.objective = Objective::kCheapestWithinDeadline;
  else if (o == "fastest_within_budget") p.objective = Objective::kFastestWithinBudget;
  else if (o == "balanced") p.objective = Objective::kBalanced;
  else bad("objective", "'" + o + "' is not one of auto, fastest, cheapest_within_deadline, fastest_within_budget, balanced");
  p.reserve_cores = static_cast<int>(num(j, "reserve_cores", "reserve_cores", 0, 4096, 0.0));
  p.deadline_s = num(j, "deadline_s", "deadline_s", 0.001, 1e7, p.deadline_s);
  p.budget_usd = num(j, "budget_usd", "budget_usd", 0, 1e6, p.budget_usd);
  p.weight = num(j, "weight", "weight", 0, 1, p.weight);
  const std::string pct = j.value("time_percentile", "p90");
  if (pct != "p90" && pct != "mean") bad("time_percentile", "'" + pct + "' is not p90 or mean");
  p.use_p90 = pct == "p90";
  p.max_parallel = static_cast<int>(num(j, "max_parallel", "max_parallel", 1, 1024, p.max_parallel));
  p.max_parallel_given = j.contains("max_parallel");
  p.min_frames_per_chunk = static_cast<int>(num(j, "min_frames_per_chunk", "min_frames_per_chunk", 1, 1e6, p.min_frames_per_chunk));
  if (j.contains("allowed_hardware")) {
    if (!j["allowed_hardware"].is_array()) bad("allowed_hardware", "must be an array of hardware names");
    for (const auto& h : j["allowed_hardware"]) p.allowed_hardware.push_back(h.get<std::string>());
  }
  if (j.contains("adaptive")) p.adaptive = j["adaptive"].get<bool>();
  return p;
}

json to_json(const Policy& p) {
  const char* o[] = {"auto", "fastest", "cheapest_within_deadline", "fastest_within_budget", "balanced"};
  return {{"objective", o[static_cast<int>(p.objective)]}, {"reserve_cores", p.reserve_cores},
          {"deadline_s", p.deadline_s}, {"budget_usd", p.budget_usd},
          {"weight", p.weight}, {"time_percentile", p.use_p90 ? "p90" : "mean"}, {"max_parallel", p.max_parallel},
          {"min_frames_per_chunk", p.min_frames_per_chunk}, {"allowed_hardware", p.allowed_hardware},
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

// ---- defaults ------------------------------------------------------------------------

namespace {
Provenance from(const std::string& source, const std::string& date = "", bool ours = false) {
  return Provenance{source, date, ours};
}

Distribution with(Distribution d, const std::string& source, const std::string& date = "") {
  d.provenance = from(source, date);
  return d;
}
}  // namespace

Profile old_system_profile() {
  Profile p;
  p.name = "old-system";
  p.provenance = from("the old Python system's figures (issue 'planner'), estimates where it had none; it is "
                      "another system than reelscale's engine and is never compared with it");
  const std::string old_sys = "old system (Python, serverless GPUs)";
  const std::string est = "estimate, not measured";
  // GPU containers: boot + image pull + process + model load; the old system gave no split.
  const Distribution gpu_cold = with(Distribution::lognormal(10, 25), est + ": serverless GPU container start incl. model load");
  const Distribution warm = with(Distribution::constant(0.3), est + ": task on a running container, model loaded");
  auto cell = [&](double ms, const std::string& source, const Distribution& cold, bool ours = false) {
    Cell c;
    c.frame_time.ms_at_reference = ms;
    c.frame_time.provenance = from(source, ours ? "2026-11-27" : "", ours);
    c.cold_start_s = cold;
    c.warm_start_s = warm;
    return c;
  };
  // framing_ai, 810x1440 output.
  auto& ai = p.cells["framing_ai"];
  ai["T4"] = cell(681, old_sys + ": 180 frames in 122 s on T4, 681 ms/frame", gpu_cold);
  ai["L4"] = cell(1140, old_sys + ": 1.14 s/frame on L4", gpu_cold);
  // The old pipeline was not compute-bound (L4 measured slower than T4), so other GPUs are
  // scaled from T4 conservatively.
  const std::string scaled = est + ": T4 figure x ";
  ai["A10G"] = cell(681 * 0.6, scaled + "0.6", gpu_cold);
  ai["L40S"] = cell(681 * 0.35, scaled + "0.35", gpu_cold);
  ai["A100-40GB"] = cell(681 * 0.35, scaled + "0.35", gpu_cold);
  ai["A100-80GB"] = cell(681 * 0.33, scaled + "0.33", gpu_cold);
  ai["H100"] = cell(681 * 0.25, scaled + "0.25", gpu_cold);
  ai["H200"] = cell(681 * 0.23, scaled + "0.23", gpu_cold);
  ai["B200"] = cell(681 * 0.18, scaled + "0.18", gpu_cold);
  // overlay: ~20 ms/frame, CPU-bound, the same whatever the GPU. framing_ai ~25x overlay.
  for (const auto& [hw, c] : ai) {
    const Distribution& cold = gpu_cold;
    p.cells["overlay"][hw] = cell(20, old_sys + ": overlay about 20 ms/frame (CPU-bound)", cold);
    p.cells["framing"][hw] = cell(20, est + ": crop and scale assumed like overlay (the old system gave no figure)", cold);
    Cell d = cell(0, est + ": one small network call per frame", cold);
    d.frame_time.fixed_ms = 50;
    d.frame_time.exponent = 0;
    p.cells["detect"][hw] = d;
  }
  p.orchestrator_start_s = with(Distribution::uniform(2, 5), old_sys + ": orchestrator start 2-5 s");
  p.request_latency_s = with(Distribution::uniform(1, 3), old_sys + ": per-chunk download 1-3 s");
  p.whole_file_download = true;  // "every chunk downloaded the whole video"
  p.download_mb_per_s = 100;
  p.upload_mb_per_s = 50;
  p.transfer_provenance = from(est + ": 100 MB/s down, 50 MB/s up within the cloud region");
  p.preroll_s = with(Distribution::constant(0.5), est + ": seek and decode to the first frame");
  p.join.base_s = 5.0 - 2 * (10.0 / 6);
  p.join.per_chunk_s = 10.0 / 6;  // 5 s at 2 chunks, 15 s at 8
  p.join.provenance = from(old_sys + ": joining 5-15 s depending on chunk count");
  p.cleanup_s = with(Distribution::uniform(1, 2), old_sys + ": cleanup 1-2 s");
  return p;
}

namespace {

// Overheads of our engine on a serverless platform: a running orchestrator service, ranged
// reads, stream-copy joins; the platform's own figures (transfer, start-ups) estimated.
void job_wide_figures_of_our_engine(Profile& p) {
  const std::string est = "estimate, not measured";
  p.orchestrator_start_s = with(Distribution::constant(0.1), est + ": a running orchestrator service (process start "
                                                                   "measured 0.06 s)");
  p.request_latency_s = with(Distribution::uniform(0.02, 0.1), est + ": first byte of an S3 request in-region");
  p.whole_file_download = false;  // range reads: docs/perf/parallel.md
  p.download_mb_per_s = 100;
  p.upload_mb_per_s = 50;
  p.transfer_provenance = from(est + ": 100 MB/s down, 50 MB/s up within the cloud region; a chunk reads its ranges");
  p.preroll_s = Distribution::constant(0.1);
  p.preroll_s.provenance = from("measured by us: pre-roll of a chunk, GOP 60 at 1080p (docs/perf/media.md)", "2026-11-27", true);
  p.join = {0.1, 0.03, 0, from("measured by us: collect + join per chunk against S3 on loopback (docs/perf/parallel.md)",
                               "2026-11-27", true)};
  p.cleanup_s = with(Distribution::constant(0.2), est + ": deleting the chunk objects");
}

}  // namespace

namespace {

// Published dense fp16 tensor throughput (TFLOP/s, fp32 accumulate where the datasheet
// tells them apart, no sparsity) and memory bandwidth (GB/s) of each GPU type.
struct GpuSpec {
  double fp16_tflops;
  double memory_gb_s;
  const char* source;
};
const std::map<std::string, GpuSpec>& gpu_specs() {
  static const std::map<std::string, GpuSpec> specs = {
      {"T4", {65, 320, "NVIDIA T4 datasheet"}},
      {"L4", {121, 300, "NVIDIA L4 datasheet"}},
      {"A10G", {125, 600, "NVIDIA A10 datasheet (A10G is AWS's A10)"}},
      {"L40S", {362, 864, "NVIDIA L40S datasheet"}},
      {"A100-40GB", {312, 1555, "NVIDIA A100 datasheet"}},
      {"A100-80GB", {312, 2039, "NVIDIA A100 datasheet"}},
      {"H100", {989, 3350, "NVIDIA H100 SXM datasheet"}},
      {"H200", {989, 4800, "NVIDIA H200 datasheet"}},
      {"B200", {2250, 8000, "NVIDIA B200 datasheet"}},
  };
  return specs;
}

// The share of its dense fp16 peak PyTorch reaches on this network: a published fp16 run
// of SRVGGNetCompact x4 (animevideov3) took 98 ms per 3840x2160-input frame on an RTX
// 4090 (165 TFLOP/s dense fp16): 1.24 MFLOP x 8.29 M pixels / 0.098 s = 105 TFLOP/s.
constexpr double kNetworkEfficiency = 105.0 / 165.0;
// Bytes each 3x3 layer moves per input pixel in fp16: 64 channels in, 64 out.
constexpr double kBytesPerLayerPixel = 2.0 * (64 + 64);

// Our engine's network time on a GPU for an 810x1440 output frame, estimated: the larger of
// compute (the network's multiply-adds at the achieved share of the GPU's fp16 peak) and
// memory traffic at its bandwidth.
double network_ms_estimate(const GpuSpec& gpu, const std::string& model) {
  const infer::SrArchitecture arch = infer::architecture_by_name(model);
  const double out_pixels = 810.0 * 1440.0;
  const double in_pixels = out_pixels / (arch.scale * arch.scale);
  const double flops = 2.0 * arch.macs_per_input_pixel() * in_pixels;
  const double compute_s = flops / (gpu.fp16_tflops * 1e12 * kNetworkEfficiency);
  const int layers = arch.kind == infer::SrArchitecture::Kind::kCompact ? arch.num_conv + 2 : arch.num_block * 15 + 6;
  const double memory_s = layers * kBytesPerLayerPixel * in_pixels / (gpu.memory_gb_s * 1e9);
  return 1000.0 * std::max(compute_s, memory_s);
}

}  // namespace

Profile default_profile() {
  Profile p;
  p.name = "reelscale";
  p.provenance = from("reelscale's own engine: CPU figures measured by us on a 2-vCPU VM, GPU figures estimated "
                      "from the network's multiply-adds and published GPU throughput (docs/planner.md); "
                      "replace with `reelscale profile` measurements");
  const std::string ours = "measured by us: `reelscale profile` on a 2-vCPU Debian 12 VM";
  const std::string est = "estimate, not measured";
  const Distribution gpu_cold = with(Distribution::lognormal(10, 25), est + ": serverless GPU container start incl. model load");
  const Distribution cpu_cold = with(Distribution::lognormal(3, 8), est + ": serverless CPU container start");
  const Distribution warm = with(Distribution::constant(0.3), est + ": task on a running container, model loaded");
  auto cell = [&](double ms, const Provenance& source, const Distribution& cold) {
    Cell c;
    c.frame_time.ms_at_reference = ms;
    c.frame_time.provenance = source;
    c.cold_start_s = cold;
    c.warm_start_s = warm;
    return c;
  };
  // What a container's CPU does per 810x1440 output frame whatever its GPU: decode the
  // source, crop and scale, encode (x264 veryfast), on the 2 cores a GPU container holds.
  const double cpu_side_ms = 15.9;
  const Provenance cpu_side = from(ours + ": framing, 1920x1080 source to 810x1440, whole run per frame on 2 cores",
                                   "2026-12-01", true);
  // CPU containers hold 4 cores: the 2-core measurements halved (ideal scaling; marked).
  const Provenance scaled = from(ours + ", scaled from 2 to the CPU container's 4 cores", "2026-12-01", true);
  auto& ai = p.cells["framing_ai"];
  ai["CPU"] = cell(1338 * 2 / 4.0, from("measured by us: reelscale animevideov3 on 2 vCPUs, 1338 ms per 810x1440 frame "
                                        "(network input 203x360); scaled to the 4-core container", "2026-11-27", true),
                   cpu_cold);
  for (const auto& [hw, gpu] : gpu_specs()) {
    const double network = network_ms_estimate(gpu, "realesr-animevideov3");
    std::ostringstream os;
    os.precision(3);
    os << est << ": the larger of the network on the GPU (" << network << " ms: 619 k MAC per input pixel at "
       << static_cast<int>(kNetworkEfficiency * 100) << " % of " << gpu.fp16_tflops << " TFLOP/s fp16, " << gpu.source
       << ") and the CPU side on the container's 2 cores (" << cpu_side_ms << " ms, measured)";
    ai[hw] = cell(std::max(network, cpu_side_ms), from(os.str()), gpu_cold);
    ai[hw].frame_time.network_ms = network;
    ai[hw].frame_time.cpu_side_ms = cpu_side_ms;
    ai[hw].model = "realesr-animevideov3";
  }
  ai["CPU"].model = "realesr-animevideov3";
  for (const auto& [hw, c] : ai) {
    const bool cpu = hw == "CPU";
    const Distribution& cold = cpu ? cpu_cold : gpu_cold;
    p.cells["framing"][hw] = cell(cpu ? cpu_side_ms / 2 : cpu_side_ms, cpu ? scaled : cpu_side, cold);
    // overlay measured at its own output size, the 1920x1080 source.
    Cell o = cell(cpu ? 25.4 / 2 : 25.4, from(ours + ": overlay at 1920x1080, whole run per frame on 2 cores" +
                                              std::string(cpu ? ", scaled to 4 cores" : ""), "2026-12-01", true), cold);
    o.frame_time.reference_pixels = 1920.0 * 1080.0;
    p.cells["overlay"][hw] = o;
    // On a GPU container the detector's network would run on the GPU, which nobody has
    // measured: the CPU figure is an upper bound there, and not called measured.
    Cell d = cpu ? cell(0, from(ours + ": one detect call on a 1920x1080 frame (detector load, seek, decode, network)",
                                "2026-12-01", true), cold)
                 : cell(0, from(est + ": at most our CPU measurement of one detect call on a 1920x1080 frame (11.1 ms); "
                                      "the network on this GPU is not measured"), cold);
    d.frame_time.fixed_ms = 11.1;
    d.frame_time.exponent = 0;
    p.cells["detect"][hw] = d;
  }
  const auto scaling = [&](double one_thread, double two_at_once) {
    ThreadScaling s;
    s.cores = 2;
    s.alone = {{1, one_thread}, {2, 1.0}};
    s.concurrent = {{1, 1.0}, {2, two_at_once}};
    s.provenance = from("measured by us: `reelscale profile` thread scaling on 2 vCPUs", "2026-12-01", true);
    return s;
  };
  p.cells["framing"]["CPU"].scaling = scaling(1.67, 1.76);
  p.cells["overlay"]["CPU"].scaling = scaling(1.57, 2.21);
  p.cells["framing_ai"]["CPU"].scaling = scaling(1.13, 1.24);
  job_wide_figures_of_our_engine(p);
  return p;
}

namespace {

// What `reelscale profile` measured on the reference VM (plan/builtin_local_cells.json):
// the CPU cells per stage (decode by source size and codec, processing, encode by output
// size and preset), so a job's preset, sizes and content move its prediction, with their
// thread scaling and start-up; and a running process's job-wide figures on local disk.
void use_measured_local_figures(Profile& p) {
  // Parsed once: the document is compiled in and never changes.
  static const Profile measured = parse_profile(json::parse(builtin_local_cells_json()));
  for (const auto& [endpoint, hws] : measured.cells) {
    const auto cpu = hws.find("CPU");
    if (cpu != hws.end() && p.has(endpoint, "CPU")) p.cells[endpoint]["CPU"] = cpu->second;
  }
  p.orchestrator_start_s = measured.orchestrator_start_s;
  p.request_latency_s = measured.request_latency_s;
  p.download_mb_per_s = measured.download_mb_per_s;
  p.upload_mb_per_s = measured.upload_mb_per_s;
  p.whole_file_download = measured.whole_file_download;
  p.transfer_provenance = measured.transfer_provenance;
  p.preroll_s = measured.preroll_s;
  p.join = measured.join;
  p.cleanup_s = measured.cleanup_s;
  p.provenance = from("reelscale's own engine on local slots: CPU cells and a running process's overheads measured on " +
                          measured.provenance.source,
                      measured.provenance.date, true);
}

}  // namespace

Profile default_local_profile() {
  Profile p = default_profile();
  p.name = "reelscale-local";
  use_measured_local_figures(p);
  return p;
}

Profile named_profile(const std::string& name_or_file) {
  if (name_or_file.empty() || name_or_file == "reelscale") return default_profile();
  if (name_or_file == "old-system") return old_system_profile();
  return parse_profile(read_json_file(name_or_file));
}

PriceTable default_prices() {
  PriceTable p;
  p.provenance = from("Modal published prices, 2026", "2026");
  p.gpu_per_second = {{"T4", 0.000164},        {"L4", 0.000222},   {"A10G", 0.000306},
                      {"L40S", 0.000542},      {"A100-40GB", 0.000583}, {"A100-80GB", 0.000694},
                      {"H100", 0.001097},      {"H200", 0.001261}, {"B200", 0.001736}};
  p.cpu_core_per_second = 0.0000131;
  p.memory_gib_per_second = 0.00000222;
  return p;
}

Platform default_platform() { return Platform{}; }

Policy default_policy() { return Policy{}; }

}  // namespace reelscale::plan
