// job/profiler.cpp — the measurements of `reelscale profile`, one stage each.
#include "job/profiler.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <tuple>

#include "common/cores.h"
#include "common/files.h"
#include "common/stopwatch.h"
#include "job/content_sample.h"
#include "job/job_flow.h"
#include "job/profile_media.h"
#include "process/upright.h"
#include "media/probe.h"
#include "plan/calibrate.h"
#include "plan/planner.h"
#include "plan/stage_fit.h"
#include "plan/thresholds.h"

namespace reelscale::job {

namespace {

// The sizes the profiler measures at, so that each stage is fitted at two sizes: the
// 1920x1080 clips into 810x1440 (framing, framing_ai), and a 960x540 clip into 404x720.
struct ClipSize {
  int width = 1920;
  int height = 1080;
  int crop_output_width = 810;
  int crop_output_height = 1440;
};
constexpr ClipSize kFullSize{};
constexpr ClipSize kHalfSize{960, 540, 404, 720};

// The profiler's job for an endpoint on a clip: a panning 9:16 crop, or a moving highlight.
process::JobSpec job_for(const std::string& endpoint, const std::string& clip, int max_frames, const std::string& out,
                         const ClipSize& size = kFullSize, const std::string& preset = "veryfast") {
  nlohmann::json j = {{"endpoint", endpoint}, {"input", clip}, {"output", out}, {"fps", 30}, {"audio", "drop"},
                      {"preset", preset}};
  const double second_key = max_frames > 0 ? max_frames / 30.0 : 1.0;  // keyframes stay inside the output
  const auto at = [&](double v) { return static_cast<int>(v * size.width / 1920.0) & ~1; };
  if (endpoint == "framing" || endpoint == "framing_ai") {
    j["crop_keyframes"] = nlohmann::json::array(
        {{{"time", 0}, {"x", at(656)}, {"y", 0}, {"width", at(608)}, {"height", size.height}},
         {{"time", second_key}, {"x", at(900)}, {"y", 0}, {"width", at(608)}, {"height", size.height}}});
    j["output_width"] = size.crop_output_width;
    j["output_height"] = size.crop_output_height;
  }
  if (endpoint == "overlay") {
    j["highlight_keyframes"] = nlohmann::json::array(
        {{{"time", 0}, {"x", at(600)}, {"y", at(500)}, {"rx", at(150)}, {"ry", at(250)}},
         {{"time", second_key}, {"x", at(1300)}, {"y", at(560)}, {"rx", at(180)}, {"ry", at(280)}}});
  }
  if (max_frames > 0) j["segments"] = nlohmann::json::array({{{"start", 0}, {"end", max_frames / 30.0}}});
  return process::parse_job_spec(j);
}

struct Measurement {
  std::string endpoint;
  int clip_seconds = 0;
  int64_t frames = 0;
  double process_ms_per_frame = 0;
  double total_ms_per_frame = 0;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

class Profiler {
 public:
  Profiler(const ProfilerOptions& options, process::Processors& processors, store::ObjectStore& store)
      : options_(options), processors_(processors), store_(store), cores_(machine_cores()),
        work_(std::filesystem::temp_directory_path(), "reelscale-profile-") {
    raw_ = {{"date", options.date}, {"cores", cores_}, {"cpu_quota", cgroup_cpu_quota()},
            {"process_startup_s", options.process_startup_s}};
  }

  ProfileResult run() {
    load_model();
    make_clips();
    measure_stages();
    measure_endpoints();
    measure_scaling();
    measure_chunking();
    measure_detect();
    measure_transfer();
    ProfileResult result;
    result.profile = build_profile();
    result.raw = raw_;
    result.report = report(result.profile);
    return result;
  }

