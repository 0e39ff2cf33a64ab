// exec/attempts.h — the attempt policy every dispatching executor shares (remote workers,
// Slurm): which tasks wait for a place, which running attempts are stragglers to run a
// second time, what a failure means (another attempt, or the job fails once a task has
// used its budget or failed for a reason another place cannot fix), and that the first
// attempt to finish wins (the others are stopped and their outputs deleted). Each attempt
// writes its own output (chunk-3.a2.mp4), so two copies never write the same object.
// Not thread-safe: the executor's run holds its own lock around it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/stopwatch.h"
#include "exec/task.h"
#include "record/job_record.h"
#include "store/store.h"

namespace reelscale::exec {

// Deletes what a run leaves in storage (losers' outputs, task files) as far as it can: a
// failure is ignored, since the job's temporary prefix is removed as a whole at its end.
void remove_leftovers(store::ObjectStore& store, const std::vector<std::string>& urls);

struct AttemptPolicy {
  int max_attempts = 3;           // failed attempts per task before the job fails
  bool speculate = true;
  double speculate_factor = 2.0;  // an attempt running this many times the median task is a straggler...
  double speculate_min_s = 5.0;   // ...and at least this long
};

// One launched attempt of a task.
struct Attempt {
  int task = 0;
  int place = 0;                  // where it runs, in the executor's numbering
  int number = 0;                 // 1, 2, ... per task
  bool speculative = false;
  std::string output;             // the attempt's own chunk URL
  std::string task_id;            // the task's id with ".aN"
  Stopwatch clock;
  bool finished = false;
  bool abandoned = false;         // stopped by us: its outcome does not count
};

// "s3://b/tmp/chunk-3.mp4" -> "s3://b/tmp/chunk-3.a2.mp4"
std::string attempt_url(const std::string& url, int attempt);

class AttemptBook {
 public:
  AttemptBook(const std::vector<ChunkTaskSpec>& tasks, AttemptPolicy policy);

  // Tasks neither done nor running, in order.
  std::vector<int> waiting() const;
  // Whether task t has already had an attempt at `place`.
  bool tried(int task, int place) const;
  // Records a new attempt of `task` at `place`; the returned attempt lives as long as the book.
  std::shared_ptr<Attempt> launch(int task, int place, bool speculative);
  // Running attempts past the straggler limit whose task has not been run twice yet.
  std::vector<std::shared_ptr<Attempt>> stragglers() const;

  // The attempt's chunk is stored, with its record. True when it won (the first of its task
  // to finish); a later one lost and its output is to be deleted.
  bool succeeded(Attempt& a, record::ChunkRecord r, const std::string& place_name);
  // The attempt failed (`why`, naming the place). `hopeless`: the input or a refusal makes
  // it fail anywhere. The job fails when the task has no attempt left running and has used
  // its budget, or failed hopelessly.
  void failed(Attempt& a, const std::string& why, bool hopeless);
  // The attempt ended without an outcome that counts (stopped by us, or a place that
  // refused it for now): the task waits for another place.
  void ended_uncounted(Attempt& a);
  // Stops counting on a running attempt (another copy won, or the run ends); its output
  // is marked for deletion.
  void abandon(Attempt& a);

  bool all_done() const;
  bool task_done(int task) const { return state_[task].done; }
  void fail_run(const std::string& why) { fatal_ = why; }  // e.g. "cancelled"
  const std::string& fatal() const { return fatal_; }
  const std::vector<std::shared_ptr<Attempt>>& attempts() const { return attempts_; }
  std::vector<std::shared_ptr<Attempt>> running() const;
  const std::vector<std::string>& losers() const { return losers_; }  // outputs to delete
  int64_t done_frames() const { return done_frames_; }
  int64_t total_frames() const { return total_frames_; }
  int failures() const { return failures_; }
  int speculative_launches() const { return speculative_; }
  // The winners' records in task order, each with the time all its attempts ran.
  std::vector<record::ChunkRecord> results() const;

 private:
  struct TaskState {
    bool done = false;
    int failures = 0;
    int running = 0;
    int launched = 0;
    bool speculated = false;
    double attempt_seconds = 0;   // every attempt's run time, losers included
    std::vector<int> tried;
    std::string last_error;
    record::ChunkRecord result;
  };
  void finish(Attempt& a);

  const std::vector<ChunkTaskSpec>& tasks_;
  AttemptPolicy policy_;
  std::vector<TaskState> state_;
  std::vector<std::shared_ptr<Attempt>> attempts_;
  std::vector<std::string> losers_;
  std::vector<double> durations_;  // winners' run times
  std::string fatal_;
  int64_t total_frames_ = 0;
  int64_t done_frames_ = 0;
  int failures_ = 0;
  int speculative_ = 0;
};

}  // namespace reelscale::exec
