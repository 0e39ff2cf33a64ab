// job/job_plan.cpp — planning one job, under its policy or, near a budget's cap, for cost.
#include "job/job_plan.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "common/stopwatch.h"
#include "infer/sr_architecture.h"
#include "job/content_sample.h"
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
  const process::CropTrack crops(spec, probe.upright_width(), probe.upright_height());
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
  const double source_fps = probe.mean_fps();
  double source_seconds = 0;
  for (const media::Segment& s : spec.segments) source_seconds += std::max(0.0, std::min(s.end, duration) - s.start);
  if (spec.segments.empty()) source_seconds = duration;
  return std::max(1e-3, source_seconds * source_fps / static_cast<double>(frames));
}

// Mean frames from the key frame at or before a source frame to it, over the source
// frames the job's segments span (up to 4096 sampled): what a chunk starting there
// decodes before its first frame.
double mean_preroll_frames(const process::JobSpec& spec, const media::VideoProbe& probe) {
  const int64_t n = probe.frame_count();
  const double duration = probe.duration_seconds();
  if (n <= 0 || duration <= 0) return -1;
  const double fps = probe.mean_fps();
  std::vector<std::pair<int64_t, int64_t>> spans;
  for (const media::Segment& s : spec.segments) {
    spans.push_back({std::clamp<int64_t>(static_cast<int64_t>(s.start * fps), 0, n - 1),
                     std::clamp<int64_t>(static_cast<int64_t>(std::min(s.end, duration) * fps), 1, n)});
  }
  if (spans.empty()) spans.push_back({0, n});
  int64_t total = 0;
  for (const auto& [a, b] : spans) total += std::max<int64_t>(0, b - a);
  const int64_t step = std::max<int64_t>(1, total / 4096);
  double sum = 0;
  int64_t count = 0;
  for (const auto& [a, b] : spans) {
    for (int64_t k = a; k < b; k += step, ++count) sum += static_cast<double>(k - probe.keyframe_at_or_before(k));
  }
  return count > 0 ? sum / static_cast<double>(count) : -1;
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
  shape.encoder = spec.encoder;
  shape.decoded_per_frame = decoded_per_frame(spec, probe, frames);
  shape.preroll_frames = mean_preroll_frames(spec, probe);
  return shape;
}

void apply_cluster_facts(PlanningInputs& p, const exec::Executor& executor) {
  const exec::ClusterFacts cluster = executor.cluster_facts();
  const std::string hardware = executor.hardware();
  if (cluster.max_places > 0) p.platform.max_containers = cluster.max_places;
  if (cluster.scale_down_window_s >= 0) p.platform.scale_down_window_s = cluster.scale_down_window_s;
  if (cluster.batch_cluster) p.platform.cold_starts_together = true;
  if (cluster.usd_per_second >= 0 && !hardware.empty()) {
    p.prices.gpu_per_second[hardware] = cluster.usd_per_second;
    p.prices.gpu_container_cores = 0;  // a node's price is all-in: its cores are the class's
    p.prices.gpu_container_core_options.clear();
    p.prices.gpu_container_memory_gib = 0;
    // A class with a core range: the plan chooses the cores, each priced on top.
    if (!cluster.core_options.empty()) p.prices.core_ranges[hardware] = {cluster.core_options, cluster.usd_per_core_second};
  }
}

record::PlanRecord plan_record(const plan::Estimate& e, const plan::Profile& profile) {
  record::PlanRecord p;
  p.platform_model = e.platform_model;
  p.hardware = e.hardware;
  p.chunks = e.chunks;
  p.concurrent = e.concurrent;
  p.threads_per_chunk = e.threads_per_chunk;
  p.chunk_frame_ms = e.chunk_frame_ms;
  p.chunk_speed_from = e.chunk_speed_from;
  p.container_cores = e.platform_model == "local" ? 0 : e.container_cores;
  p.cpu_side_share = e.cpu_side_share;
  p.encoder = e.nvenc ? "nvenc" : "x264";
  p.cost_cores_usd = e.cost_cores;
  p.warm_chunks = e.warm_chunks;
  p.core_seconds = e.core_seconds;
  p.cloud_equivalent_usd = e.cloud_equivalent_usd;
  p.wall_mean_s = e.wall_mean_s;
  p.wall_p90_s = e.wall_p90_s;
  p.cost_usd = e.cost;
  p.breakdown_s = {{"orchestrator_start", e.orchestrator_mean_s}, {"slowest_startup", e.startup_mean_s},
                   {"transfer", e.transfer_s}, {"preroll", e.preroll_s}, {"compute", e.compute_s},
                   {"join", e.join_s}, {"final_upload", e.final_upload_s}, {"cleanup", e.cleanup_mean_s},
                   {"setup", e.setup_s}};
  p.profile_name = profile.name;
  p.profile_version = profile.version();
  return p;
}

// The plan under the policy, or, where a budget near its cap moves it, the cheapest choice
// within the policy's deadline.
static plan::PlanResult plan_under_budget(const plan::Planner& planner, const plan::JobShape& shape,
                                          const std::string& budget_moved) {
  if (budget_moved.empty()) return planner.plan(shape);
  plan::Policy cheapest = planner.policy;
  cheapest.objective = plan::Objective::kCheapestWithinDeadline;
  return plan::Planner(planner.profile, planner.prices, planner.platform, cheapest).plan(shape);
}