 private:
  // The network module, the weights from disk, the network built for this device.
  void load_model() {
    processors_.set_cpu_threads(cores_);
    const Stopwatch clock;
    weights_s_ = processors_.load_model("realesr-animevideov3");
    module_s_ = clock.seconds() - weights_s_;
    raw_["model_load_s"] = weights_s_;
    raw_["network_module_load_s"] = module_s_;
  }

  void make_clips() {
    for (int len : options_.lengths) {
      clips_[len] = (work_.path() / ("clip-" + std::to_string(len) + "s.mp4")).string();
      std::cerr << "profile: making a " << len << " s 1920x1080 clip\n";
      make_synthetic_clip(clips_[len], len, kFullSize.width, kFullSize.height);
    }
    const int len = clips_.begin()->first;
    half_clip_ = (work_.path() / ("clip-" + std::to_string(len) + "s-540p.mp4")).string();
    std::cerr << "profile: making a " << len << " s 960x540 clip\n";
    make_synthetic_clip(half_clip_, len, kHalfSize.width, kHalfSize.height);
  }

  record::JobRecord run_on(int slots, const process::JobSpec& spec, int chunks, int threads = 0) {
    exec::LocalExecutorOptions local;
    local.slots = slots;
    local.threads = threads;
    local.scratch = work_.path();
    local.set_threads = processors_.thread_setter();
    exec::LocalExecutor executor(local, processors_.maker(), store_);
    JobOptions job;
    job.chunks = chunks;
    job.hardware = options_.hardware;
    job.scratch = work_.path();
    record::JobRecord r = run_job(spec, executor, store_, job);
    throw_if_failed(r);
    return r;
  }

  std::string out_path() const { return (work_.path() / "out.mp4").string(); }

  // Per-frame time per endpoint, one chunk on one slot, on each clip length and on the
  // 960x540 clip: the whole run, and the processing stage's work and threads.
  void measure_endpoints() {
    for (const std::string endpoint : {"overlay", "framing", "framing_ai"}) {
      const int limit = endpoint == "framing_ai" ? options_.ai_frames : 0;
      for (const auto& [len, clip] : clips_) {
        std::cerr << "profile: " << endpoint << " on the " << len << " s clip\n";
        const record::JobRecord r = timed_run(endpoint, job_for(endpoint, clip, limit, out_path()));
        Measurement m{endpoint, len, r.frames};
        m.process_ms_per_frame = 1000 * r.chunk_results[0].timings_s.process / m.frames;
        m.total_ms_per_frame = 1000 * r.timings_s.at("dispatch") / m.frames;
        measurements_.push_back(m);
      }
      std::cerr << "profile: " << endpoint << " on the 960x540 clip\n";
      timed_run(endpoint, job_for(endpoint, half_clip_, limit, out_path(), kHalfSize));
    }
    raw_["measurements"] = nlohmann::json::array();
    for (const auto& m : measurements_) {
      raw_["measurements"].push_back({{"endpoint", m.endpoint}, {"clip_s", m.clip_seconds}, {"frames", m.frames},
                                      {"process_ms_per_frame", m.process_ms_per_frame},
                                      {"total_ms_per_frame", m.total_ms_per_frame}});
    }
  }

  // One 1-chunk run, kept for the per-stage fit.
  record::JobRecord timed_run(const std::string& endpoint, const process::JobSpec& spec) {
    record::JobRecord r = run_on(1, spec, 1);
    pipeline_runs_[endpoint].push_back(r);
    return r;
  }

