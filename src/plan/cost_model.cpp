// plan/cost_model.cpp — the per-job time and cost model.
#include "plan/cost_model.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/cores.h"
#include "common/error.h"
#include "plan/gpu_specs.h"

namespace reelscale::plan {

JobShape JobShape::of_length(const std::string& endpoint, double seconds, double fps, double pixels,
                             const std::string& model) {
  JobShape j;
  j.endpoint = endpoint;
  j.model = endpoint == "framing_ai" ? model : "";
  j.fps = fps;
  // detect looks at one frame of the clip, whatever its length.
  j.frames = endpoint == "detect" ? 1 : std::max<int64_t>(1, static_cast<int64_t>(std::ceil(seconds * fps - 1e-9)));
  j.output_pixels = pixels;
  return j;
}

FrameWork frame_work(const JobShape& job, const Cell& cell) {
  FrameWork w;
  w.output_pixels = job.output_pixels;
  w.source_pixels = job.source_pixels;
  w.codec = job.codec;
  w.preset = job.preset;
  w.decoded_per_frame = job.decoded_per_frame;
  w.content = job.content;
  w.network_factor =
      job.endpoint == "framing_ai" ? Profile::model_factor(cell, job.model) * job.network_input_factor : 1.0;
  return w;
}

double preroll_seconds(const Profile& profile, const Cell& cell, const JobShape& job) {
  const FrameStages& st = cell.frame_time.stages;
  if (job.preroll_frames < 0 || !st.known()) return profile.preroll_s.mean();
  FrameWork w = frame_work(job, cell);
  w.decoded_per_frame = 1;
  return job.preroll_frames * st.times(w).decode_ms / 1000.0;
}

namespace {

struct Shared {
  double frame_s = 0;
  double in_bytes = 0;
  double out_bytes = 0;
  int64_t largest = 0;
  double largest_work_s = 0;  // transfer + pre-roll + compute of the largest chunk (mean latency)
  double transfer_s = 0;
  double preroll_s = 0;
  double compute_s = 0;
  double join_s = 0;
  double final_upload_s = 0;
  int warm = 0;
  double warm_start_billed_s = 0;  // of a warm start, what holds the place
};

// Seconds per frame: the cell's time for this job's pixels and network; for framing_ai,
// frames whose crop needs no network cost what framing costs on the same hardware.
// Per-stage cells on local slots are costed for `cores` shared by `at_once` chunks.
double frame_seconds(const Profile& profile, const Cell& cell, const JobShape& job, const std::string& hardware,
                     int cores, int at_once) {
  const double network = cell.frame_time.ms(frame_work(job, cell), cores, at_once);
  if (job.endpoint != "framing_ai" || job.network_share >= 1.0 || !profile.has("framing", hardware))
    return network / 1000.0;
  const Cell& framing = profile.cell("framing", hardware);
  const double plain = framing.frame_time.ms(frame_work(job, framing), cores, at_once);
  return (job.network_share * network + (1.0 - job.network_share) * plain) / 1000.0;
}

Shared common_parts(const Profile& profile, const Platform& platform, const JobShape& job, const Cell& cell,
                    const std::string& hardware, int chunks, bool adaptive, int cores = 0, int at_once = 1) {
  Shared s;
  s.frame_s = frame_seconds(profile, cell, job, hardware, cores, at_once);
  s.in_bytes = job.input_bytes > 0 ? job.input_bytes : profile.source_mbit_per_s * 1e6 / 8 * job.seconds();
  s.out_bytes =
      profile.output_mbit_per_s_at_reference * 1e6 / 8 * job.seconds() * (job.output_pixels / (810.0 * 1440.0));
  s.warm_start_billed_s = cell.warm_start_billed_s;
  s.largest = (job.frames + chunks - 1) / chunks;
  const double share = static_cast<double>(s.largest) / job.frames;
  const double down =
      (profile.whole_file_download ? s.in_bytes : s.in_bytes * share) / (profile.download_mb_per_s * 1e6);
  const double up = s.out_bytes * share / (profile.upload_mb_per_s * 1e6);
  s.transfer_s = profile.request_latency_s.mean() + down + up;
  s.preroll_s = chunks > 1 ? preroll_seconds(profile, cell, job) : 0;
  s.compute_s = s.largest * s.frame_s;
  s.largest_work_s = s.transfer_s + s.preroll_s + s.compute_s;
  s.join_s = profile.join.seconds(chunks, s.out_bytes);
  // One chunk writes the output itself; several are joined and the result uploaded.
  s.final_upload_s = chunks > 1 ? profile.request_latency_s.mean() + s.out_bytes / (profile.upload_mb_per_s * 1e6) : 0;
  if (adaptive) {
    auto it = platform.warm_idle.find(hardware);
    s.warm = it == platform.warm_idle.end() ? 0 : std::min(chunks, it->second);
  }
  return s;
}

// Seconds chunk i is busy after it has started: transfer, pre-roll (all but the first
// chunk) and its frames.
double chunk_busy_s(const Profile& profile, const Shared& s, const JobShape& job, int chunks, int i, double latency_s,
                    double preroll_s) {
  const int64_t frames = job.frames * (i + 1) / chunks - job.frames * i / chunks;
  const double share = static_cast<double>(frames) / job.frames;
  const double down =
      (profile.whole_file_download ? s.in_bytes : s.in_bytes * share) / (profile.download_mb_per_s * 1e6);
  const double up = s.out_bytes * share / (profile.upload_mb_per_s * 1e6);
  return latency_s + down + up + (i > 0 ? preroll_s : 0) + frames * s.frame_s;
}

// Cost of the chunk containers, each cold one starting in `cold_start_s`. Chunks come
// in at most three kinds (the first, without pre-roll; the others of floor(F/N) or
// ceil(F/N) frames), so this is constant time whatever N is.
void add_chunk_costs(Estimate& e, const Profile& profile, const PriceTable& prices, const Platform& platform,
                     const Shared& s, const JobShape& job, const std::string& hardware, int chunks, double cold_start_s,
                     double cores) {
  const double price = prices.container_per_second(hardware, cores);
  const double tail = platform.scale_down_window_s * platform.idle_tail_share;
  const double latency = profile.request_latency_s.mean();
  const double preroll = s.preroll_s;
  const int64_t small = job.frames / chunks;
  const int64_t first = job.frames / chunks;      // chunk 0 holds floor(F/N) frames: F*1/N - 0
  const int64_t big_count = job.frames % chunks;  // chunks of small + 1 frames, none of them chunk 0
  struct Kind {
    int64_t frames;
    int index;  // 0 for the first chunk, 1 for the others (pre-roll)
    int64_t count;
  };
  const Kind kinds[] = {{first, 0, 1}, {small + 1, 1, big_count}, {small, 1, chunks - 1 - big_count}};
  int64_t warm_left = s.warm;
  for (const Kind& k : kinds) {
    if (k.count <= 0) continue;
    const double share = static_cast<double>(k.frames) / job.frames;
    const double down =
        (profile.whole_file_download ? s.in_bytes : s.in_bytes * share) / (profile.download_mb_per_s * 1e6);
    const double up = s.out_bytes * share / (profile.upload_mb_per_s * 1e6);
    const double busy = latency + down + up + (k.index > 0 ? preroll : 0) + k.frames * s.frame_s;
    const int64_t warm = std::min(warm_left, k.count);
    warm_left -= warm;
    const int64_t cold = k.count - warm;
    e.compute_seconds += k.count * k.frames * s.frame_s;
    // A warm idle container costs only the work it does: it was billed while idle
    // anyway, and its scale-down clock restarts afterwards.
    e.container_seconds += warm * (s.warm_start_billed_s + busy);
    e.cost_work += warm * (s.warm_start_billed_s + busy) * price;
    if (cold > 0) {
      const double billed = platform.billed(cold_start_s + busy + tail);
      e.container_seconds += cold * billed;
      e.cost_startup += cold * cold_start_s * price;
      e.cost_work += cold * (billed - cold_start_s - tail) * price;  // includes rounding up to the granularity
      e.cost_idle_tail += cold * tail * price;
    }
  }
}

// A frame time whose CPU side no longer encodes: the network's stage unchanged, the CPU
// side (its curve by cores, or, not known apart, the whole frame) less x264's share. The
// curve's floor, decoding on one thread, stays.
FrameTime without_x264(FrameTime t) {
  const double keep = 1.0 - kX264ShareOfCpuSide;
  t.cpu_curve.serial_ms *= keep;
  t.cpu_curve.parallel_ms *= keep;
  if (t.network_ms > 0 && t.cpu_side_ms > 0) {
    t.cpu_side_ms *= keep;
    t.ms_at_reference = std::max(t.cpu_side_ms, t.network_ms);
  } else {
    t.ms_at_reference *= keep;
  }
  return t;
}

// A serverless container's cell at the cores it holds (GPU containers: `cores`, 0 for the
// price table's default; CPU containers: the table's), less the x264 share of its CPU side
// where NVENC encodes; the cores and the CPU side's share of a frame recorded in `e`.
Cell cell_at_cores(const PriceTable& prices, const Cell& cell, const JobShape& job, const std::string& hardware,
                   double cores, Estimate& e) {
  const bool gpu = hardware != "CPU";
  e.cores_chosen = gpu && cores > 0;
  e.container_cores = gpu ? (cores > 0 ? cores : prices.default_cores(hardware)) : prices.cpu_container_cores;
  Cell at = cell;
  e.nvenc = encodes_on_gpu(job, hardware);
  if (e.nvenc) at.frame_time = without_x264(at.frame_time);
  if (gpu) at.frame_time = at.frame_time.at_cores(e.container_cores);
  const FrameTime& t = at.frame_time;
  if (t.network_ms > 0 && t.cpu_side_ms > 0)
    e.cpu_side_share = t.cpu_side_ms / std::max(t.cpu_side_ms, t.network_ms);
  else if (t.cpu_curve.known() && t.network_ms <= 0)
    e.cpu_side_share = 1;
  return at;
}

// The machine running `k` times slower than profiled: every time, and the cores held.
void run_slower(Estimate& e, double k) {
  for (double* v :
       {&e.orchestrator_mean_s, &e.orchestrator_p90_s, &e.startup_mean_s, &e.startup_p90_s, &e.transfer_s, &e.preroll_s,
        &e.compute_s, &e.join_s, &e.final_upload_s, &e.cleanup_mean_s, &e.cleanup_p90_s, &e.setup_s, &e.wall_mean_s,
        &e.wall_p90_s, &e.compute_seconds, &e.core_seconds, &e.cloud_equivalent_usd, &e.cost_work, &e.cost}) {
    *v *= k;
  }
}

// A local chunk's speed, recorded in the estimate. Measured where the profile measured this
// many cores: one chunk on all of them (the per-stage figures, or the whole-frame one) times
// the cell's thread scaling (k chunks at once, each on its threads, against one alone).
// Else the per-stage model shares the cores between the chunks, or a whole-frame figure
// scales ideally.
Shared local_chunk_speed(Estimate& e, const Profile& profile, const Platform& platform, const JobShape& job,
                         const Cell& cell, const std::string& hardware, int chunks, int cores) {
  const bool measured = cell.scaling.cores == cores;
  const bool stages = cell.frame_time.stages.known();
  Cell scaled = cell;
  e.chunk_frame_factor = 1;
  if (measured || !stages) {
    e.chunk_frame_factor = cell.scaling.factor(e.concurrent, e.threads_per_chunk, cores);
    scaled.frame_time.scale(e.chunk_frame_factor);
  }
  const Shared s = common_parts(profile, platform, job, scaled, hardware, chunks, false, cores,
                                measured || !stages ? 1 : e.concurrent);
  e.chunk_frame_ms = 1000 * s.frame_s;
  std::ostringstream from;
  from.precision(3);
  if (measured) {
    from << "measured: " << e.concurrent << " chunk(s) at once on " << e.threads_per_chunk << " thread(s) each, x"
         << e.chunk_frame_factor << " the frame time of one chunk alone on " << cores << " cores ("
         << cell.scaling.provenance.source << ")";
  } else if (stages) {
    from << "per-stage model: " << e.concurrent << " chunk(s) sharing " << cores
         << " cores (no thread scaling measured on this many cores)";
  } else {
    from << "whole-frame figure, x" << e.chunk_frame_factor << " (thread scaling "
         << (cell.scaling.cores > 0 ? "measured on " + std::to_string(cell.scaling.cores) + " cores" : "assumed ideal")
         << ")";
  }
  e.chunk_speed_from = from.str();
  return s;
}

// Owned local slots: chunks queue for min(N, slots) slots, each slot on
// threads_per_slot(k) of the job's cores at the cell's measured scaling. Start-up is only
// opening the model (the process is running); nothing is billed and nothing idles.
Estimate estimate_local(const Profile& profile, const PriceTable& prices, const Platform& platform, const JobShape& job,
                        const Cell& cell, const std::string& hardware, int chunks) {
  Estimate e;
  e.platform_model = "local";
  e.hardware = hardware;
  e.chunks = chunks;
  const int cores = std::max(1, platform.local_cores);
  e.concurrent = std::min(chunks, std::max(1, platform.local_slots));
  e.threads_per_chunk = threads_per_slot(e.concurrent, cores);
  const Shared s = local_chunk_speed(e, profile, platform, job, cell, hardware, chunks, cores);
  e.largest_chunk = s.largest;
  e.orchestrator_mean_s = profile.orchestrator_start_s.mean();
  e.orchestrator_p90_s = profile.orchestrator_start_s.quantile(0.9);
  // Opening the model: what a cold start adds to the process's own start-up.
  e.startup_mean_s = e.startup_p90_s =
      std::max(cell.warm_start_s.mean(), cell.cold_start_s.mean() - e.orchestrator_mean_s) +
      cell.start_s_per_source_mpixel * job.source_pixels / 1e6;
  const int waves = (chunks + e.concurrent - 1) / e.concurrent;
  e.transfer_s = waves * s.transfer_s;
  e.preroll_s = (chunks > 1 ? waves : 0) * s.preroll_s;
  e.compute_s = waves * s.compute_s;
  e.join_s = s.join_s;
  e.final_upload_s = s.final_upload_s;
  e.cleanup_mean_s = profile.cleanup_s.mean();
  e.cleanup_p90_s = profile.cleanup_s.quantile(0.9);
  e.setup_s = profile.job_setup.seconds(job.frames);
  const double busy = e.startup_mean_s + e.transfer_s + e.preroll_s + e.compute_s + e.join_s + e.final_upload_s;
  e.wall_mean_s = e.orchestrator_mean_s + e.setup_s + busy + e.cleanup_mean_s;
  e.wall_p90_s = e.orchestrator_p90_s + e.setup_s + busy + e.cleanup_p90_s;
  e.compute_seconds = static_cast<double>(job.frames) * s.frame_s;
  // Cores held, as the record counts them (job/job_flow.cpp): every running chunk's threads
  // from its start-up (each wave's chunks open anew) to its end, one core for the rest.
  const double chunk_phase = waves * e.startup_mean_s + e.transfer_s + e.preroll_s + e.compute_s;
  e.core_seconds = chunk_phase * std::min(cores, e.concurrent * e.threads_per_chunk) +
                   (e.setup_s + e.join_s + e.final_upload_s + e.cleanup_mean_s);
  e.cloud_equivalent_usd = e.core_seconds * prices.cpu_core_per_second;
  e.cost_work = e.cloud_equivalent_usd;
  e.cost = e.cloud_equivalent_usd;
  if (platform.local_speed > 0 && platform.local_speed != 1.0) run_slower(e, platform.local_speed);
  return e;
}

}  // namespace

std::string Estimate::label() const {
  std::ostringstream os;
  os << hardware << " x" << chunks;
  if (cores_chosen) os << " on " << container_cores << " cores";
  if (nvenc) os << " with NVENC";
  return os.str();
}

bool has_nvenc(const std::string& hardware) {
  const auto it = gpu_specs().find(hardware);
  return it != gpu_specs().end() && it->second.has_nvenc();
}

bool encodes_on_gpu(const JobShape& job, const std::string& hardware) {
  return job.encoder == "nvenc" && has_nvenc(hardware);
}

std::vector<std::string> encoder_options(const JobShape& job, const std::string& hardware) {
  if (job.encoder != "auto") return {job.encoder};
  if (has_nvenc(hardware)) return {"x264", "nvenc"};
  return {"x264"};
}

std::vector<double> container_core_options(const PriceTable& prices, const Cell& cell, const std::string& hardware) {
  if (hardware == "CPU") return {0};
  const bool by_cores = cell.frame_time.cpu_curve.known();
  if (const auto range = prices.core_ranges.find(hardware); range != prices.core_ranges.end()) {
    return by_cores ? range->second.options : std::vector<double>{0};  // 0: the range's most
  }
  if (!by_cores || prices.gpu_container_core_options.empty()) return {0};
  return prices.gpu_container_core_options;
}

Estimate estimate(const Profile& profile, const PriceTable& prices, const Platform& platform, const JobShape& job,
                  const std::string& hardware, int chunks, bool adaptive, const MaxOfDraws* startups,
                  double container_cores) {
  if (chunks < 1) fail(ErrorKind::kBadInput, "chunks must be at least 1");
  if (job.frames < chunks) fail(ErrorKind::kBadInput, "more chunks than frames");
  const Cell& cell = profile.cell(job.endpoint, hardware);
  if (platform.is_local()) return estimate_local(profile, prices, platform, job, cell, hardware, chunks);
  Estimate e;
  const Cell at = cell_at_cores(prices, cell, job, hardware, container_cores, e);
  const Shared s = common_parts(profile, platform, job, at, hardware, chunks, adaptive);
  e.hardware = hardware;
  e.chunks = chunks;
  e.warm_chunks = s.warm;
  e.largest_chunk = s.largest;
  e.orchestrator_mean_s = profile.orchestrator_start_s.mean();
  e.orchestrator_p90_s = profile.orchestrator_start_s.quantile(0.9);
  const int cold = chunks - s.warm;
  // Cold starts that come together are one draw: the slowest of them is any one of them.
  const int cold_draws = platform.cold_starts_together ? std::min(cold, 1) : cold;
  e.startup_mean_s = startups ? startups->mean(s.warm, cold_draws)
                              : max_mean(cell.warm_start_s, s.warm, cell.cold_start_s, cold_draws);
  e.startup_p90_s = startups ? startups->p90(s.warm, cold_draws)
                             : max_quantile(cell.warm_start_s, s.warm, cell.cold_start_s, cold_draws, 0.9);
  e.queue_s = adaptive && cold > 0 ? platform.queue_wait_s : 0;
  e.transfer_s = s.transfer_s;
  e.preroll_s = s.preroll_s;
  e.compute_s = s.compute_s;
  e.join_s = s.join_s;
  e.final_upload_s = s.final_upload_s;
  e.cleanup_mean_s = profile.cleanup_s.mean();
  e.cleanup_p90_s = profile.cleanup_s.quantile(0.9);
  e.setup_s = profile.job_setup.seconds(job.frames);
  const double fixed = e.setup_s + e.queue_s + s.largest_work_s + e.join_s + e.final_upload_s;
  e.wall_mean_s = e.orchestrator_mean_s + e.startup_mean_s + fixed + e.cleanup_mean_s;
  e.wall_p90_s = e.orchestrator_p90_s + e.startup_p90_s + fixed + e.cleanup_p90_s;
  add_chunk_costs(e, profile, prices, platform, s, job, hardware, chunks, cell.cold_start_s.mean(), e.container_cores);
  e.cost_cores = e.container_seconds * e.container_cores * prices.core_per_second(hardware);
  // The orchestrator is a small CPU service that serves many jobs at once: a job is
  // charged its own wall time on it, no idle tail.
  e.cost_orchestrator = platform.billed(e.wall_mean_s) * prices.orchestrator_per_second();
  e.cost = e.cost_startup + e.cost_work + e.cost_idle_tail + e.cost_orchestrator;
  return e;
}

Estimate estimate_monte_carlo(const Profile& profile, const PriceTable& prices, const Platform& platform,
                              const JobShape& job, const std::string& hardware, int chunks, bool adaptive, int samples,
                              uint64_t seed, double container_cores) {
  Estimate e = estimate(profile, prices, platform, job, hardware, chunks, adaptive, nullptr, container_cores);
  if (platform.is_local()) return e;  // nothing random in owned, running slots but their figures
  Estimate unused;
  const Cell cell = cell_at_cores(prices, profile.cell(job.endpoint, hardware), job, hardware, container_cores, unused);
  const Shared s = common_parts(profile, platform, job, cell, hardware, chunks, adaptive);
  std::mt19937_64 rng(seed);
  std::vector<double> walls;
  walls.reserve(samples);
  double cost_sum = 0;
  for (int n = 0; n < samples; ++n) {
    double slowest = 0;
    double cold_sum = 0;
    const double together = cell.cold_start_s.sample(rng);  // the cold starts' one draw, when they share it
    for (int i = 0; i < chunks; ++i) {
      const bool warm = i < s.warm;
      const double cold_start = platform.cold_starts_together ? together : cell.cold_start_s.sample(rng);
      const double start = warm ? cell.warm_start_s.sample(rng) : cold_start;
      if (!warm) cold_sum += start;
      const double busy = chunk_busy_s(profile, s, job, chunks, i, profile.request_latency_s.sample(rng),
                                       profile.preroll_s.sample(rng));
      slowest = std::max(slowest, start + busy);
    }
    const double wall = profile.orchestrator_start_s.sample(rng) + e.queue_s + slowest + e.join_s + e.final_upload_s +
                        profile.cleanup_s.sample(rng);
    walls.push_back(wall);
    Estimate c;
    const int cold = chunks - s.warm;
    add_chunk_costs(c, profile, prices, platform, s, job, hardware, chunks, cold > 0 ? cold_sum / cold : 0,
                    e.container_cores);
    cost_sum +=
        c.cost_startup + c.cost_work + c.cost_idle_tail + platform.billed(wall) * prices.orchestrator_per_second();
  }
  std::sort(walls.begin(), walls.end());
  double mean = 0;
  for (double w : walls) mean += w;
  e.wall_mean_s = mean / samples;
  e.wall_p90_s = walls[static_cast<size_t>(0.9 * (samples - 1))];
  e.cost = cost_sum / samples;
  return e;
}

}  // namespace reelscale::plan
