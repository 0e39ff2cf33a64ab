// exec/chunk_runner.cpp — the read → process → encode pipeline of one chunk: a decode
// thread and an encode thread around the processing on the calling thread, linked by
// bounded queues, so decoding, inference and encoding overlap. Frame holders are
// recycled through free lists: nothing is allocated per frame.
#include "exec/chunk_runner.h"

#include <thread>
#include <vector>

#include "common/first_error.h"
#include "common/stopwatch.h"
#include "exec/bounded_queue.h"

namespace reelscale::exec {

namespace {

struct IndexedFrame {
  int64_t output_index = 0;
  media::FramePtr frame;
};

class ChunkPipeline {
 public:
  ChunkPipeline(const ChunkTask& task, process::FrameProcessor& processor, const FrameObserver& observer,
                const ProgressCallback& progress, const std::atomic<bool>* cancel)
      : task_(task), processor_(processor), observer_(observer), progress_(progress), cancel_(cancel),
        reader_(task.source, *task.probe, task.decoder_threads),
        settings_(sized_settings(task, processor)),
        encoder_(task.output_path, settings_),
        batch_(std::max(1, processor.preferred_batch())),
        depth_(2 * static_cast<size_t>(batch_) + 2),
        decoded_(depth_), processed_(depth_), free_outputs_(depth_ + 1), free_sources_(depth_ + batch_ + 1) {
    stats_.open_seconds = clock_.seconds();
    for (size_t i = 0; i < depth_; ++i) {
      free_outputs_.push(media::make_frame(settings_.width, settings_.height, AV_PIX_FMT_YUV420P));
    }
    for (size_t i = 0; i < depth_ + batch_; ++i) free_sources_.push(media::make_frame());
  }

  ChunkStats run() {
    std::thread decode_thread([this] { guarded([this] { decode_loop(); }); decoded_.close(); });
    std::thread encode_thread([this] { guarded([this] { encode_loop(); }); });
    guarded([this] { process_loop(); });
    processed_.close();
    decode_thread.join();
    encode_thread.join();
    error_.rethrow();
    if (cancelled()) fail(ErrorKind::kCancelled, "the job was cancelled");
    return finish();
  }

 private:
  static media::EncoderSettings sized_settings(const ChunkTask& task, const process::FrameProcessor& processor) {
    media::EncoderSettings s = task.encoder;
    s.width = processor.output_width();
    s.height = processor.output_height();
    s.source_upscale = processor.least_upscale();
    return s;
  }

  bool cancelled() const { return cancel_ && cancel_->load(); }

  // Runs a stage; its first error stops every stage.
  template <class F>
  void guarded(F&& stage) {
    try {
      stage();
    } catch (...) {
      error_.capture();
      decoded_.close();
      processed_.close();
      free_outputs_.close();
      free_sources_.close();
    }
  }

  void decode_loop() {
    bool first = true;
    for (int64_t j = task_.range.begin; j < task_.range.end && !error_.failed(); ++j) {
      if (cancelled()) fail(ErrorKind::kCancelled, "the job was cancelled");
      const Stopwatch read;
      const AVFrame& frame = reader_.frame(task_.timeline->source_frame(j));
      auto holder = free_sources_.pop();
      if (!holder) return;
      media::FramePtr copy = std::move(*holder);
      media::check_av(av_frame_ref(copy.get(), &frame), "frame reference", ErrorKind::kInternal);
      (first ? stats_.preroll_seconds : stats_.decode_seconds) += read.seconds();
      first = false;
      if (!decoded_.push({j, std::move(copy)})) return;
    }
  }

  void encode_loop() {
    while (auto item = processed_.pop()) {
      const Stopwatch encode;
      if (observer_) observer_(item->output_index, *item->frame);
      encoder_.write(*item->frame);
      stats_.encode_seconds += encode.seconds();
      if (progress_) progress_(item->output_index - task_.range.begin + 1);
      free_outputs_.push(std::move(item->frame));
    }
  }

  // Takes up to `want` decoded frames and as many output buffers; false when stopped.
  bool take_batch(int64_t want, std::vector<IndexedFrame>& inputs, std::vector<media::FramePtr>& outputs) {
    inputs.clear();
    outputs.clear();
    for (int64_t i = 0; i < want; ++i) {
      auto item = decoded_.pop();
      if (!item) return false;
      inputs.push_back(std::move(*item));
      auto out = free_outputs_.pop();
      if (!out) return false;
      // The encoder may still reference a recycled buffer: write into a fresh one then.
      if (!av_frame_is_writable(out->get())) {
        media::check_av(av_frame_make_writable(out->get()), "frame buffer", ErrorKind::kInternal);
      }
      outputs.push_back(std::move(*out));
    }
    return true;
  }

  void process_loop() {
    std::vector<IndexedFrame> inputs;
    std::vector<media::FramePtr> outputs;
    std::vector<process::FrameJob> jobs;
    for (int64_t remaining = task_.range.size(); remaining > 0 && !error_.failed();) {
      const int64_t want = std::min<int64_t>(batch_, remaining);
      if (!take_batch(want, inputs, outputs)) return;
      jobs.clear();
      for (size_t i = 0; i < inputs.size(); ++i) jobs.push_back({inputs[i].frame.get(), inputs[i].output_index, outputs[i].get()});
      const Stopwatch process;
      processor_.process(jobs);
      stats_.process_seconds += process.seconds();
      for (size_t i = 0; i < inputs.size(); ++i) {
        processed_.push({inputs[i].output_index, std::move(outputs[i])});
        av_frame_unref(inputs[i].frame.get());
        free_sources_.push(std::move(inputs[i].frame));
      }
      remaining -= want;
    }
  }

  ChunkStats finish() {
    const Stopwatch flush;
    encoder_.finish();
    stats_.encode_seconds += flush.seconds();
    stats_.frames = encoder_.frames_written();
    stats_.bytes = encoder_.bytes_written();
    stats_.encoder = encoder_.codec_used();
    stats_.encoder_note = encoder_.fallback_reason();
    stats_.reader = reader_.stats();
    media::check_damage(stats_.reader.damage, task_.source.limits, task_.source.name());
    if (stats_.frames != task_.range.size()) {
      fail(ErrorKind::kInternal, "chunk encoded " + std::to_string(stats_.frames) + " frames, expected " +
                                     std::to_string(task_.range.size()));
    }
    stats_.total_seconds = clock_.seconds();
    return stats_;
  }

  const Stopwatch clock_;
  const ChunkTask& task_;
  process::FrameProcessor& processor_;
  const FrameObserver& observer_;
  const ProgressCallback& progress_;
  const std::atomic<bool>* cancel_;
  ChunkStats stats_;
  FirstError error_;
  media::FrameReader reader_;
  media::EncoderSettings settings_;
  media::ChunkEncoder encoder_;
  const int batch_;
  const size_t depth_;
  BoundedQueue<IndexedFrame> decoded_;
  BoundedQueue<IndexedFrame> processed_;
  BoundedQueue<media::FramePtr> free_outputs_;
  BoundedQueue<media::FramePtr> free_sources_;
};

}  // namespace

ChunkStats run_chunk(const ChunkTask& task, process::FrameProcessor& processor, const FrameObserver& observer,
                     const ProgressCallback& progress, const std::atomic<bool>* cancel) {
  ChunkPipeline pipeline(task, processor, observer, progress, cancel);
  return pipeline.run();
}

}  // namespace reelscale::exec