  // Decoding and encoding alone, at the sizes the runs use; x264's presets on the small one.
  void measure_stages() {
    std::cerr << "profile: decoding and encoding alone\n";
    for (const std::string& clip : {clips_.begin()->second, half_clip_}) {
      const StageCost c = measure_decode(clip);
      const media::VideoProbe probe = media::probe_video(media::MediaSource::local(clip));
      decode_points_.push_back({static_cast<double>(probe.width) * probe.height, c});
    }
    const std::string scratch = (work_.path() / "encode.mp4").string();
    const int frames = 45;
    for (const auto& [w, h] : std::vector<std::pair<int, int>>{{404, 720}, {960, 540}, {810, 1440}, {1920, 1080}}) {
      encode_points_["veryfast"].push_back({static_cast<double>(w) * h, measure_encode(w, h, "veryfast", frames, scratch)});
    }
    for (const std::string preset : {"ultrafast", "medium"}) {
      encode_points_[preset].push_back({404.0 * 720.0, measure_encode(404, 720, preset, frames, scratch)});
    }
    measure_content_reference();
    // One decoder alone against one beside every other core decoding: the share of a
    // core a one-thread stage keeps when the cores are saturated.
    const double alone = measure_shared_decode_ms(half_clip_, 1);
    const double shared = measure_shared_decode_ms(half_clip_, cores_);
    decode_core_share_ = shared > 0 ? std::clamp(alone / shared, 0.05, 1.0) : 1.0;
    raw_["decode_core_share"] = {{"alone_ms", alone}, {"shared_ms", shared}, {"threads", cores_}};
    nlohmann::json& raw = raw_["stages_alone"];
    for (const auto& [px, c] : decode_points_) raw["decode"].push_back({{"pixels", px}, {"cpu_ms", c.cpu_ms}, {"wall_ms", c.wall_ms}});
    for (const auto& [preset, points] : encode_points_) {
      for (const auto& [px, c] : points) raw["encode"][preset].push_back({{"pixels", px}, {"cpu_ms", c.cpu_ms}, {"wall_ms", c.wall_ms}});
    }
  }

  // A 9:16 crop at the left, centre and right, where the profiler's framing jobs pan
  // (the whole picture when the output has the source's shape).
  // Each crop holds still: the drawn pattern moves under it, as in the encoding-alone figures.
  static std::vector<CropPath> panned_crops(int width, int height, int out_width, int out_height) {
    const media::CropRect c = process::centred_crop(width, height, out_width, out_height);
    return {{media::CropRect{0, c.y, c.width, c.height}}, {c}, {media::CropRect{width - c.width, c.y, c.width, c.height}}};
  }

  // The content sample a job takes of itself (job/content_sample.h), taken here on the
  // profiler's clips at the sizes the runs use: what a job's sample is compared with.
  void measure_content_reference() {
    std::vector<std::pair<double, double>> decode, encode;
    const std::vector<std::tuple<std::string, int, int, int, int>> takes = {
        {clips_.begin()->second, kFullSize.width, kFullSize.height, kFullSize.crop_output_width, kFullSize.crop_output_height},
        {clips_.begin()->second, kFullSize.width, kFullSize.height, kFullSize.width, kFullSize.height},
        {half_clip_, kHalfSize.width, kHalfSize.height, kHalfSize.crop_output_width, kHalfSize.crop_output_height},
        {half_clip_, kHalfSize.width, kHalfSize.height, kHalfSize.width, kHalfSize.height}};
    for (const auto& [clip, w, h, ow, oh] : takes) {
      const media::MediaSource source = media::MediaSource::local(clip);
      const media::VideoProbe probe = media::probe_video(source);
      const plan::ContentSample c = sample_content(source, probe, 0, panned_crops(w, h, ow, oh), ow, oh);
      decode.push_back({static_cast<double>(w) * h, c.decode_ms});
      encode.push_back({static_cast<double>(ow) * oh, c.encode_ms});
      raw_["content_reference"].push_back({{"source_pixels", w * h}, {"output_pixels", ow * oh},
                                           {"decode_ms", c.decode_ms}, {"encode_ms", c.encode_ms}});
    }
    content_reference_.decode = plan::fit_linear_cost(decode).value_or(plan::LinearCost{});
    content_reference_.encode = plan::fit_linear_cost(encode).value_or(plan::LinearCost{});
  }

