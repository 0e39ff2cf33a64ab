// plan/frame_stages.cpp — the per-stage frame cost, its fit and its JSON form.
#include "plan/frame_stages.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_fields.h"

namespace reelscale::plan {

using nlohmann::json;

std::optional<LinearCost> fit_linear_cost(const std::vector<std::pair<double, double>>& points) {
  if (points.empty()) return std::nullopt;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& [pixels, ms] : points) {
    const double x = pixels / 1e6;
    sx += x;
    sy += ms;
    sxx += x * x;
    sxy += x * ms;
  }
  const double k = static_cast<double>(points.size());
  const double denom = k * sxx - sx * sx;
  if (denom <= 1e-12 * std::max(1.0, sxx * k)) return LinearCost{0, sx > 0 ? sy / sx : 0};  // one size
  double slope = (k * sxy - sx * sy) / denom;
  double fixed = (sy - slope * sx) / k;
  if (slope < 0) return LinearCost{std::max(0.0, sy / k), 0};        // no growth with size: a constant
  if (fixed < 0) return LinearCost{0, sxx > 0 ? sxy / sxx : 0};      // through the origin
  return LinearCost{fixed, slope};
}

const std::vector<std::string>& x264_presets() {
  static const std::vector<std::string> kPresets = {"ultrafast", "superfast", "veryfast", "faster", "fast",
                                                    "medium",    "slow",      "slower",   "veryslow", "placebo"};
  return kPresets;
}

namespace {

int preset_rank(const std::string& preset) {
  const auto& all = x264_presets();
  auto it = std::find(all.begin(), all.end(), preset.empty() ? "veryfast" : preset);
  return it == all.end() ? 2 : static_cast<int>(it - all.begin());
}

}  // namespace

const LinearCost& FrameStages::decode_for(const std::string& codec) const {
  if (auto it = decode.find(codec.empty() ? reference_codec : codec); it != decode.end()) return it->second;
  if (auto it = decode.find(reference_codec); it != decode.end()) return it->second;
  return decode.begin()->second;
}

const LinearCost& FrameStages::encode_for(const std::string& preset) const {
  const int want = preset_rank(preset);
  const LinearCost* best = &encode.begin()->second;
  int best_distance = 1 << 20;
  for (const auto& [name, cost] : encode) {
    const int d = std::abs(preset_rank(name) - want);
    if (d < best_distance) {
      best_distance = d;
      best = &cost;
    }
  }
  return *best;
}

std::string FrameStages::fallback_note(const FrameWork& work) const {
  std::string note;
  const std::string codec = work.codec.empty() ? reference_codec : work.codec;
  if (!decode.count(codec)) note += "decoding " + codec + " is costed as " + reference_codec + " (not measured); ";
  const std::string preset = work.preset.empty() ? "veryfast" : work.preset;
  if (!encode.count(preset)) note += "x264 preset " + preset + " is costed as its nearest measured neighbour; ";
  if (!note.empty()) note.resize(note.size() - 2);
  return note;
}

StageTimes FrameStages::times(const FrameWork& w, int job_cores, int chunks_at_once) const {
  StageTimes t;
  if (!known()) return t;
  const double machine = std::max(1, job_cores > 0 ? job_cores : cores > 0 ? cores : 1);
  const double k = std::max(1, chunks_at_once);
  const double per_chunk = std::max(1.0, machine / k);
  const double source = w.source_pixels > 0 ? w.source_pixels : reference_source_pixels;
  std::tie(t.decode_content, t.encode_content) = content_factors(w);
  t.decode_ms = t.decode_content * std::max(0.0, w.decoded_per_frame) * decode_for(w.codec).ms(source);
  t.process_ms = process.ms(std::max(1.0, w.output_pixels) * w.network_factor);
  t.encode_ms = t.encode_content * encode_for(w.preset).ms(std::max(1.0, w.output_pixels));
  const auto span = [&](double work, double threads) { return work / std::clamp(threads, 1.0, per_chunk); };
  t.slowest_ms = std::max({span(t.decode_ms, decode_threads), span(t.process_ms, process_threads),
                           span(t.encode_ms, encode_threads)});
  // What the frame occupies of the cores when they are all busy.
  const double work = t.decode_ms / std::clamp(decode_core_share, 0.05, 1.0) +
                      t.process_ms / std::clamp(process_core_share, 0.05, 1.0) + t.encode_ms;
  // Alone, the pipeline's bubbles (the measured inefficiency) cost it; chunks at once
  // fill each other's bubbles until their summed work saturates the cores.
  const double alone = std::max(1.0, efficiency) * std::max(t.slowest_ms, work / machine);
  t.frame_ms = k <= 1 ? alone : std::max(std::max(1.0, efficiency) * t.slowest_ms, k * work / machine);
  return t;
}

std::pair<double, double> FrameStages::content_factors(const FrameWork& w) const {
  if (!w.content.known() || !content_reference.known()) return {1.0, 1.0};
  const double source = w.source_pixels > 0 ? w.source_pixels : reference_source_pixels;
  const auto bounded = [](double measured, double reference) {
    return reference > 0 ? std::clamp(measured / reference, 0.2, 5.0) : 1.0;
  };
  return {bounded(w.content.decode_ms, content_reference.decode.ms(source)),
          bounded(w.content.encode_ms, content_reference.encode.ms(std::max(1.0, w.output_pixels)))};
}

