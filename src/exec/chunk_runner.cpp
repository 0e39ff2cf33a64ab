// exec/chunk_runner.cpp — the read → process → encode pipeline of one chunk: a decode
// thread and an encode thread around the processing on the calling thread, linked by
// bounded queues, so decoding, inference and encoding overlap.
#include "exec/chunk_runner.h"

#include <chrono>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "exec/bounded_queue.h"

namespace reelscale::exec {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Decoded {
  int64_t output_index = 0;
  media::FramePtr frame;
};
struct Processed {
  int64_t output_index = 0;
  media::FramePtr frame;
};

// Keeps the first exception of several threads and tells the others to stop.
class FirstError {
 public:
  void capture() {
    std::lock_guard lock(mutex_);
    if (!error_) error_ = std::current_exception();
    failed_ = true;
  }
  bool failed() const { return failed_; }
  void rethrow() {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::mutex mutex_;
  std::exception_ptr error_;
  std::atomic<bool> failed_{false};
};
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
  const size_t depth = 2 * static_cast<size_t>(batch) + 2;
  BoundedQueue<Decoded> decoded(depth);
  BoundedQueue<Processed> processed(depth);
  BoundedQueue<media::FramePtr> free_outputs(depth + 1);
  // Frame holders for decoded frames, recycled: nothing is allocated per frame.
  BoundedQueue<media::FramePtr> free_sources(depth + batch + 1);
  for (size_t i = 0; i < depth; ++i) {
    free_outputs.push(media::make_frame(settings.width, settings.height, AV_PIX_FMT_YUV420P));
  }
  for (size_t i = 0; i < depth + batch; ++i) free_sources.push(media::make_frame());
  FirstError error;
  auto stop_all = [&] {
    decoded.close();
    processed.close();
    free_outputs.close();
    free_sources.close();
  };
  auto cancelled = [&] { return cancel && cancel->load(); };

  std::thread decode_thread([&] {
    try {
      bool first = true;
      for (int64_t j = task.range.begin; j < task.range.end && !error.failed(); ++j) {
        if (cancelled()) fail(ErrorKind::kCancelled, "the job was cancelled");
        const auto t = Clock::now();
        const AVFrame& frame = reader.frame(task.timeline->source_frame(j));
        auto holder = free_sources.pop();
        if (!holder) break;
        media::FramePtr copy = std::move(*holder);
        media::check_av(av_frame_ref(copy.get(), &frame), "frame reference", ErrorKind::kInternal);
        const double spent = seconds_since(t);
        if (first) {
          stats.preroll_seconds = spent;
          first = false;
        } else {
          stats.decode_seconds += spent;
        }
        if (!decoded.push({j, std::move(copy)})) break;
      }
    } catch (...) {
      error.capture();
      stop_all();
    }
    decoded.close();
  });

  std::thread encode_thread([&] {
    try {
      while (auto item = processed.pop()) {
        const auto t = Clock::now();
        if (observer) observer(item->output_index, *item->frame);
        encoder.write(*item->frame);
        stats.encode_seconds += seconds_since(t);
        if (progress) progress(item->output_index - task.range.begin + 1);
        free_outputs.push(std::move(item->frame));
      }
    } catch (...) {
      error.capture();
      stop_all();
    }
  });

  try {
    std::vector<Decoded> inputs;
    std::vector<media::FramePtr> outputs;
    std::vector<process::FrameJob> jobs;
    int64_t remaining = task.range.size();
    while (remaining > 0 && !error.failed()) {
      inputs.clear();
      outputs.clear();
      jobs.clear();
      const int64_t want = std::min<int64_t>(batch, remaining);
      for (int64_t i = 0; i < want; ++i) {
        auto item = decoded.pop();
        if (!item) break;
        inputs.push_back(std::move(*item));
        auto out = free_outputs.pop();
        if (!out) break;
        // The encoder may still reference a recycled buffer: write into a fresh one then.
        if (!av_frame_is_writable(out->get())) {
          media::check_av(av_frame_make_writable(out->get()), "frame buffer", ErrorKind::kInternal);
        }
        outputs.push_back(std::move(*out));
      }
      if (static_cast<int64_t>(inputs.size()) != want || outputs.size() != inputs.size()) break;  // stopped
      for (size_t i = 0; i < inputs.size(); ++i) {
        jobs.push_back({inputs[i].frame.get(), inputs[i].output_index, outputs[i].get()});
      }
      const auto t = Clock::now();
      processor.process(jobs);
      stats.process_seconds += seconds_since(t);
      for (size_t i = 0; i < inputs.size(); ++i) {
        processed.push({inputs[i].output_index, std::move(outputs[i])});
        av_frame_unref(inputs[i].frame.get());
        free_sources.push(std::move(inputs[i].frame));
      }
      remaining -= want;
    }
  } catch (...) {
    error.capture();
    stop_all();
  }
  processed.close();
  decode_thread.join();
  encode_thread.join();
  error.rethrow();
  if (cancelled()) fail(ErrorKind::kCancelled, "the job was cancelled");

  const auto finish_start = Clock::now();
  encoder.finish();
  stats.encode_seconds += seconds_since(finish_start);
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