  // Counts to measure from 1 to `most`: 1, 2, 4, ... and `most` itself.
  static std::vector<int> doubling_to(int most) {
    std::vector<int> out;
    for (int n = 1; n < most; n *= 2) out.push_back(n);
    out.push_back(most);
    return out;
  }

  // Mean steady-state seconds per frame of a run's chunks: each chunk's time past opening
  // and pre-roll (modelled on their own) over its frames.
  static double chunk_s_per_frame(const record::JobRecord& r) {
    double sum = 0;
    for (const auto& c : r.chunk_results) {
      const double steady = c.timings_s.chunk - c.timings_s.open - c.timings_s.preroll;
      sum += std::max(1e-6, steady) / static_cast<double>(std::max<int64_t>(1, c.frames));
    }
    return sum / static_cast<double>(std::max<size_t>(1, r.chunk_results.size()));
  }

  // How each endpoint's frame time changes with its cores: one chunk alone on 1..cores
  // threads, and k = 2..cores chunks at once sharing the cores, on the shortest clip
  // (framing_ai at 404x720 output, 6 frames a core, to keep it short).
  void measure_scaling() {
    const std::string& clip = clips_.begin()->second;
    for (const std::string endpoint : {"overlay", "framing", "framing_ai"}) {
      const bool ai = endpoint == "framing_ai";
      process::JobSpec spec = job_for(endpoint, clip, ai ? std::max(options_.ai_frames, 6 * cores_) : 0, out_path());
      if (ai) {
        spec.output_width = 404;
        spec.output_height = 720;
      }
      std::cerr << "profile: " << endpoint << " thread scaling\n";
      plan::ThreadScaling& s = scaling_[endpoint];
      s.cores = cores_;
      const double all_cores = chunk_s_per_frame(run_on(1, spec, 1, cores_));
      for (int t : doubling_to(cores_)) {
        s.alone[t] = t == cores_ ? 1.0 : chunk_s_per_frame(run_on(1, spec, 1, t)) / all_cores;
      }
      for (int k : doubling_to(cores_)) {
        s.concurrent[k] = k == 1 ? 1.0 : chunk_s_per_frame(run_on(k, spec, k)) / all_cores;
      }
      s.provenance = measured(": relative per-frame time, " + std::to_string(clips_.begin()->first) + " s clip");
      raw_["thread_scaling"][endpoint] = plan::to_json(s);
    }
  }

  // Per-chunk overhead and join time for N chunks of the middle clip (framing).
  void measure_chunking() {
    const int mid = options_.lengths[options_.lengths.size() / 2];
    nlohmann::json chunking = nlohmann::json::array();
    double per_frame_one_chunk = 0;
    for (int n : {1, 2, 4, 8}) {
      const Stopwatch wall;
      const record::JobRecord r = run_on(cores_, job_for("framing", clips_[mid], 0, out_path()), n);
      const double wall_s = wall.seconds();
      // Overhead of a chunk: its task time beyond what its frames cost in the one-chunk run.
      if (n == 1) per_frame_one_chunk = r.chunk_results[0].timings_s.task / static_cast<double>(r.frames);
      double overhead = 0;
      for (const auto& c : r.chunk_results) {
        overhead += c.timings_s.task - static_cast<double>(c.frames) * per_frame_one_chunk;
        if (c.index > 0) {
          preroll_sum_ += c.timings_s.preroll;
          ++preroll_n_;
        }
      }
      const double join_s = r.timings_s.at("join");
      if (n > 1) join_points_.push_back({static_cast<double>(n), join_s});
      chunking.push_back({{"chunks", n}, {"wall_s", wall_s}, {"join_s", join_s},
                          {"overhead_per_chunk_s", overhead / n}, {"frames", r.frames}});
    }
    raw_["chunking"] = chunking;
  }

