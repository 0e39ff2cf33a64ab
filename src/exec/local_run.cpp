// exec/local_run.cpp — split, run on threads, join.
#include "exec/local_run.h"

#include <chrono>
#include <exception>
#include <mutex>
#include <thread>

#include "common/files.h"

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
  if (!req.input.bytes) check_output_path(req.output, req.input.path);
  else check_output_path(req.output, "");
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

  result.chunks.resize(ranges.size());
  std::vector<media::ChunkFile> files(ranges.size());
  for (size_t i = 0; i < ranges.size(); ++i) {
    files[i] = {(scratch.path() / ("chunk-" + std::to_string(i) + ".mp4")).string(), ranges[i].begin, ranges[i].size()};
    result.chunks[i].range = ranges[i];
  }

  std::atomic<size_t> next_chunk{0};
  std::atomic<bool> failed{false};
  std::atomic<int64_t> frames_done{0};
  std::atomic<int64_t> skipped{0};
  std::mutex error_mutex;
  std::exception_ptr first_error;
  const auto chunks_start = Clock::now();
  auto slot_main = [&] {
    try {
      std::unique_ptr<process::FrameProcessor> processor = req.make_processor(probe);
      while (true) {
        if (failed.load() || (req.cancel && req.cancel->load())) break;
        const size_t i = next_chunk.fetch_add(1);
        if (i >= ranges.size()) break;
        ChunkTask task{req.input, &probe, &timeline, ranges[i], files[i].path, encoder, 1};
        int64_t reported = 0;
        auto progress = [&](int64_t done) {
          frames_done += done - reported;
          reported = done;
          if (req.progress) req.progress(frames_done.load(), result.frames);
        };
        result.chunks[i].stats = run_chunk(task, *processor, req.observer, progress, req.cancel);
      }
      skipped += processor->frames_skipped();
    } catch (...) {
      std::lock_guard lock(error_mutex);
      if (!first_error) first_error = std::current_exception();
      failed = true;
    }
  };
  std::vector<std::thread> threads;
  for (int s = 1; s < slots; ++s) threads.emplace_back(slot_main);
  slot_main();
  for (auto& t : threads) t.join();
  if (first_error) std::rethrow_exception(first_error);
  if (req.cancel && req.cancel->load()) fail(ErrorKind::kCancelled, "the job was cancelled");
  result.frames_skipped = skipped.load();
  result.chunks_seconds = seconds_since(chunks_start);

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
