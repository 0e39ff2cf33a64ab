// exec/slurm_executor.cpp — one SlurmRun per job: submit waves as arrays, read states and
// outcomes every poll, retry, speculate, cancel, and clean up the task files.
#include "exec/slurm_executor.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/error.h"
#include "common/files.h"
#include "common/random_hex.h"
#include "exec/stored_task.h"

namespace reelscale::exec {

namespace {

// A task that squeue has never listed this long after its submission has been lost.
constexpr double kListingGraceS = 30;
// The controller may not answer for this long (a restart) before the job gives up on it.
constexpr double kControllerAwayS = 60;

std::string run_name() { return "reelscale-" + random_hex(4); }

// The job a chunk task belongs to: its task id less the "-cN" suffix.
std::string job_of_task(const std::string& task_id) { return task_id.substr(0, task_id.rfind("-c")); }

// Failures no other node can fix.
bool hopeless_kind(const std::string& kind) {
  return kind == "bad_input" || kind == "not_found" || kind == "denied";
}

std::string this_binary() {
  const std::filesystem::path path = this_executable();
  return path.empty() ? std::string("reelscale") : path.string();
}

// Where an attempt was placed, as the run last saw it.
struct Placement {
  std::string job_id;
  int index = 0;
  std::string task_url;
  std::string node;
  bool listed = false;
  Stopwatch since_submit;
  double submitted_unix_s = 0;
  double booting_seen_unix_s = 0;  // first seen CONFIGURING: placed on a node that was powering up
  double running_seen_unix_s = 0;  // first seen RUNNING
  double node_up_unix_s = 0;       // its node's slurmd started (when it had to boot)
};


}  // namespace

class SlurmRun {
 public:
  SlurmRun(SlurmExecutor& owner, const std::vector<ChunkTaskSpec>& tasks)
      : owner_(owner), store_(owner.store_), control_(*owner.control_), tasks_(tasks), book_(tasks, owner.options_.attempts),
        name_(run_name()) {}

  std::vector<record::ChunkRecord> run(const RunProgress& progress, const std::atomic<bool>* cancel) {
    try {
      while (true) {
        if (cancel && cancel->load()) book_.fail_run("cancelled");
        if (!book_.fatal().empty() || book_.all_done()) break;
        submit_waiting();
        if (book_.waiting().empty()) speculate();
        poll();
        if (progress) progress(book_.done_frames(), book_.total_frames());
        if (!book_.fatal().empty() || book_.all_done()) break;
        wait(cancel);
      }
    } catch (...) {
      finish();
      throw;
    }
    finish();
    if (book_.fatal() == "cancelled") fail(ErrorKind::kCancelled, "the job was cancelled");
    if (!book_.fatal().empty()) fail(ErrorKind::kUnavailable, book_.fatal());
    if (progress) progress(book_.total_frames(), book_.total_frames());
    std::vector<record::ChunkRecord> results = book_.results();
    // Waiting in the queue holds no node: it is not billed (a node's boot is).
    for (record::ChunkRecord& r : results) r.billed_seconds = std::max(0.0, r.billed_seconds - r.timings_s.queue);
    return results;
  }