  // detect: the whole call (detector load, seek and decode, network) and the network alone,
  // median of 5 on the middle clip.
  void measure_detect() {
    const int mid = options_.lengths[options_.lengths.size() / 2];
    const process::JobSpec spec = process::parse_job_spec({{"endpoint", "detect"}, {"input", clips_[mid]}, {"frame", 0}});
    const media::MediaSource source = media::MediaSource::local(spec.input);
    const media::VideoProbe probe = media::probe_video(source);
    raw_["detect_engine"] = processors_.detect(spec, source, probe)["engine"];  // loads the detector once
    std::vector<double> total_ms, network_ms;
    for (int i = 0; i < 5; ++i) {
      const nlohmann::json r = processors_.detect(spec, source, probe);
      total_ms.push_back(r["total_ms"].get<double>());
      network_ms.push_back(r["inference_ms"].get<double>());
    }
    raw_["detect_total_ms"] = median(total_ms);
    raw_["detect_network_ms"] = median(network_ms);
  }

  // Read and write throughput: local disk, and the store when given.
  void measure_transfer() {
    const std::string clip = clips_[options_.lengths[options_.lengths.size() / 2]];
    const double clip_mb = static_cast<double>(std::filesystem::file_size(clip)) / 1e6;
    Stopwatch clock;
    { const std::string bytes = store_.get(clip); }
    const double local_read_mb_s = clip_mb / std::max(1e-6, clock.lap());
    double down = local_read_mb_s, up = local_read_mb_s, latency = 0.001;
    if (!options_.store_url.empty()) {
      const std::string url = options_.store_url + (options_.store_url.back() == '/' ? "" : "/") + "reelscale-profile.bin";
      clock.restart();
      store_.put_file(clip, url);
      up = clip_mb / clock.lap();
      store_.get_to_file(url, (work_.path() / "back.bin").string());
      down = clip_mb / clock.lap();
      for (int i = 0; i < 5; ++i) store_.head(url);
      latency = clock.lap() / 5;
      store_.remove(url);
    }
    raw_["transfer"] = {{"down_mb_per_s", down}, {"up_mb_per_s", up}, {"request_latency_s", latency},
                        {"measured_against", options_.store_url.empty() ? "local disk" : options_.store_url}};
  }

  plan::Provenance measured(const std::string& what) const { return {source() + what, options_.date, true}; }
  std::string source() const { return "measured by `reelscale profile` on " + std::to_string(cores_) + " cores"; }

  // A cell whose start-ups are measured here: cold = process start (and loads), warm ≈ nothing.
  plan::Cell measured_cell(double cold_s, const std::string& cold_what) const {
    plan::Cell cell;
    cell.cold_start_s = plan::Distribution::constant(cold_s);
    cell.cold_start_s.provenance = measured(cold_what);
    cell.warm_start_s = plan::Distribution::constant(0.01);
    cell.warm_start_s.provenance = {"estimate: a task on a running process", options_.date, false};
    return cell;
  }

  static plan::LinearCost fit_cpu(const std::vector<std::pair<double, StageCost>>& points) {
    std::vector<std::pair<double, double>> xy;
    for (const auto& [pixels, c] : points) xy.push_back({pixels, c.cpu_ms});
    return plan::fit_linear_cost(xy).value_or(plan::LinearCost{});
  }

  static double median_threads(const std::vector<std::pair<double, StageCost>>& points) {
    std::vector<double> t;
    for (const auto& [pixels, c] : points) t.push_back(c.threads());
    return std::max(1.0, median(t));
  }

  // Decoding and encoding as measured alone: their work by pixels, the cores they kept busy.
  plan::FrameStages codec_stages() const {
    plan::FrameStages st;
    st.cores = cores_;
    st.content_reference = content_reference_;
    st.decode["h264"] = fit_cpu(decode_points_);
    st.decode_threads = median_threads(decode_points_);
    const plan::LinearCost base = fit_cpu(encode_points_.at("veryfast"));
    st.encode_threads = median_threads(encode_points_.at("veryfast"));
    for (const auto& [preset, points] : encode_points_) {
      double ratio = 0;
      for (const auto& [pixels, c] : points) ratio += c.cpu_ms / std::max(1e-6, base.ms(pixels));
      st.encode[preset] = preset == "veryfast" ? base : base.times(ratio / static_cast<double>(points.size()));
    }
    return st;
  }

