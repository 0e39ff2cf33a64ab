// exec/local_executor.cpp — running chunk tasks on this machine.
#include <chrono>
#include <exception>
#include <mutex>
#include <thread>

#include "common/files.h"
#include "exec/executor.h"
#include "exec/store_source.h"

namespace reelscale::exec {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
}  // namespace

ChunkResult execute_task(const ChunkTaskSpec& task, process::FrameProcessor& processor, store::ObjectStore& store,
                         const std::filesystem::path& scratch, const FrameObserver& observer,
                         const ProgressCallback& progress, const std::atomic<bool>* cancel) {
  const auto start = Clock::now();
  ChunkResult result;
  result.index = task.index;
  result.output = task.output;
  result.attempts = 1;
  const media::MediaSource source = media_source_for(store, task.input);
  const media::Timeline timeline(task.probe.relative_times_ns(), task.probe.relative_end_ns(), task.fps, task.job.segments);
  if (task.range.end > timeline.output_frame_count()) {
    fail(ErrorKind::kBadInput, "chunk range ends at frame " + std::to_string(task.range.end) + " but the job has " +
                                   std::to_string(timeline.output_frame_count()) + " output frames");
  }
  const store::Location out = store::Location::parse(task.output);
  // Encode beside the destination when it is local (then rename), else into scratch.
  const std::filesystem::path local_target =
      out.s3 ? scratch / ("chunk-" + task.task_id + ".mp4") : std::filesystem::path(out.path);
  AtomicOutputFile file(local_target);
  ChunkTask chunk{source, &task.probe, &timeline, task.range, file.temp_path().string(), task.encoder, 1};
  result.stats = run_chunk(chunk, processor, observer, progress, cancel);
  if (out.s3) {
    const auto upload_start = Clock::now();
    store.put_file(file.temp_path().string(), task.output);
    result.upload_seconds = seconds_since(upload_start);
  } else {
    file.commit();
  }
  if (source.bytes) {
    auto* s = static_cast<StoreByteSource*>(source.bytes.get());
    result.input_bytes_read = s->bytes_fetched();
    result.input_bytes = s->size();
  } else {
    result.input_bytes_read = result.stats.reader.bytes_read;
    result.input_bytes = task.probe.file_bytes;
  }
  result.task_seconds = seconds_since(start);
  return result;
}

LocalExecutor::LocalExecutor(int slots, ProcessorFactoryMaker maker, store::ObjectStore& store,
                             std::filesystem::path scratch)
    : slots_(std::max(1, slots)), maker_(std::move(maker)), store_(store), scratch_(std::move(scratch)) {}

std::string LocalExecutor::describe() const { return "local (" + std::to_string(slots_) + " slots)"; }

std::vector<ChunkResult> LocalExecutor::run(const std::vector<ChunkTaskSpec>& tasks, const RunProgress& progress,
                                            const std::atomic<bool>* cancel) {
  std::vector<ChunkResult> results(tasks.size());
  if (tasks.empty()) return results;
  const process::SlotProcessorFactory factory = maker_(tasks.front().job);
  int64_t total = 0;
  for (const auto& t : tasks) total += t.range.size();
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::atomic<int64_t> done{0};
  std::mutex mutex;
  std::exception_ptr first_error;
  const int slots = std::min<int>(slots_, static_cast<int>(tasks.size()));
  auto slot_main = [&](int slot) {
    try {
      std::unique_ptr<process::FrameProcessor> processor = factory(tasks.front().probe);
      while (!failed.load() && !(cancel && cancel->load())) {
        const size_t i = next.fetch_add(1);
        if (i >= tasks.size()) break;
        int64_t reported = 0;
        auto chunk_progress = [&](int64_t n) {
          done += n - reported;
          reported = n;
          if (progress) progress(done.load(), total);
        };
        const auto t0 = Clock::now();
        results[i] = execute_task(tasks[i], *processor, store_, scratch_, observer_, chunk_progress, cancel);
        results[i].worker = "local:" + std::to_string(slot);
        results[i].round_trip_seconds = seconds_since(t0);
      }
      skipped_ += processor->frames_skipped();
    } catch (...) {
      std::lock_guard lock(mutex);
      if (!first_error) first_error = std::current_exception();
      failed = true;
    }
  };
  std::vector<std::thread> threads;
  for (int s = 1; s < slots; ++s) threads.emplace_back(slot_main, s);
  slot_main(0);
  for (auto& t : threads) t.join();
  if (first_error) std::rethrow_exception(first_error);
  if (cancel && cancel->load()) fail(ErrorKind::kCancelled, "the job was cancelled");
  return results;
}

}  // namespace reelscale::exec
