// exec/chunk_runner.cpp — the read → process → encode loop of one chunk.
#include "exec/chunk_runner.h"

#include <chrono>
#include <vector>

namespace reelscale::exec {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
}  // namespace

ChunkStats run_chunk(const ChunkTask& task, process::FrameProcessor& processor, const FrameObserver& observer,
                     const ProgressCallback& progress, const std::atomic<bool>* cancel) {
  ChunkStats stats;
  const auto start = Clock::now();
  media::FrameReader reader(task.source, *task.probe, task.decoder_threads);
  media::EncoderSettings settings = task.encoder;
  settings.width = processor.output_width();
  settings.height = processor.output_height();
  media::ChunkEncoder encoder(task.output_path, settings);
  stats.open_seconds = seconds_since(start);

  const int batch = std::max(1, processor.preferred_batch());
  // Sources must stay valid for the whole batch, so each is referenced into its own frame.
  std::vector<media::FramePtr> sources;
  std::vector<media::FramePtr> outputs;
  for (int i = 0; i < batch; ++i) {
    sources.push_back(media::make_frame());
    outputs.push_back(media::make_frame(settings.width, settings.height, AV_PIX_FMT_YUV420P));
  }
  std::vector<process::FrameJob> jobs;
  jobs.reserve(batch);

  int64_t j = task.range.begin;
  bool first = true;
  while (j < task.range.end) {
    if (cancel && cancel->load()) fail(ErrorKind::kCancelled, "the job was cancelled");
    jobs.clear();
    const auto read_start = Clock::now();
    for (int i = 0; i < batch && j < task.range.end; ++i, ++j) {
      const AVFrame& frame = reader.frame(task.timeline->source_frame(j));
      av_frame_unref(sources[i].get());
      media::check_av(av_frame_ref(sources[i].get(), &frame), "frame reference", ErrorKind::kInternal);
      // The encoder may still hold a reference to the last batch's buffer: write into a fresh one.
      if (!av_frame_is_writable(outputs[i].get())) media::check_av(av_frame_make_writable(outputs[i].get()), "frame buffer");
      jobs.push_back({sources[i].get(), j, outputs[i].get()});
      if (first) {
        stats.preroll_seconds = seconds_since(read_start);
        first = false;
      }
    }
    stats.decode_seconds += seconds_since(read_start);
    const auto process_start = Clock::now();
    processor.process(jobs);
    stats.process_seconds += seconds_since(process_start);
    const auto encode_start = Clock::now();
    for (const process::FrameJob& job : jobs) {
      if (observer) observer(job.output_index, *job.output);
      encoder.write(*job.output);
      if (progress) progress(job.output_index - task.range.begin + 1);
    }
    stats.encode_seconds += seconds_since(encode_start);
  }
  const auto finish_start = Clock::now();
  encoder.finish();
  stats.encode_seconds += seconds_since(finish_start);
  stats.decode_seconds -= stats.preroll_seconds;
  stats.frames = encoder.frames_written();
  stats.bytes = encoder.bytes_written();
  stats.reader = reader.stats();
  if (stats.frames != task.range.size()) {
    fail(ErrorKind::kInternal, "chunk encoded " + std::to_string(stats.frames) + " frames, expected " +
                                   std::to_string(task.range.size()));
  }
  stats.total_seconds = seconds_since(start);
  return stats;
}

}  // namespace reelscale::exec
