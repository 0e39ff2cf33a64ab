// exec/shared_slots.cpp — the fair slot pool.
#include "exec/shared_slots.h"

#include <algorithm>

#include "common/cores.h"
#include "common/first_error.h"
#include "common/stopwatch.h"

namespace reelscale::exec {

struct SharedSlots::Run {
  const std::vector<ChunkTaskSpec>* tasks = nullptr;
  process::SlotProcessorFactory factory;
  const RunProgress* progress = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  std::vector<record::ChunkRecord> results;
  size_t next = 0;         // the next task to start
  int claim = 1;           // slots it may hold at once
  int running = 0;
  size_t finished = 0;
  int64_t frames_total = 0;
  std::atomic<int64_t> frames_done{0};
  FirstError error;
  std::condition_variable ended;
  bool stopped() const { return error.failed() || (cancel && cancel->load()); }
  bool has_work() const { return !stopped() && next < tasks->size(); }
  bool done() const { return running == 0 && (finished == tasks->size() || stopped()); }
};

SharedSlots::SharedSlots(SharedSlotsOptions options, ProcessorFactoryMaker maker, store::ObjectStore& store)
    : options_(std::move(options)), maker_(std::move(maker)), store_(store) {
  if (options_.slots <= 0) options_.slots = machine_cores();
  if (options_.max_slots_per_job <= 0) options_.max_slots_per_job = options_.slots;
  if (options_.set_threads) options_.set_threads(threads_per_slot(options_.slots));
  for (int s = 0; s < options_.slots; ++s) threads_.emplace_back([this, s] { slot_main(s); });
}

SharedSlots::~SharedSlots() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  for (auto& t : threads_) t.join();
}

std::string SharedSlots::describe() const {
  return "local (" + std::to_string(options_.slots) + " shared slots, at most " +
         std::to_string(options_.max_slots_per_job) + " a job)";
}

int SharedSlots::claim_locked(int chunks) const {
  return std::clamp(options_.slots - claimed_, 1, std::max(1, std::min(chunks, options_.max_slots_per_job)));
}

// A job planned now claims the slots free now (the planner limits its chunks at once to
// them), on their share of the cores.
OwnedCapacity SharedSlots::owned_capacity() const {
  std::lock_guard lock(mutex_);
  const int slots = claim_locked(options_.max_slots_per_job);
  return {slots, slots * threads_per_slot(options_.slots)};
}

SlotLoad SharedSlots::load() const {
  std::lock_guard lock(mutex_);
  SlotLoad l{options_.slots, busy_, claimed_, 0};
  for (const auto& r : runs_) l.jobs_waiting += r->has_work() ? 1 : 0;
  return l;
}

int SharedSlots::idle_capacity() const {
  const SlotLoad l = load();
  return l.slots - l.busy;
}

std::vector<record::ChunkRecord> SharedSlots::run(const std::vector<ChunkTaskSpec>& tasks, const RunProgress& progress,
                                                  const std::atomic<bool>* cancel) {
  if (tasks.empty()) return {};
  auto r = std::make_shared<Run>();
  r->tasks = &tasks;
  r->factory = maker_(tasks.front().job);
  r->progress = &progress;
  r->cancel = cancel;
  r->results.resize(tasks.size());
  for (const auto& t : tasks) r->frames_total += t.range.size();
  std::unique_lock lock(mutex_);
  r->claim = claim_locked(static_cast<int>(tasks.size()));
  claimed_ += r->claim;
  runs_.push_back(r);
  work_.notify_all();
  // Wakes now and then to see a cancel that no task has noticed yet.
  while (!r->done()) r->ended.wait_for(lock, std::chrono::milliseconds(100));
  std::erase(runs_, r);
  claimed_ -= r->claim;
  work_.notify_all();
  lock.unlock();
  r->error.rethrow();
  if (cancel && cancel->load()) fail(ErrorKind::kCancelled, "the job was cancelled");
  return std::move(r->results);
}

std::shared_ptr<SharedSlots::Run> SharedSlots::next_run_locked(size_t& task) {
  for (size_t i = 0; i < runs_.size(); ++i) {
    std::shared_ptr<Run> r = runs_.front();
    runs_.pop_front();
    runs_.push_back(r);  // its turn is used whether or not it had work
    if (r->has_work() && r->running < r->claim) {
      task = r->next++;
      ++r->running;
      return r;
    }
  }
  return nullptr;
}

void SharedSlots::slot_main(int slot) {
  std::unique_lock lock(mutex_);
  while (true) {
    size_t task = 0;
    std::shared_ptr<Run> r;
    work_.wait(lock, [&] { return stopping_ || (r = next_run_locked(task)) != nullptr; });
    if (stopping_ && !r) return;
    ++busy_;
    lock.unlock();
    execute(*r, task, slot);
    lock.lock();
    --busy_;
    --r->running;
    ++r->finished;
    r->ended.notify_all();
    work_.notify_all();
  }
}

void SharedSlots::execute(Run& r, size_t i, int slot) {
  try {
    ChunkTaskSpec task = (*r.tasks)[i];
    if (task.encoding.threads == 0) task.encoding.threads = threads_per_slot(options_.slots);
    std::unique_ptr<process::FrameProcessor> processor = r.factory(task.probe);
    int64_t reported = 0;
    auto chunk_progress = [&](int64_t n) {
      const int64_t done = r.frames_done += n - reported;
      reported = n;
      if (*r.progress) (*r.progress)(done, r.frames_total);
    };
    const Stopwatch round_trip;
    record::ChunkRecord c = execute_task(task, *processor, store_, options_.scratch, {}, chunk_progress, r.cancel,
                                          options_.media_limits);
    c.worker = "local:" + std::to_string(slot);
    c.timings_s.round_trip = round_trip.seconds();
    c.billed_seconds = c.timings_s.round_trip;
    r.results[i] = std::move(c);
  } catch (...) {
    r.error.capture();
  }
}

}  // namespace reelscale::exec
