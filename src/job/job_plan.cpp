// job/job_plan.cpp — planning one job.
#include "job/job_plan.h"

#include <algorithm>

#include "infer/sr_architecture.h"
#include "process/framing.h"

namespace reelscale::job {

namespace {

// framing_ai over the job's crops (a zooming crop changes them frame by frame; up to 256
// sampled): the share of frames that need the network (a crop with the output's pixels
// already does not), and, over those, the network's input pixels relative to the reduced
// rule's (above 1 only for sr_input native with crops larger than output / scale).
struct NetworkUse {
  double share = 1.0;
  double input_factor = 1.0;
};

NetworkUse network_use(const process::JobSpec& spec, const media::VideoProbe& probe, int64_t frames) {
  NetworkUse use;
  if (spec.endpoint != process::Endpoint::kFramingAi || !infer::is_known_architecture(spec.model)) return use;
  const int s = infer::architecture_by_name(spec.model).scale;
  const bool swap = probe.rotation == 90 || probe.rotation == 270;
  const process::CropTrack crops(spec, swap ? probe.height : probe.width, swap ? probe.width : probe.height);
  const double want_w = (spec.output_width + s - 1) / s, want_h = (spec.output_height + s - 1) / s;
  double native = 0, reduced = 0;
  int64_t sampled = 0, with_network = 0;
  const int64_t step = std::max<int64_t>(1, frames / 256);
  for (int64_t j = 0; j < frames; j += step) {
    ++sampled;
    const media::CropRect c = crops.at(j);
    if (c.width >= spec.output_width && c.height >= spec.output_height) continue;
    ++with_network;
    const double own = static_cast<double>(c.width) * c.height;
    const double shrunk = (c.width > want_w || c.height > want_h) ? want_w * want_h : own;
    native += own;
    reduced += shrunk;
  }
  use.share = sampled > 0 ? static_cast<double>(with_network) / static_cast<double>(sampled) : 1.0;
  if (spec.sr_input == process::SrInput::kNative && reduced > 0) use.input_factor = native / reduced;
  return use;
}

// Source frames the readers decode per output frame: each segment's source span (or the
// whole source) at the source's rate, over the output frames. Slow motion decodes less
// than one source frame per output frame, fast motion more.
double decoded_per_frame(const process::JobSpec& spec, const media::VideoProbe& probe, int64_t frames) {
  const double duration = probe.duration_seconds();
  if (frames <= 0 || duration <= 0) return 1.0;
  const double source_fps = static_cast<double>(probe.frame_count()) / duration;
  double source_seconds = 0;
  for (const media::Segment& s : spec.segments) source_seconds += std::max(0.0, std::min(s.end, duration) - s.start);
  if (spec.segments.empty()) source_seconds = duration;
  return std::max(1e-3, source_seconds * source_fps / static_cast<double>(frames));
}

}  // namespace

plan::JobShape job_shape(const process::JobSpec& spec, const media::VideoProbe& probe, int64_t frames) {
  plan::JobShape shape;
  shape.endpoint = process::endpoint_name(spec.endpoint);
  shape.frames = frames;
  shape.fps = spec.fps.to_double();
  const process::FrameSize size = process::output_size(spec, probe);
  shape.output_pixels = static_cast<double>(size.width) * size.height;
  shape.input_bytes = static_cast<double>(probe.file_bytes);
  if (spec.endpoint == process::Endpoint::kFramingAi) shape.model = spec.model;
  const NetworkUse use = network_use(spec, probe, frames);
  shape.network_share = use.share;
  shape.network_input_factor = use.input_factor;
  shape.source_pixels = static_cast<double>(probe.width) * probe.height;
  shape.codec = probe.codec;
  shape.preset = spec.preset;
  shape.decoded_per_frame = decoded_per_frame(spec, probe, frames);
  return shape;
}

record::PlanRecord plan_record(const plan::Estimate& e, const plan::Profile& profile) {
  record::PlanRecord p;
  p.platform_model = e.platform_model;
  p.hardware = e.hardware;
  p.chunks = e.chunks;
  p.concurrent = e.concurrent;
  p.threads_per_chunk = e.threads_per_chunk;
  p.core_seconds = e.core_seconds;
  p.cloud_equivalent_usd = e.cloud_equivalent_usd;
  p.wall_mean_s = e.wall_mean_s;
  p.wall_p90_s = e.wall_p90_s;
  p.cost_usd = e.cost;
  p.breakdown_s = {{"orchestrator_start", e.orchestrator_mean_s}, {"slowest_startup", e.startup_mean_s},
                   {"transfer", e.transfer_s}, {"preroll", e.preroll_s}, {"compute", e.compute_s},
                   {"join", e.join_s}, {"final_upload", e.final_upload_s}, {"cleanup", e.cleanup_mean_s}};
  p.profile_name = profile.name;
  p.profile_version = profile.version();
  return p;
}

JobPlan plan_job(const process::JobSpec& spec, const media::VideoProbe& probe, int64_t frames, int forced_chunks,
                 const std::string& hardware, const PlanningInputs& inputs, exec::OwnedCapacity owned) {
  JobPlan out;
  out.shape = job_shape(spec, probe, frames);
  plan::Policy policy = inputs.policy;
  if (!hardware.empty()) policy.allowed_hardware = {hardware};
  plan::Platform platform = inputs.platform;
  const plan::Profile local_default = owned.slots > 0 && !inputs.profile_given ? plan::default_local_profile() : plan::Profile{};
  const plan::Profile& profile = owned.slots > 0 && !inputs.profile_given ? local_default : inputs.profile;
  if (owned.slots > 0) {
    platform = plan::Platform::local(owned.slots, std::max(1, owned.cores - policy.reserve_cores));
    policy.max_parallel = std::max(policy.max_parallel, owned.slots);
  }
  const plan::Planner planner(profile, inputs.prices, platform, policy);
  const std::vector<std::string> known = planner.hardware(out.shape.endpoint);
  out.hardware = !hardware.empty() ? hardware : known.empty() ? "CPU" : known.front();
  if (!profile.has(out.shape.endpoint, out.hardware)) {
    record::PlanRecord note;
    note.hardware = out.hardware;
    note.profile_name = profile.name;
    note.profile_version = profile.version();
    note.note = "the profile has no figures for " + out.shape.endpoint + " on " + out.hardware;
    note.chunks = out.chunks = std::max(1, forced_chunks);
    note.forced_chunks = forced_chunks > 0;
    out.prediction = note;
    return out;
  }
  if (forced_chunks > 0) {
    out.chunks = forced_chunks;
    const int n = static_cast<int>(std::min<int64_t>(forced_chunks, std::max<int64_t>(1, frames)));
    out.prediction = plan_record(plan::estimate(profile, inputs.prices, platform, out.shape, out.hardware, n, false),
                                 profile);
    out.prediction->forced_chunks = true;
  } else {
    const plan::PlanResult r = planner.plan(out.shape);
    out.chunks = r.chosen.chunks;
    out.hardware = r.chosen.hardware;
    out.prediction = plan_record(r.chosen, profile);
    out.prediction->feasible = r.feasible;
    out.prediction->reason = r.reason;
  }
  // A policy that leaves cores free is enforced by giving each chunk its threads.
  if (platform.is_local() && policy.reserve_cores > 0) out.threads_per_chunk = out.prediction->threads_per_chunk;
  out.attempt_deadline_s = std::max(60.0, 4 * out.prediction->wall_p90_s);
  return out;
}

}  // namespace reelscale::job