void FrameStages::scale(double k) {
  for (auto& [codec, c] : decode) c = c.times(k);
  process = process.times(k);
  for (auto& [preset, c] : encode) c = c.times(k);
}

namespace {

const JsonFields kFields("");

json cost_json(const LinearCost& c) { return {{"fixed_ms", c.fixed_ms}, {"ms_per_mpixel", c.ms_per_mpixel}}; }

LinearCost parse_cost(const json& j, const std::string& f) {
  kFields.require_object(j, f);
  kFields.only(j, f, {"fixed_ms", "ms_per_mpixel"});
  return {kFields.number(j, "fixed_ms", f + ".fixed_ms", 0, 1e7, 0.0),
          kFields.number(j, "ms_per_mpixel", f + ".ms_per_mpixel", 0, 1e7, 0.0)};
}

std::map<std::string, LinearCost> parse_costs(const json& j, const std::string& f, bool presets) {
  kFields.require_object(j, f);
  if (j.empty()) kFields.bad(f, "must name at least one figure");
  std::map<std::string, LinearCost> out;
  for (const auto& [name, c] : j.items()) {
    if (presets && std::find(x264_presets().begin(), x264_presets().end(), name) == x264_presets().end()) {
      kFields.bad(f + "." + name, "is not an x264 preset (ultrafast ... placebo)");
    }
    out[name] = parse_cost(c, f + "." + name);
  }
  return out;
}

}  // namespace

json to_json(const FrameStages& s) {
  json j = {{"process", cost_json(s.process)}, {"decode_threads", s.decode_threads},
            {"process_threads", s.process_threads}, {"encode_threads", s.encode_threads}, {"efficiency", s.efficiency},
            {"reference_source_pixels", s.reference_source_pixels}, {"reference_codec", s.reference_codec},
            {"cores", s.cores}, {"process_core_share", s.process_core_share},
            {"decode_core_share", s.decode_core_share}};
  if (s.content_reference.known()) {
    j["content_reference"] = {{"decode", cost_json(s.content_reference.decode)},
                              {"encode", cost_json(s.content_reference.encode)}};
  }
  for (const auto& [codec, c] : s.decode) j["decode"][codec] = cost_json(c);
  for (const auto& [preset, c] : s.encode) j["encode"][preset] = cost_json(c);
  if (!s.provenance.source.empty()) j["source"] = s.provenance.source;
  if (!s.provenance.date.empty()) j["date"] = s.provenance.date;
  if (s.provenance.measured_by_us) j["measured"] = true;
  return j;
}

FrameStages parse_frame_stages(const json& j, const std::string& f) {
  kFields.require_object(j, f);
  kFields.only(j, f, {"decode", "process", "encode", "decode_threads", "process_threads", "encode_threads", "efficiency",
                      "reference_source_pixels", "reference_codec", "cores", "process_core_share",
                      "decode_core_share", "content_reference", "source", "date", "measured"});
  FrameStages s;
  if (!j.contains("decode")) kFields.bad(f + ".decode", "is required: {\"h264\": {\"fixed_ms\", \"ms_per_mpixel\"}}");
  if (!j.contains("encode")) kFields.bad(f + ".encode", "is required: {\"veryfast\": {\"fixed_ms\", \"ms_per_mpixel\"}}");
  if (!j.contains("process")) kFields.bad(f + ".process", "is required: {\"fixed_ms\", \"ms_per_mpixel\"}");
  s.decode = parse_costs(j["decode"], f + ".decode", false);
  s.encode = parse_costs(j["encode"], f + ".encode", true);
  s.process = parse_cost(j["process"], f + ".process");
  s.decode_threads = kFields.number(j, "decode_threads", f + ".decode_threads", 1, 1024, 1.0);
  s.process_threads = kFields.number(j, "process_threads", f + ".process_threads", 1, 1024, 1.0);
  s.encode_threads = kFields.number(j, "encode_threads", f + ".encode_threads", 1, 1024, 1.0);
  s.efficiency = kFields.number(j, "efficiency", f + ".efficiency", 1, 10, 1.0);
  s.reference_source_pixels =
      kFields.number(j, "reference_source_pixels", f + ".reference_source_pixels", 1, 1e9, 1920.0 * 1080.0);
  s.reference_codec = kFields.text(j, "reference_codec", f + ".reference_codec", std::string("h264"));
  s.cores = static_cast<int>(kFields.integer(j, "cores", f + ".cores", 0, 4096, 0));
  s.process_core_share = kFields.number(j, "process_core_share", f + ".process_core_share", 0.05, 1, 1.0);
  s.decode_core_share = kFields.number(j, "decode_core_share", f + ".decode_core_share", 0.05, 1, 1.0);
  if (j.contains("content_reference")) {
    const json& c = j["content_reference"];
    const std::string cf = f + ".content_reference";
    kFields.require_object(c, cf);
    kFields.only(c, cf, {"decode", "encode"});
    if (!c.contains("decode") || !c.contains("encode")) kFields.bad(cf, "needs both decode and encode");
    s.content_reference = {parse_cost(c["decode"], cf + ".decode"), parse_cost(c["encode"], cf + ".encode")};
  }
  s.provenance.source = kFields.text(j, "source", f + ".source", std::string());
  s.provenance.date = kFields.text(j, "date", f + ".date", std::string());
  s.provenance.measured_by_us = kFields.boolean(j, "measured", f + ".measured", false);
  return s;
}

}  // namespace reelscale::plan
