// exec/orchestrator.cpp — the job pipeline around the executors.
#include "exec/orchestrator.h"

#include <random>
#include <sstream>
#include <thread>

#include "common/files.h"
#include "exec/store_source.h"
#include "media/join.h"
#include "plan/planner.h"

namespace reelscale::exec {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string new_job_id() {
  std::random_device rd;
  std::ostringstream os;
  os << std::hex << rd() << rd();
  return os.str().substr(0, 12);
}

// Removes the job's temporary chunk objects when the job ends, however it ends.
class TempPrefix {
 public:
  TempPrefix(store::ObjectStore& store, std::string prefix) : store_(store), prefix_(std::move(prefix)) {}
  ~TempPrefix() {
    if (!done_) cleanup();
  }
  double cleanup() {
    const auto t = Clock::now();
    done_ = true;
    try {
      store_.remove_prefix(prefix_);
      const store::Location loc = store::Location::parse(prefix_);
      if (!loc.s3) {
        std::error_code ec;
        std::filesystem::remove_all(loc.path, ec);
      }
    } catch (const std::exception&) {
      // Best effort; a leftover is reported by the next run's listing.
    }
    return seconds_since(t);
  }
  const std::string& prefix() const { return prefix_; }

 private:
  store::ObjectStore& store_;
  std::string prefix_;
  bool done_ = false;
};

std::string default_temp_prefix(const std::string& output, const std::string& job_id) {
  const store::Location loc = store::Location::parse(output);
  if (loc.s3) {
    const auto slash = loc.key.rfind('/');
    const std::string dir = slash == std::string::npos ? "" : loc.key.substr(0, slash + 1);
    return "s3://" + loc.bucket + "/" + dir + ".reelscale-tmp-" + job_id + "/";
  }
  const std::filesystem::path p(loc.path);
  return ((p.has_parent_path() ? p.parent_path() : std::filesystem::path(".")) / (".reelscale-tmp-" + job_id)).string() + "/";
}

// A local destination must be writable and not the input; no job writes over its input.
void check_destination(const process::JobSpec& spec) {
  const store::Location out_loc = store::Location::parse(spec.output);
  const store::Location in_loc = store::Location::parse(spec.input);
  if (!out_loc.s3) check_output_path(out_loc.path, in_loc.s3 ? "" : in_loc.path);
  if (spec.output == spec.input) fail(ErrorKind::kBadInput, "output path is the input file: " + spec.output);
}

nlohmann::json estimate_json(const plan::Estimate& e) {
  return {{"hardware", e.hardware}, {"chunks", e.chunks}, {"wall_mean_s", e.wall_mean_s}, {"wall_p90_s", e.wall_p90_s},
          {"cost_usd", e.cost},
          {"breakdown_s", {{"orchestrator_start", e.orchestrator_mean_s}, {"slowest_startup", e.startup_mean_s},
                           {"transfer", e.transfer_s}, {"preroll", e.preroll_s}, {"compute", e.compute_s},
                           {"join", e.join_s}, {"final_upload", e.final_upload_s}, {"cleanup", e.cleanup_mean_s}}}};
}
}  // namespace