  // An endpoint's stages: processing is its busy time per frame in the runs at the two
  // sizes, on one thread (framing, overlay); framing_ai's network runs on every core, so
  // its work is that busy time times the speed-up its thread scaling measured (CPU time
  // would count libtorch's spinning threads as work). The pipeline's inefficiency is the
  // runs' measured time over the model's.
  plan::FrameStages fit_stages(const std::string& endpoint) const {
    plan::FrameStages st = codec_stages();
    double speedup = 1;
    if (auto it = scaling_.find(endpoint); endpoint == "framing_ai" && it != scaling_.end() && it->second.alone.count(1)) {
      speedup = std::clamp(it->second.alone.at(1), 1.0, static_cast<double>(cores_));
    }
    std::vector<std::pair<double, double>> process;
    std::vector<double> inefficiency;
    std::vector<plan::ChunkObservation> observed;
    for (const record::JobRecord& run : pipeline_runs_.at(endpoint)) {
      const plan::ChunkObservation o = plan::chunk_observations(run, 1.0).at(0);
      const double busy = 1000 * run.chunk_results[0].timings_s.process / o.frames;
      process.push_back({o.work.output_pixels, busy * speedup});
      observed.push_back(o);
    }
    st.process_threads = speedup;
    // The network on every core keeps only this share of each core's speed (SMT
    // siblings, memory bandwidth); plain stages scale with the cores.
    st.decode_core_share = decode_core_share_;
    st.process_core_share = endpoint == "framing_ai" ? std::clamp(speedup / cores_, 0.05, 1.0) : decode_core_share_;
    st.process = plan::fit_linear_cost(process).value_or(plan::LinearCost{});
    for (const plan::ChunkObservation& o : observed) inefficiency.push_back(o.frame_ms / st.times(o.work).frame_ms);
    st.efficiency = std::clamp(median(inefficiency), 1.0, 10.0);
    st.provenance = measured(": CPU work of each stage (decode and encode alone, processing in 1-chunk runs) at "
                             "1920x1080 and 960x540 sources");
    return st;
  }

  void add_video_cells(plan::Profile& p) const {
    for (const std::string endpoint : {"overlay", "framing", "framing_ai"}) {
      std::vector<double> ms;
      for (const auto& m : measurements_) {
        if (m.endpoint == endpoint) ms.push_back(m.total_ms_per_frame);
      }
      const bool ai = endpoint == "framing_ai";
      plan::Cell cell = measured_cell(options_.process_startup_s + (ai ? module_s_ + weights_s_ : 0),
                                      std::string(": process start-up") + (ai ? " + model load" : ""));
      double sum = 0;
      for (double v : ms) sum += v;
      cell.frame_time.ms_at_reference = ms.empty() ? 0 : sum / static_cast<double>(ms.size());
      // overlay keeps the source's size: its figure is for 1920x1080 frames.
      const bool at_source_size = endpoint == "overlay";
      cell.frame_time.reference_pixels = at_source_size ? 1920.0 * 1080.0 : 810.0 * 1440.0;
      cell.frame_time.provenance = measured(at_source_size ? " (1920x1080 output; ms per frame of a whole 1-chunk run)"
                                                           : " (810x1440 output; ms per frame of a whole 1-chunk run)");
      if (auto it = scaling_.find(endpoint); it != scaling_.end()) cell.scaling = it->second;
      cell.frame_time.stages = fit_stages(endpoint);
      p.cells[endpoint][options_.hardware] = cell;
    }
    plan::Cell detect = measured_cell(options_.process_startup_s + module_s_, ": process start-up + network module load");
    detect.frame_time.fixed_ms = raw_["detect_total_ms"].get<double>();  // one frame, whatever its size
    detect.frame_time.ms_at_reference = 0;
    detect.frame_time.exponent = 0;
    detect.frame_time.provenance = measured(" (detect on a 1920x1080 frame: detector load, seek, decode, network)");
    p.cells["detect"][options_.hardware] = detect;
  }

