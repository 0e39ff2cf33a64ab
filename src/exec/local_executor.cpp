// exec/local_executor.cpp — running chunk tasks on this machine: one task
// (execute_task), and in-process slots that share the cores.
#include <thread>

#include "common/cores.h"
#include "common/first_error.h"
#include "common/stopwatch.h"
#include "exec/executor.h"
#include "exec/store_source.h"

namespace reelscale::exec {

namespace {

record::ChunkRecord chunk_record(const ChunkTaskSpec& task, const ChunkStats& stats) {
  record::ChunkRecord r;
  r.index = task.index;
  r.begin = task.range.begin;
  r.end = task.range.end;
  r.output = task.output;
  r.frames = stats.frames;
  r.bytes = stats.bytes;
  r.encoder = stats.encoder;
  r.encoder_note = stats.encoder_note;
  r.frames_decoded = stats.reader.decoded;
  r.frames_dropped = stats.reader.dropped;
  r.seeks = stats.reader.seeks;
  r.frames_concealed = stats.reader.damage.damaged;
  r.concealed_at_s = stats.reader.damage.times_s;
  r.timings_s.open = stats.open_seconds;
  r.timings_s.preroll = stats.preroll_seconds;
  r.timings_s.decode = stats.decode_seconds;
  r.timings_s.process = stats.process_seconds;
  r.timings_s.encode = stats.encode_seconds;
  r.timings_s.chunk = stats.total_seconds;
  return r;
}

}  // namespace

int granted_cores(const ChunkTaskSpec& task) { return task.cores > 0 ? std::min(task.cores, machine_cores()) : 0; }

record::ChunkRecord execute_task(const ChunkTaskSpec& task, process::FrameProcessor& processor,
                                 store::ObjectStore& store, const std::filesystem::path& scratch,
                                 const FrameObserver& observer, const ProgressCallback& progress,
                                 const std::atomic<bool>* cancel, const media::MediaLimits& limits) {
  const Stopwatch clock;
  const media::MediaSource source = media_source_for(store, task.job.input, limits);
  const media::Timeline timeline(task.probe.relative_times_ns(), task.probe.relative_end_ns(), task.job.fps,
                                 task.job.segments);
  if (task.range.end > timeline.output_frame_count()) {
    fail(ErrorKind::kBadInput, "chunk range ends at frame " + std::to_string(task.range.end) + " but the job has " +
                                   std::to_string(timeline.output_frame_count()) + " output frames");
  }
  const std::unique_ptr<store::ObjectWriter> out = store.writer(task.output, scratch);
  const int64_t skipped_before = processor.frames_skipped();
  media::EncoderSettings encoding = task.encoder_settings();
  const int cores = granted_cores(task);
  if (cores > 0 && encoding.threads == 0) encoding.threads = cores;
  const ChunkTask chunk{source, &task.probe, &timeline, task.range, out->path().string(), encoding, 1};
  const ChunkStats stats = run_chunk(chunk, processor, observer, progress, cancel);
  record::ChunkRecord r = chunk_record(task, stats);
  r.cores = cores;
  r.frames_skipped = processor.frames_skipped() - skipped_before;
  r.timings_s.upload = out->commit();
  if (auto* remote = dynamic_cast<StoreByteSource*>(source.bytes.get())) {
    r.input_bytes_read = remote->bytes_fetched();
    r.input_bytes = remote->size();
  } else {
    r.input_bytes_read = stats.reader.bytes_read;
    r.input_bytes = task.probe.file_bytes;
  }
  r.timings_s.task = clock.seconds();
  return r;
}

LocalExecutor::LocalExecutor(LocalExecutorOptions options, ProcessorFactoryMaker maker, store::ObjectStore& store)
    : options_(std::move(options)), maker_(std::move(maker)), store_(store) {
  if (options_.slots <= 0) options_.slots = machine_cores();
}

OwnedCapacity LocalExecutor::owned_capacity() const { return {options_.slots, machine_cores()}; }

std::string LocalExecutor::describe() const { return "local (" + std::to_string(options_.slots) + " slots)"; }

std::vector<record::ChunkRecord> LocalExecutor::run(const std::vector<ChunkTaskSpec>& tasks,
                                                    const RunProgress& progress, const std::atomic<bool>* cancel) {
  std::vector<record::ChunkRecord> results(tasks.size());
  if (tasks.empty()) return results;
  const int slots = slots_for(static_cast<int>(tasks.size()), options_.slots);
  // The plan may give each chunk its threads (a policy that leaves cores free); else the
  // cores are shared between the slots this run keeps busy.
  const int threads = options_.threads > 0              ? options_.threads
                      : tasks.front().encoding.threads > 0 ? tasks.front().encoding.threads
                                                           : threads_per_slot(slots);
  if (options_.set_threads) options_.set_threads(threads);
  const process::SlotProcessorFactory factory = maker_(tasks.front().job);
  int64_t total = 0;
  for (const auto& t : tasks) total += t.range.size();
  std::atomic<size_t> next{0};
  std::atomic<int64_t> done{0};
  FirstError error;
  auto slot_main = [&](int slot) {
    try {
      std::unique_ptr<process::FrameProcessor> processor = factory(tasks.front().probe);
      while (!error.failed() && !(cancel && cancel->load())) {
        const size_t i = next.fetch_add(1);
        if (i >= tasks.size()) break;
        int64_t reported = 0;
        auto chunk_progress = [&](int64_t n) {
          done += n - reported;
          reported = n;
          if (progress) progress(done.load(), total);
        };
        ChunkTaskSpec task = tasks[i];
        if (task.encoding.threads == 0) task.encoding.threads = threads;
        const Stopwatch round_trip;
        results[i] = execute_task(task, *processor, store_, options_.scratch, options_.observer, chunk_progress, cancel,
                                  options_.media_limits);
        results[i].worker = "local:" + std::to_string(slot);
        results[i].timings_s.round_trip = round_trip.seconds();
        results[i].billed_seconds = results[i].timings_s.round_trip;
      }
    } catch (...) {
      error.capture();
    }
  };
  std::vector<std::thread> threads_running;
  for (int s = 1; s < slots; ++s) threads_running.emplace_back(slot_main, s);
  slot_main(0);
  for (auto& t : threads_running) t.join();
  error.rethrow();
  if (cancel && cancel->load()) fail(ErrorKind::kCancelled, "the job was cancelled");
  return results;
}

}  // namespace reelscale::exec