nlohmann::json run_job(process::JobSpec spec, Executor& executor, store::ObjectStore& store, const RunOptions& options) {
  const auto start = Clock::now();
  const double orchestrator_start_s = options.process_age_s;
  const std::string job_id = new_job_id();
  nlohmann::json record = {{"job_id", job_id}, {"endpoint", process::endpoint_name(spec.endpoint)},
                           {"input", spec.input}, {"output", spec.output}, {"executor", executor.describe()}};
  if (spec.endpoint == process::Endpoint::kDetect) fail(ErrorKind::kInternal, "detect jobs go through run_detect_job");

  // Check the destination before any work.
  check_destination(spec);
  const store::Location out_loc = store::Location::parse(spec.output);
  media::check_output_container(out_loc.s3 ? out_loc.key : out_loc.path);

  // Probe (range reads for a stored input).
  auto t = Clock::now();
  const media::MediaSource source = media_source_for(store, spec.input);
  const media::VideoProbe probe = media::probe_video(source);
  const double probe_s = seconds_since(t);
  const media::Rational fps = spec.fps_given ? spec.fps
                              : (spec.endpoint == process::Endpoint::kCopy || spec.endpoint == process::Endpoint::kOverlay)
                                  ? probe.frame_rate.valid() && probe.frame_rate.to_double() <= 120 ? probe.frame_rate : spec.fps
                                  : spec.fps;
  spec.fps = fps;
  const media::Timeline timeline(probe.relative_times_ns(), probe.relative_end_ns(), fps, spec.segments);
  const std::vector<std::string> warnings = process::check_against_source(spec, probe, timeline);
  const int64_t frames = timeline.output_frame_count();

  // Plan.
  t = Clock::now();
  plan::Policy policy = options.policy;
  if (!options.hardware.empty()) policy.allowed_hardware = {options.hardware};
  const plan::Planner planner(options.profile, options.prices, options.platform, policy);
  plan::JobShape shape;
  shape.endpoint = process::endpoint_name(spec.endpoint);
  shape.frames = frames;
  shape.fps = fps.to_double();
  const bool keeps_size = spec.endpoint == process::Endpoint::kCopy || spec.endpoint == process::Endpoint::kOverlay;
  shape.output_pixels = keeps_size ? static_cast<double>(probe.width) * probe.height
                                   : static_cast<double>(spec.output_width) * spec.output_height;
  shape.input_bytes = static_cast<double>(probe.file_bytes);
  nlohmann::json plan_json = nullptr;
  int chunks = options.chunks > 0 ? options.chunks : spec.chunks;
  if (!options.profile.cells.count(shape.endpoint)) {
    plan_json = {{"note", "the profile has no figures for " + shape.endpoint}};
    if (chunks <= 0) chunks = 1;
  } else if (chunks <= 0) {
    const plan::PlanResult r = planner.plan(shape);
    chunks = r.chosen.chunks;
    plan_json = {{"chosen", estimate_json(r.chosen)}, {"feasible", r.feasible}, {"reason", r.reason},
                 {"profile", options.profile.name}};
  } else {
    const std::vector<std::string> hw = planner.hardware(shape.endpoint);
    const std::string h = !options.hardware.empty() ? options.hardware : hw.empty() ? "CPU" : hw.front();
    if (options.profile.has(shape.endpoint, h)) {
      const plan::Estimate e = plan::estimate(options.profile, options.prices, options.platform, shape, h,
                                              static_cast<int>(std::min<int64_t>(chunks, frames)), false);
      plan_json = {{"chosen", estimate_json(e)}, {"forced_chunks", chunks}, {"profile", options.profile.name}};
    }
  }
  const double plan_s = seconds_since(t);
  const std::vector<media::FrameRange> ranges = media::split_evenly(frames, chunks);

  // Tasks.
  TempPrefix temp(store, options.temp_prefix.empty() ? default_temp_prefix(spec.output, job_id) : options.temp_prefix);
  const store::Location temp_loc = store::Location::parse(temp.prefix());
  if (!temp_loc.s3) std::filesystem::create_directories(temp_loc.path);
  double deadline = options.task_deadline_s;
  if (deadline <= 0) {
    deadline = 600;
    if (plan_json.contains("chosen")) deadline = std::max(60.0, 4 * plan_json["chosen"]["wall_p90_s"].get<double>());
  }
  media::EncoderSettings encoder = options.encoder;
  encoder.preset = spec.preset;
  encoder.crf = spec.crf;
  encoder.fps = fps;
  encoder.validate_options();
  std::vector<ChunkTaskSpec> tasks;
  for (size_t i = 0; i < ranges.size(); ++i) {
    ChunkTaskSpec task;
    task.task_id = job_id + "-c" + std::to_string(i);
    task.index = static_cast<int>(i);
    task.job = spec;
    task.input = spec.input;
    task.probe = probe;
    task.fps = fps;
    task.range = ranges[i];
    task.output = temp.prefix() + "chunk-" + std::to_string(i) + ".mp4";
    task.encoder = encoder;
    task.deadline_s = deadline;
    tasks.push_back(std::move(task));
  }

  // Dispatch.
  t = Clock::now();
  const std::vector<ChunkResult> results = executor.run(tasks, options.progress, options.cancel);
  const double dispatch_s = seconds_since(t);
  if (options.cancel && options.cancel->load()) fail(ErrorKind::kCancelled, "the job was cancelled");

  // Collect the chunks locally, join with the audio, and put the result in place.
  ScopedTempDir scratch(options.scratch, ".reelscale-join-");
  t = Clock::now();
  std::vector<media::ChunkFile> files;
  for (size_t i = 0; i < results.size(); ++i) {
    const store::Location chunk_loc = store::Location::parse(results[i].output);
    std::string local = chunk_loc.path;
    if (chunk_loc.s3) {
      local = (scratch.path() / ("chunk-" + std::to_string(i) + ".mp4")).string();
      store.get_to_file(results[i].output, local);
    }
    files.push_back({local, ranges[i].begin, ranges[i].size()});
  }
  const double collect_s = seconds_since(t);
  t = Clock::now();
  media::AudioRequest audio;
  audio.source = source;
  audio.stream_index = probe.audio.empty() ? -1 : probe.audio.front().index;
  audio.video_start_seconds = probe.start_seconds();
  audio.segments = spec.segments;
  audio.output_seconds = static_cast<double>(frames) * fps.den / fps.num;
  audio.mode = spec.audio;
  const std::string joined = out_loc.s3 ? (scratch.path() / ("out" + std::filesystem::path(out_loc.key).extension().string())).string()
                                        : out_loc.path;
  const media::JoinResult join = media::join_chunks(files, fps, joined, &audio);
  const double join_s = seconds_since(t);
  t = Clock::now();
  if (out_loc.s3) store.put_file(joined, spec.output);
  const double upload_s = seconds_since(t);
  const double cleanup_s = temp.cleanup();

  nlohmann::json chunk_list = nlohmann::json::array();
  int64_t bytes_read = 0;
  for (const auto& r : results) {
    chunk_list.push_back(to_json(r));
    bytes_read += r.input_bytes_read;
  }
  record["frames"] = frames;
  record["output_pixels"] = shape.output_pixels;
  record["hardware"] = !options.hardware.empty() ? options.hardware
                       : plan_json.contains("chosen") ? plan_json["chosen"]["hardware"].get<std::string>()
                                                      : std::string();
  record["fps"] = fps.to_string();
  record["chunks"] = static_cast<int>(ranges.size());
  record["bytes"] = join.bytes;
  record["audio"] = join.audio ? (join.audio_copied ? "copied" : "reencoded") : "none";
  record["warnings"] = warnings;
  record["plan"] = plan_json;
  record["timings_s"] = {{"orchestrator_start", orchestrator_start_s}, {"probe", probe_s}, {"plan", plan_s},
                         {"dispatch", dispatch_s}, {"collect_chunks", collect_s}, {"join", join_s},
                         {"final_upload", upload_s}, {"cleanup", cleanup_s}, {"total", seconds_since(start)}};
  record["chunk_results"] = chunk_list;
  record["input_bytes"] = probe.file_bytes;
  record["workers_read_input_bytes"] = bytes_read;
  const auto& s = store.stats();
  record["store"] = {{"requests", s.requests.load()}, {"retries", s.retries.load()}, {"bytes_down", s.bytes_down.load()},
                     {"bytes_up", s.bytes_up.load()}};
  return record;
}

nlohmann::json run_detect_job(const process::JobSpec& spec, store::ObjectStore& store, const DetectFunction& detect) {
  const auto start = Clock::now();
  nlohmann::json record = {{"job_id", new_job_id()}, {"endpoint", "detect"}, {"input", spec.input}, {"output", spec.output}};
  if (!spec.output.empty()) check_destination(spec);
  auto t = Clock::now();
  const media::MediaSource source = media_source_for(store, spec.input);
  const media::VideoProbe probe = media::probe_video(source);
  const double probe_s = seconds_since(t);
  t = Clock::now();
  nlohmann::json result = detect(spec, source, probe);
  const double detect_s = seconds_since(t);
  t = Clock::now();
  if (!spec.output.empty()) store.put_bytes(result.dump(2) + "\n", spec.output);
  const double upload_s = seconds_since(t);
  record["result"] = std::move(result);
  record["timings_s"] = {{"probe", probe_s}, {"detect", detect_s}, {"final_upload", upload_s}, {"total", seconds_since(start)}};
  return record;
}

}  // namespace reelscale::exec
