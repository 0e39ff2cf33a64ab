// plan/stage_fit.cpp — per-stage figures corrected from job records.
#include "plan/stage_fit.h"

#include <algorithm>

#include "common/json_fields.h"

namespace reelscale::plan {

namespace {

constexpr int64_t kMinFramesToTime = 2;

std::string fmt(double v) { return format_number(v); }

}  // namespace

std::vector<ChunkObservation> chunk_observations(const record::JobRecord& r, double network_factor) {
  std::vector<ChunkObservation> out;
  const bool ai = r.endpoint == "framing_ai";
  if (!r.ok() || (ai && r.network_share < 0.99)) return out;
  const bool local = r.plan && r.plan->platform_model == "local" && r.plan->concurrent > 0;
  for (const record::ChunkRecord& c : r.chunk_results) {
    const double steady = c.timings_s.chunk - c.timings_s.open - c.timings_s.preroll;
    if (c.frames < kMinFramesToTime || steady <= 0) continue;
    ChunkObservation o;
    o.work.source_pixels = static_cast<double>(r.source.width) * r.source.height;
    o.work.output_pixels = r.output_pixels();
    o.work.codec = r.source.codec;
    o.work.preset = r.preset;
    o.work.network_factor = ai ? network_factor * r.network_input_factor : 1.0;
    o.work.content = {r.content_decode_ms, r.content_encode_ms};
    o.work.decoded_per_frame =
        static_cast<double>(std::max<int64_t>(1, c.frames_decoded - c.frames_dropped)) / static_cast<double>(c.frames);
    o.frames = static_cast<double>(c.frames);
    o.frame_ms = 1000 * steady / o.frames;
    if (local) {
      o.chunks_at_once = r.plan->concurrent;
      o.cores = r.plan->concurrent * std::max(1, r.plan->threads_per_chunk);
    }
    out.push_back(o);
  }
  return out;
}

std::vector<std::string> calibrate_stages(FrameStages& stages, const std::vector<ChunkObservation>& observations) {
  std::vector<std::string> changes;
  if (observations.empty() || !stages.known()) return changes;
  for (const ChunkObservation& o : observations) {
    const std::string codec = o.work.codec.empty() ? stages.reference_codec : o.work.codec;
    if (!stages.decode.count(codec)) {
      stages.decode[codec] = stages.decode_for(codec);
      changes.push_back("decode " + codec + ": new, from the " + stages.reference_codec + " figure");
    }
    const std::string preset = o.work.preset.empty() ? "veryfast" : o.work.preset;
    if (!stages.encode.count(preset)) {
      stages.encode[preset] = stages.encode_for(preset);
      changes.push_back("encode " + preset + ": new, from its nearest measured preset");
    }
  }
  double measured = 0, predicted = 0;
  for (const ChunkObservation& o : observations) {
    measured += o.frame_ms * o.frames;
    predicted += stages.times(o.work, o.cores, o.chunks_at_once).frame_ms * o.frames;
  }
  const double factor = predicted > 0 ? measured / predicted : 1.0;
  stages.scale(factor);
  changes.push_back("every stage's work x" + fmt(factor) + " (" + std::to_string(observations.size()) +
                    " chunks: measured " + fmt(measured / 1000) + " s against " + fmt(predicted / 1000) + " s predicted)");
  return changes;
}

}  // namespace reelscale::plan