// The estimate at a chunk count the caller fixed; for an "auto" encoder, the encoder the
// policy's objective prefers (time for the fastest, else cost; x264 on a tie).
static plan::Estimate forced_estimate(const plan::Planner& planner, const plan::JobShape& job, const std::string& hw,
                                      int chunks) {
  const bool by_time = planner.policy.objective_for(planner.platform) == plan::Objective::kFastest;
  const auto key = [&](const plan::Estimate& x) { return by_time ? x.time(planner.policy.use_p90) : x.cost; };
  std::optional<plan::Estimate> best;
  for (const std::string& encoder : plan::encoder_options(job, hw)) {
    plan::JobShape shape = job;
    shape.encoder = encoder;
    plan::Estimate e = plan::estimate(planner.profile, planner.prices, planner.platform, shape, hw, chunks,
                                      planner.policy.adaptive);
    if (!best || key(e) < key(*best)) best = std::move(e);
  }
  return *best;
}

// A plan a budget moved names it, and what the policy's own objective would have chosen.
static void note_budget_move(record::PlanRecord& prediction, const plan::Planner& planner, const plan::JobShape& shape,
                             const std::string& budget_moved) {
  if (budget_moved.empty()) return;
  const plan::Estimate unmoved = planner.plan(shape).chosen;
  prediction.budget_moved = budget_moved;
  prediction.budget_moved_from = {unmoved.hardware, unmoved.chunks, unmoved.container_cores,
                                  unmoved.time(planner.policy.use_p90), unmoved.cost};
}

bool profile_uses_content(const plan::Profile& profile, const std::string& endpoint) {
  for (const std::string& hardware : profile.hardware_for(endpoint)) {
    if (profile.cell(endpoint, hardware).frame_time.stages.content_reference.known()) return true;
  }
  return false;
}

JobPlan plan_job(const process::JobSpec& spec, const media::MediaSource& source, const media::VideoProbe& probe,
                 int64_t frames, int forced_chunks, const std::string& hardware, const PlanningInputs& inputs,
                 exec::OwnedCapacity owned) {
  JobPlan out;
  out.shape = job_shape(spec, probe, frames);
  plan::Policy policy = inputs.policy;
  if (!hardware.empty()) policy.allowed_hardware = {hardware};
  plan::Platform platform = inputs.platform;
  const bool built_in_local = owned.slots > 0 && !inputs.profile_given;
  const plan::Profile local_default =
      built_in_local ? inputs.local_profile.value_or(plan::default_local_profile()) : plan::Profile{};
  const plan::Profile& profile = built_in_local ? local_default : inputs.profile;
  if (owned.slots > 0) {
    platform = plan::Platform::local(owned.slots, std::max(1, owned.cores - policy.reserve_cores));
    platform.local_speed = inputs.local_speed;
    if (!policy.max_parallel_given) policy.max_parallel = std::max(policy.max_parallel, owned.slots);
  }
  const Stopwatch sampling;
  if (inputs.sample_content && profile_uses_content(profile, out.shape.endpoint)) out.shape.content = sample_job_content(spec, source, probe, frames);
  const double sample_s = out.shape.content.known() ? sampling.seconds() : 0.0;
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
    note.policy = policy.describe();
    note.policy_entry = inputs.policy_entry;
    out.prediction = note;
    return out;
  }
  if (forced_chunks > 0) {
    out.chunks = forced_chunks;
    const int n = static_cast<int>(std::min<int64_t>(forced_chunks, std::max<int64_t>(1, frames)));
    out.prediction = plan_record(forced_estimate(planner, out.shape, out.hardware, n), profile);
    out.prediction->forced_chunks = true;
  } else {
    const plan::PlanResult r = plan_under_budget(planner, out.shape, inputs.budget_moved);
    out.chunks = r.chosen.chunks;
    out.hardware = r.chosen.hardware;
    out.prediction = plan_record(r.chosen, profile);
    out.prediction->feasible = r.feasible;
    out.prediction->reason = r.reason;
    note_budget_move(*out.prediction, planner, out.shape, inputs.budget_moved);
    for (const plan::Estimate& e : r.candidates) {
      if (e.hardware != r.chosen.hardware) continue;
      const double s = std::round(e.time(policy.use_p90) * 1e4) / 1e4;  // 0.1 ms: the record stays small
      const auto [it, fresh] = out.prediction->wall_by_chunks_s.try_emplace(std::to_string(e.chunks), s);
      if (!fresh) it->second = std::min(it->second, s);
    }
  }
  out.prediction->policy = policy.describe();
  out.prediction->policy_entry = inputs.policy_entry;
  if (platform.is_local()) out.prediction->local_speed = platform.local_speed;
  // The sample is part of the job's time, spent before the plan was made.
  if (sample_s > 0) {
    out.prediction->breakdown_s["content_sample"] = sample_s;
    out.prediction->wall_mean_s += sample_s;
    out.prediction->wall_p90_s += sample_s;
    if (platform.is_local()) {  // one core held while it was taken, as the record counts it
      const double usd = sample_s * inputs.prices.cpu_core_per_second;
      out.prediction->core_seconds += sample_s;
      out.prediction->cloud_equivalent_usd += usd;
      out.prediction->cost_usd += usd;
    }
  }
  // A policy that leaves cores free is enforced by giving each chunk its threads.
  if (platform.is_local() && policy.reserve_cores > 0) out.threads_per_chunk = out.prediction->threads_per_chunk;
  out.attempt_deadline_s = std::max(60.0, 4 * out.prediction->wall_p90_s);
  return out;
}

}  // namespace reelscale::job