  // This machine as one hardware type; figures measured today.
  plan::Profile build_profile() const {
    plan::Profile p = plan::default_profile();
    add_video_cells(p);
    p.name = "measured-" + options_.hardware + "-" + options_.date;
    p.provenance = measured("; GPU rows estimated from the network and the GPUs' datasheets (docs/planner.md)");
    p.orchestrator_start_s = plan::Distribution::constant(options_.process_startup_s);
    p.orchestrator_start_s.provenance = measured(": process start-up");
    const nlohmann::json& t = raw_["transfer"];
    p.request_latency_s = plan::Distribution::constant(t["request_latency_s"].get<double>());
    p.request_latency_s.provenance = measured(": " + t["measured_against"].get<std::string>());
    p.download_mb_per_s = t["down_mb_per_s"].get<double>();
    p.upload_mb_per_s = t["up_mb_per_s"].get<double>();
    p.whole_file_download = false;
    p.transfer_provenance = p.request_latency_s.provenance;
    p.preroll_s = plan::Distribution::constant(preroll_n_ ? preroll_sum_ / preroll_n_ : 0);
    p.preroll_s.provenance = measured(": mean pre-roll of chunks after the first");
    if (auto fit = plan::fit_join(join_points_, measured(": fit over N = 2, 4, 8"))) p.join = *fit;
    p.cleanup_s = plan::Distribution::constant(median_cleanup_s());
    p.cleanup_s.provenance = measured(": median clean-up of the 1-chunk runs (local disk)");
    return p;
  }

  double median_cleanup_s() const {
    std::vector<double> seconds;
    for (const auto& [endpoint, runs] : pipeline_runs_) {
      for (const record::JobRecord& r : runs) {
        if (auto it = r.timings_s.find("cleanup"); it != r.timings_s.end()) seconds.push_back(it->second);
      }
    }
    return seconds.empty() ? 0.05 : median(seconds);
  }

  void report_measurements(std::ostringstream& os) const {
    os << "# Profile of this machine (" << options_.hardware << ")\n\n"
       << "Measured by `reelscale profile` on " << options_.date << ", " << cores_
       << " cores. Synthetic 1920x1080 30 fps clips; output 810x1440 for framing and framing_ai (crop 608x1080), the "
       << "source size for overlay; x264 veryfast.\n\n"
       << "## Per-frame time (one chunk, one slot)\n\n| endpoint | clip s | frames | processing ms/frame | whole run ms/frame |\n|---|---|---|---|---|\n";
    for (const auto& m : measurements_) {
      os << "| " << m.endpoint << " | " << m.clip_seconds << " | " << m.frames << " | " << m.process_ms_per_frame << " | "
         << m.total_ms_per_frame << " |\n";
    }
    const nlohmann::json& t = raw_["transfer"];
    os << "\nframing_ai processed the first " << options_.ai_frames << " frames of each clip (it is slow on CPUs).\n\n"
       << "## Start-up, model load, transfer\n\n| figure | value |\n|---|---|\n"
       << "| process start-up (loading libraries) | " << options_.process_startup_s << " s |\n"
       << "| network module load (libtorch, OpenCV) | " << module_s_ << " s |\n"
       << "| model load (realesr-animevideov3, read + build) | " << weights_s_ << " s |\n"
       << "| detect, one 1920x1080 frame (" << raw_["detect_engine"].get<std::string>() << " engine): whole call / network | "
       << raw_["detect_total_ms"].get<double>() << " ms / " << raw_["detect_network_ms"].get<double>() << " ms |\n"
       << "| download | " << t["down_mb_per_s"].get<double>() << " MB/s |\n"
       << "| upload | " << t["up_mb_per_s"].get<double>() << " MB/s |\n"
       << "| request latency | " << 1000 * t["request_latency_s"].get<double>() << " ms ("
       << t["measured_against"].get<std::string>() << ") |\n\n";
  }