 private:
  void wait(const std::atomic<bool>* cancel) const {
    const auto until = Stopwatch::Clock::now() + std::chrono::duration<double>(owner_.options_.cluster.poll_s);
    while (Stopwatch::Clock::now() < until && !(cancel && cancel->load())) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  void submit_waiting() {
    const std::vector<int> waiting = book_.waiting();
    if (!waiting.empty()) submit(waiting, false);
  }

  void speculate() {
    std::vector<int> stragglers;
    for (const auto& a : book_.stragglers()) stragglers.push_back(a->task);
    if (!stragglers.empty()) submit(stragglers, true);
  }

  // One job array for these tasks: their task files first, then sbatch.
  void submit(const std::vector<int>& task_indexes, bool speculative) {
    const int wave = ++waves_;
    const std::string prefix = store::Location::parse(tasks_.front().output).sibling("slurm-" + std::to_string(wave) + "-task-");
    std::vector<std::shared_ptr<Attempt>> launched;
    double deadline_s = 0;
    for (int t : task_indexes) {
      std::shared_ptr<Attempt> a = book_.launch(t, 0, speculative);
      ChunkTaskSpec spec = tasks_[t];
      spec.output = a->output;
      spec.task_id = a->task_id;
      Placement p;
      p.index = t;
      p.task_url = prefix + std::to_string(t) + ".json";
      store_.put_bytes(to_json(spec).dump(), p.task_url);
      task_files_.push_back(p.task_url);
      placed_[a.get()] = p;
      launched.push_back(a);
      deadline_s = std::max(deadline_s, spec.deadline_s);
    }
    ArraySubmission s;
    s.name = name_;
    s.indexes = task_indexes;
    s.partition = owner_.class_.partition;
    s.gres = owner_.class_.gres;
    // The cores the plan gave each task, within the class's range; else the class's own.
    const int planned = tasks_.front().cores;
    const HardwareClass& cls = owner_.class_;
    s.cores = planned > 0 ? std::clamp(planned, std::max(1, cls.min_cores), cls.cores) : cls.cores;
    s.time_limit_minutes = std::max(1, static_cast<int>(std::ceil(deadline_s / 60)));
    s.command = "exec " + batch_script_word(owner_.binary_) + " chunk " + batch_script_word(prefix) +
                "\"$SLURM_ARRAY_TASK_ID\"" + batch_script_word(".json");
    s.output = owner_.options_.cluster.task_log;
    std::string job_id;
    try {
      job_id = control_.submit(s);
    } catch (const Error& e) {
      for (const auto& a : launched) book_.failed(*a, e.what(), true);
      return;
    }
    for (const auto& a : launched) {
      placed_[a.get()].job_id = job_id;
      placed_[a.get()].since_submit.restart();
      placed_[a.get()].submitted_unix_s = record::unix_now();
    }
  }

  // Reads every live attempt's state and outcome; settles those that ended.
  void poll() {
    std::map<std::pair<std::string, int>, ArrayTaskState> listed;
    bool answered = true;
    try {
      for (const ArrayTaskState& s : control_.tasks(name_)) listed[{s.job_id, s.index}] = s;
      controller_away_.reset();
    } catch (const Error& e) {
      answered = false;  // outcomes still count; states are judged once it answers again
      if (!controller_away_) controller_away_.emplace();
      if (controller_away_->seconds() > kControllerAwayS) book_.fail_run(std::string("Slurm does not answer: ") + e.what());
    }
    for (const auto& a : book_.running()) {
      Placement& p = placed_[a.get()];
      const auto it = listed.find({p.job_id, p.index});
      if (it != listed.end()) observe(p, it->second);
      if (settle_from_outcome(*a, p) || !answered) continue;
      const bool gone = it == listed.end() && (p.listed || p.since_submit.seconds() > kListingGraceS);
      const bool ended = it != listed.end() && slurm_state_ended(it->second.state);
      if (!gone && !ended) continue;
      const std::string where = "Slurm task " + p.job_id + "_" + std::to_string(p.index) +
                                (p.node.empty() ? "" : " on " + p.node);
      const std::string why = ended ? " ended " + it->second.state +
                                          (it->second.reason.empty() ? "" : " (" + it->second.reason + ")")
                                    : " left the queue";
      record_failed_hold(*a, p);
      book_.failed(*a, where + why + " without storing an outcome", false);
    }
  }

  // Follows an attempt through the queue: placed on a booting node (a cold start), then running.
  void observe(Placement& p, const ArrayTaskState& s) {
    p.listed = true;
    if (!s.node.empty()) p.node = s.node;
    if (s.state == "CONFIGURING" && p.booting_seen_unix_s == 0) p.booting_seen_unix_s = record::unix_now();
    if (s.state == "RUNNING" && p.running_seen_unix_s == 0) {
      p.running_seen_unix_s = record::unix_now();
      if (p.booting_seen_unix_s > 0 && !p.node.empty()) p.node_up_unix_s = control_.node_started_unix_s(p.node);
    }
  }

  // When the task began on its node: seen running, or earlier by the task's own clock (the
  // poll may have seen it late).
  static double started_on_node(const Placement& p, const record::ChunkRecord& r) {
    const double by_task = record::unix_now() - std::max(r.timings_s.task, r.timings_s.chunk);
    return p.running_seen_unix_s > 0 ? std::min(p.running_seen_unix_s, by_task) : by_task;
  }

  // How the chunk started: cold when its node had to boot; the queue wait and the boot apart.
  static void add_start(record::ChunkRecord& r, const Placement& p) {
    const bool cold = p.booting_seen_unix_s > 0;
    r.start = cold ? "cold" : "warm";
    if (cold && p.node_up_unix_s > 0) r.timings_s.boot = std::max(0.0, p.node_up_unix_s - p.booting_seen_unix_s);
    r.timings_s.queue = std::max(0.0, started_on_node(p, r) - p.submitted_unix_s - r.timings_s.boot);
  }

  // The node time the attempt held, for the node's bill: from its boot when it waited for
  // one (the node resumed for it), else from when it ran.
  void record_hold(const Attempt& a, const Placement& p, const std::string& node, const record::ChunkRecord& r) {
    if (node.empty()) return;
    const double end = record::unix_now();
    const bool cold = p.booting_seen_unix_s > 0;
    if (cold) owner_.node_resumed(node, p.booting_seen_unix_s);
    const double start = cold ? p.booting_seen_unix_s : started_on_node(p, r);
    owner_.node_held(node, job_of_task(tasks_[a.task].task_id), start, end);
  }

  // A failed attempt held its node too, for the node's bill: from its boot when it waited
  // for one, else from when it was seen running, to now. Never seen on a node: nothing held.
  void record_failed_hold(const Attempt& a, const Placement& p) {
    const bool cold = p.booting_seen_unix_s > 0;
    const double start = cold ? p.booting_seen_unix_s : p.running_seen_unix_s;
    if (p.node.empty() || start == 0) return;
    if (cold) owner_.node_resumed(p.node, p.booting_seen_unix_s);
    owner_.node_held(p.node, job_of_task(tasks_[a.task].task_id), start, record::unix_now());
  }

  // True when the attempt's outcome is stored (and now counted).
  bool settle_from_outcome(Attempt& a, const Placement& p) {
    std::optional<StoredOutcome> outcome;
    try {
      outcome = read_outcome(store_, p.task_url);
    } catch (const Error& e) {
      book_.failed(a, e.what(), false);
      return true;
    }
    if (!outcome) return false;
    if (outcome->ok) {
      const std::string node = outcome->chunk.worker.empty() ? p.node : outcome->chunk.worker;
      Placement seen = p;
      // A chunk that ran and ended between two polls was never seen running, so its node's
      // start was not read then: read it now (the node is up; it just ran the task).
      if (seen.booting_seen_unix_s > 0 && seen.node_up_unix_s == 0 && !node.empty()) {
        seen.node_up_unix_s = control_.node_started_unix_s(node);
      }
      add_start(outcome->chunk, seen);
      record_hold(a, p, node, outcome->chunk);
      if (book_.succeeded(a, outcome->chunk, node)) cancel_losers(a.task);
    } else {
      record_failed_hold(a, p);
      book_.failed(a, "chunk task on " + (p.node.empty() ? std::string("its node") : p.node) + ": " + outcome->message,
                   hopeless_kind(outcome->error_kind));
    }
    return true;
  }

  // The other copies of a task just won were abandoned by the book: cancel them alone.
  void cancel_losers(int task) {
    for (const auto& other : book_.running()) {
      if (other->task != task || !other->abandoned) continue;
      cancel_attempt(*other);
    }
  }

  void cancel_attempt(Attempt& a) {
    const Placement& p = placed_[&a];
    if (p.job_id.empty()) return;
    try {
      control_.cancel(p.job_id, p.index);
    } catch (const Error&) {
      // The task ended meanwhile, or the controller is away: nothing of it is kept.
    }
    book_.ended_uncounted(a);
  }

  // Cancels what still runs, deletes the losers' chunks and every task and outcome file.
  void finish() {
    for (const auto& a : book_.running()) {
      book_.abandon(*a);
      cancel_attempt(*a);
    }
    std::vector<std::string> garbage = book_.losers();
    for (const std::string& task : task_files_) {
      garbage.push_back(task);
      garbage.push_back(result_url(task));
    }
    remove_leftovers(store_, garbage);
  }

  SlurmExecutor& owner_;
  store::ObjectStore& store_;
  SlurmControl& control_;
  const std::vector<ChunkTaskSpec>& tasks_;
  AttemptBook book_;
  const std::string name_;
  std::map<const Attempt*, Placement> placed_;
  std::vector<std::string> task_files_;
  std::optional<Stopwatch> controller_away_;  // since squeue last failed, while it does
  int waves_ = 0;
};

SlurmExecutor::SlurmExecutor(SlurmOptions options, store::ObjectStore& store, std::unique_ptr<SlurmControl> control)
    : options_(std::move(options)), store_(store), control_(std::move(control)) {
  const auto& [name, cls] = options_.cluster.pick(options_.hardware);
  hardware_ = name;
  class_ = cls;
  // Before any chunk is sent: a class the cluster cannot run fails here, naming the field.
  const std::string mismatch = class_mismatch(name, cls.partition, cls.gres, cls.cores, control_->partitions());
  if (!mismatch.empty()) fail(ErrorKind::kBadInput, mismatch);
  binary_ = options_.cluster.binary.empty() ? this_binary() : options_.cluster.binary;
  adopt_nodes_up();
  watcher_ = std::thread([this] { watch_suspends(); });
}

// Elastic nodes already up when the executor starts (a restart of `serve`, another user's
// job): each one's period opens at Slurm's record of when it was last busy, so its idle time
// up to its next task here, and its tail, are charged like those of a node it resumed.
void SlurmExecutor::adopt_nodes_up() {
  std::map<std::string, std::string> states;
  try {
    states = control_->node_states(class_.partition);
  } catch (const Error&) {
    return;  // the controller is away: nothing to adopt
  }
  for (const auto& [node, state] : states) {
    if (node_powered_down(state) || state.find('#') != std::string::npos) continue;  // down, or booting
    const NodeUse use = control_->node_use(node);
    if (use.elastic && use.last_busy_unix_s > 0) ledger_.resumed(node, use.last_busy_unix_s);
  }
}

SlurmExecutor::~SlurmExecutor() {
  {
    std::lock_guard lock(ledger_mutex_);
    stopping_ = true;
  }
  ledger_wake_.notify_all();
  watcher_.join();
}

void SlurmExecutor::on_late_charges(LateChargeListener listener) {
  std::lock_guard lock(ledger_mutex_);
  listener_ = std::move(listener);
}

void SlurmExecutor::node_resumed(const std::string& node, double at_unix_s) {
  std::lock_guard lock(ledger_mutex_);
  ledger_.resumed(node, at_unix_s);
  ledger_wake_.notify_all();
}

void SlurmExecutor::node_held(const std::string& node, const std::string& job_id, double start_unix_s,
                              double end_unix_s) {
  std::lock_guard lock(ledger_mutex_);
  ledger_.held(node, job_id, start_unix_s, end_unix_s);
}

// While an elastic node's period is open, looks at the partition's nodes every poll; a node
// seen powered down closes its period, and its idle charges go to the listener.
void SlurmExecutor::watch_suspends() {
  const double usd_per_second = class_.usd_per_hour > 0 ? class_.usd_per_hour / 3600 : 0;
  std::unique_lock lock(ledger_mutex_);
  while (!stopping_) {
    if (ledger_.open_nodes().empty()) {
      ledger_wake_.wait(lock, [&] { return stopping_ || !ledger_.open_nodes().empty(); });
      continue;
    }
    ledger_wake_.wait_for(lock, std::chrono::duration<double>(std::max(0.2, options_.cluster.poll_s)), [&] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    std::map<std::string, std::string> states;
    try {
      states = control_->node_states(class_.partition);
    } catch (const Error&) {
      // The controller is away: look again at the next poll.
    }
    lock.lock();
    const double now = record::unix_now();
    std::vector<IdleCharge> charges;
    for (const std::string& node : ledger_.open_nodes()) {
      const auto it = states.find(node);
      if (it == states.end() || !node_powered_down(it->second)) continue;
      for (IdleCharge& c : ledger_.suspended(node, now)) charges.push_back(std::move(c));
    }
    // Told under the lock: on_late_charges(nullptr) then waits for a call in progress.
    for (const IdleCharge& c : charges) {
      if (listener_) listener_(c, c.seconds * usd_per_second);
    }
  }
}

std::vector<record::ChunkRecord> SlurmExecutor::run(const std::vector<ChunkTaskSpec>& tasks, const RunProgress& progress,
                                                    const std::atomic<bool>* cancel) {
  if (tasks.empty()) return {};
  SlurmRun run(*this, tasks);
  return run.run(progress, cancel);
}

std::string SlurmExecutor::describe() const {
  return "slurm (" + hardware_ + " on partition " + class_.partition + (class_.gres.empty() ? "" : ", " + class_.gres) + ")";
}

int SlurmExecutor::idle_capacity() const {
  try {
    return control_->nodes(class_.partition).idle;
  } catch (const Error&) {
    return -1;
  }
}

int SlurmExecutor::places() const {
  try {
    return control_->nodes(class_.partition).total;
  } catch (const Error&) {
    return -1;
  }
}

ClusterFacts SlurmExecutor::cluster_facts() const {
  ClusterFacts f;
  f.max_places = places();
  f.usd_per_second = class_.usd_per_hour > 0 || class_.core_range() ? class_.usd_per_hour / 3600 : -1;
  f.core_options = class_.core_options();
  f.usd_per_core_second = class_.usd_per_core_hour / 3600;
  f.cpu_quota = class_.cpu_quota;
  f.batch_cluster = true;
  // SuspendTime is the cluster's configuration: asked once, not at every plan.
  std::call_once(suspend_time_read_, [this] {
    try {
      suspend_time_s_ = control_->suspend_time_s();
    } catch (const Error&) {
    }
  });
  f.scale_down_window_s = suspend_time_s_;
  return f;
}

}  // namespace reelscale::exec
