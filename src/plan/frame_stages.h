// plan/frame_stages.h — a frame's cost built from the work of each stage of the chunk
// runner: decoding (per decoded source frame, by source pixels and codec), processing (by
// output pixels; framing_ai by the network's work) and encoding (by output pixels and x264
// preset). Each stage's figure is its CPU work (core-ms per frame) with the cores it can
// keep busy alone. The stages run at once on threads, so a chunk alone takes the slowest
// stage when the cores keep up and the summed work over the cores when they do not, times
// the pipeline's measured inefficiency; k chunks at once share the cores (their summed
// work over the cores bounds each). What a clip's pictures cost x264 and the decoder
// varies about 2x between sources of one size, so a job may bring a content sample
// (a few of its own frames decoded and encoded on one thread), which scales those
// two stages against the same sample of the profiler's clip.
#pragma once

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "plan/distribution.h"

namespace reelscale::plan {

// ms = fixed_ms + ms_per_mpixel * pixels / 1e6.
struct LinearCost {
  double fixed_ms = 0;
  double ms_per_mpixel = 0;
  double ms(double pixels) const { return fixed_ms + ms_per_mpixel * pixels / 1e6; }
  LinearCost times(double k) const { return {fixed_ms * k, ms_per_mpixel * k}; }
};

// Least squares through (pixels, ms) points with neither term negative; points at one
// size only give a proportional cost. nullopt for no points.
std::optional<LinearCost> fit_linear_cost(const std::vector<std::pair<double, double>>& points);

// A job's own pictures, timed on one thread (job/content_sample.h): CPU ms to decode one
// source frame and to encode one output frame at veryfast, over a few frames at the
// start of its first segment. Zero: not sampled.
struct ContentSample {
  double decode_ms = 0;
  double encode_ms = 0;
  bool known() const { return decode_ms > 0 && encode_ms > 0; }
};

// The same sample taken on the profiler's clip at several sizes: decoding by source
// pixels, encoding by output pixels. A job's sample over this is its content factor.
struct ContentReference {
  LinearCost decode;
  LinearCost encode;
  bool known() const { return decode.ms(1e6) > 0 && encode.ms(1e6) > 0; }
};

// What one output frame of a job asks of each stage.
struct FrameWork {
  double output_pixels = 810.0 * 1440.0;
  double source_pixels = 0;      // 0: the stages' reference source
  std::string codec;             // source codec ("": the reference codec)
  std::string preset;            // x264 preset ("": veryfast)
  double decoded_per_frame = 1;  // source frames decoded per output frame (speed segments, fps change)
  double network_factor = 1;     // framing_ai: the network's work relative to the measured model's reduced input
  ContentSample content;         // the job's own pictures (unknown: the profiler's clip stands for them)
};

struct StageTimes {
  double decode_ms = 0;   // core-ms of work per output frame
  double process_ms = 0;
  double encode_ms = 0;
  double decode_content = 1;  // the content factors applied (1: none)
  double encode_content = 1;
  double slowest_ms = 0;  // the slowest stage on the cores it can use
  double frame_ms = 0;    // what the frame costs the chunk
};

// The x264 presets from fastest to slowest; an unmeasured preset takes its nearest
// measured neighbour in this order.
const std::vector<std::string>& x264_presets();

struct FrameStages {
  std::map<std::string, LinearCost> decode;  // codec -> core-ms per decoded frame, by source pixels
  LinearCost process;                        // core-ms, by output pixels (times the network factor for framing_ai)
  std::map<std::string, LinearCost> encode;  // x264 preset -> core-ms per frame, by output pixels
  double decode_threads = 1;                 // cores each stage keeps busy when it runs alone
  double process_threads = 1;
  double encode_threads = 1;
  // The share of each core's speed the processing stage keeps when it runs on every core
  // (1: it scales with the cores; libtorch's network on SMT siblings about 0.57): with the
  // cores saturated, its work occupies them 1/share times as long.
  double process_core_share = 1;
  // The same for decoding (one thread per chunk): measured as one decoder's speed with
  // every core decoding against it alone. Plain processing shares it.
  double decode_core_share = 1;
  double efficiency = 1;                     // a chunk alone: its measured time over the model's
  double reference_source_pixels = 1920.0 * 1080.0;
  std::string reference_codec = "h264";
  int cores = 0;                             // the machine the figures were measured on
  ContentReference content_reference;        // unknown: content samples are not used
  Provenance provenance;

  bool known() const { return !decode.empty() && !encode.empty(); }
  // `cores`: the cores the job's chunks share (0: the measured machine's);
  // `chunks_at_once`: how many of them run at the same time.
  StageTimes times(const FrameWork& work, int cores = 0, int chunks_at_once = 1) const;
  // The codec and preset figures a job's work is costed with (fallbacks named).
  const LinearCost& decode_for(const std::string& codec) const;
  const LinearCost& encode_for(const std::string& preset) const;
  // The job's content factors for decoding and encoding (1 without a sample or a
  // reference), bounded to [1/5, 5].
  std::pair<double, double> content_factors(const FrameWork& work) const;
  // Notes for a job whose codec or preset was not measured ("" when all were).
  std::string fallback_note(const FrameWork& work) const;
  void scale(double k);  // every stage's work k times larger
};

nlohmann::json to_json(const FrameStages& s);
// Error(kBadInput) naming the field (`where` is the object's path).
FrameStages parse_frame_stages(const nlohmann::json& j, const std::string& where);

}  // namespace reelscale::plan
