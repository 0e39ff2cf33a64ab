// exec/local_run.cpp — split, run on threads, join.
#include "exec/local_run.h"

#include <chrono>
#include <thread>

#include "common/files.h"
#include "exec/executor.h"

namespace reelscale::exec {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
}  // namespace

media::Rational default_output_fps(const media::VideoProbe& probe) {
  const double nominal = probe.frame_rate.to_double();
  if (!probe.variable_frame_rate && probe.frame_rate.valid() && nominal >= 1 && nominal <= 240) return probe.frame_rate;
  const double average = probe.average_frame_rate.to_double();
  if (probe.average_frame_rate.valid() && average >= 1 && average <= 240) {
    // Round a variable rate's average to a whole number of frames per second.
    return probe.variable_frame_rate ? media::Rational{std::max<int64_t>(1, std::llround(average)), 1}
                                     : probe.average_frame_rate;
  }
  return media::Rational{30, 1};
}

LocalRunResult run_local(const LocalRunRequest& req) {
  const auto start = Clock::now();
  LocalRunResult result;
  if (!req.make_processor) fail(ErrorKind::kInternal, "no processor for the job");
  if (req.chunks < 1) fail(ErrorKind::kBadInput, "--chunks must be at least 1");
  if (req.input.bytes) fail(ErrorKind::kInternal, "run_local reads local files; remote inputs go through the orchestrator");
  check_output_path(req.output, req.input.path);
  media::check_output_container(req.output);

  result.probe = req.probe ? *req.probe : media::probe_video(req.input);
  const media::VideoProbe& probe = result.probe;
  result.fps = req.fps.valid() ? req.fps : default_output_fps(probe);
  const media::Timeline timeline(probe.relative_times_ns(), probe.relative_end_ns(), result.fps, req.segments);
  result.frames = timeline.output_frame_count();
  const std::vector<media::FrameRange> ranges = media::split_evenly(result.frames, req.chunks);
  result.probe_seconds = seconds_since(start);

  const std::filesystem::path out_path(req.output);
  const std::filesystem::path scratch_parent =
      !req.scratch_parent.empty() ? req.scratch_parent : (out_path.has_parent_path() ? out_path.parent_path() : ".");
  ScopedTempDir scratch(scratch_parent, ".reelscale-chunks-");

  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const int slots = std::max(1, std::min(req.chunks, req.slots > 0 ? req.slots : static_cast<int>(cores)));
  media::EncoderSettings encoder = req.encoder;
  encoder.fps = result.fps;
  encoder.validate_options();
  if (encoder.threads == 0) encoder.threads = std::max(1, static_cast<int>(cores) / slots);

  // The chunk tasks, as the orchestrator would send them, writing into the scratch folder.
  process::JobSpec job;
  job.endpoint = process::Endpoint::kCopy;
  job.input = req.input.path;
  job.output = req.output;
  job.segments = req.segments;
  job.fps = result.fps;
  std::vector<ChunkTaskSpec> tasks;
  std::vector<media::ChunkFile> files;
  for (size_t i = 0; i < ranges.size(); ++i) {
    ChunkTaskSpec t;
    t.task_id = std::to_string(i);
    t.index = static_cast<int>(i);
    t.job = job;
    t.input = req.input.path;
    t.probe = probe;
    t.fps = result.fps;
    t.range = ranges[i];
    t.output = (scratch.path() / ("chunk-" + std::to_string(i) + ".mp4")).string();
    t.encoder = encoder;
    files.push_back({t.output, ranges[i].begin, ranges[i].size()});
    tasks.push_back(std::move(t));
  }
  store::ObjectStore local_files{store::S3Config{}};
  LocalExecutor executor(
      slots, [&](const process::JobSpec&) -> process::SlotProcessorFactory { return req.make_processor; }, local_files,
      scratch.path());
  if (req.observer) executor.set_observer(req.observer);
  const auto chunks_start = Clock::now();
  const std::vector<ChunkResult> done = executor.run(tasks, req.progress, req.cancel);
  result.chunks_seconds = seconds_since(chunks_start);
  result.frames_skipped = executor.frames_skipped();
  result.chunks.resize(done.size());
  for (size_t i = 0; i < done.size(); ++i) result.chunks[i] = {ranges[i], done[i].stats};

  const auto join_start = Clock::now();
  media::AudioRequest audio;
  audio.source = req.input;
  audio.stream_index = probe.audio.empty() ? -1 : probe.audio.front().index;
  audio.video_start_seconds = probe.start_seconds();
  audio.segments = req.segments;
  audio.output_seconds = static_cast<double>(result.frames) * result.fps.den / result.fps.num;
  audio.mode = req.audio;
  result.join = media::join_chunks(files, result.fps, req.output, &audio);
  result.join_seconds = seconds_since(join_start);
  result.total_seconds = seconds_since(start);
  return result;
}

}  // namespace reelscale::exec