  void report_scaling(std::ostringstream& os) const {
    os << "## Thread scaling (per-frame time relative to one chunk alone on all " << cores_ << " cores)\n\n"
       << "| endpoint | alone, by threads | k chunks at once, each |\n|---|---|---|\n";
    for (const auto& [endpoint, s] : scaling_) {
      os << "| " << endpoint << " |";
      for (const auto& [t, v] : s.alone) os << " " << t << ": " << v;
      os << " |";
      for (const auto& [k, v] : s.concurrent) os << " " << k << ": " << v;
      os << " |\n";
    }
    os << "\nA chunk on fewer threads is slower by the first figure; k chunks at once each run slower by the "
       << "second, so k chunks finish k / that times as many frames per second as one.\n\n";
  }

  std::string report(const plan::Profile& p) const {
    std::ostringstream os;
    os << std::fixed << std::setprecision(2);
    report_measurements(os);
    report_scaling(os);
    os << "## Chunking (framing, " << options_.lengths[options_.lengths.size() / 2] << " s clip, " << cores_
       << " slots)\n\n| chunks | wall s | join s | overhead per chunk s |\n|---|---|---|---|\n";
    for (const auto& c : raw_["chunking"]) {
      os << "| " << c["chunks"].get<int>() << " | " << c["wall_s"].get<double>() << " | " << c["join_s"].get<double>() << " | "
         << c["overhead_per_chunk_s"].get<double>() << " |\n";
    }
    os << "\nJoin fit: " << p.join.base_s << " s + " << p.join.per_chunk_s << " s per chunk. Pre-roll per chunk: "
       << p.preroll_s.mean() << " s.\n\n## Break-even lengths the planner derives (this machine only)\n\n```\n";
    plan::Policy policy;
    policy.allowed_hardware = {options_.hardware};
    policy.deadline_s = 60;
    const plan::PriceTable prices = plan::default_prices();
    const plan::Platform platform;
    for (const std::string endpoint : {"framing", "framing_ai"}) {
      const plan::Planner planner(p, prices, platform, policy);
      os << plan::to_text(plan::sweep_thresholds(planner, endpoint, 0.5, 120)) << "\n";
    }
    os << "```\n";
    return os.str();
  }

  const ProfilerOptions& options_;
  process::Processors& processors_;
  store::ObjectStore& store_;
  const int cores_;
  ScopedTempDir work_;
  nlohmann::json raw_;
  double weights_s_ = 0;
  double module_s_ = 0;
  std::map<int, std::string> clips_;
  std::string half_clip_;
  std::map<std::string, std::vector<record::JobRecord>> pipeline_runs_;  // 1-chunk runs by endpoint
  std::vector<std::pair<double, StageCost>> decode_points_;
  plan::ContentReference content_reference_;
  double decode_core_share_ = 1;
  std::map<std::string, std::vector<std::pair<double, StageCost>>> encode_points_;
  std::vector<Measurement> measurements_;
  std::map<std::string, plan::ThreadScaling> scaling_;
  std::vector<std::pair<double, double>> join_points_;
  double preroll_sum_ = 0;
  int preroll_n_ = 0;
};

}  // namespace

ProfileResult profile_machine(const ProfilerOptions& options, process::Processors& processors, store::ObjectStore& store) {
  if (options.lengths.empty()) fail(ErrorKind::kBadInput, "--lengths needs at least one clip length");
  Profiler profiler(options, processors, store);
  return profiler.run();
}

}  // namespace reelscale::job
