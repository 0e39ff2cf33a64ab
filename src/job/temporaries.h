// job/temporaries.h — a job's temporary objects and what is left of killed jobs. Each
// job keeps its chunks under `.reelscale-tmp-<job>/` beside its output, with an owner
// record (owner.json: host, pid and the pid's start time, start time, output) written
// first. The prefix is removed however the job ends (RAII). A process killed with
// SIGKILL cannot clean up, so a later job writing to the same folder — or `reelscale
// store gc` — removes temporaries whose owner is not a live process and that are older
// than a bound, aborts unfinished multipart uploads of their output, and removes the
// atomic-write leftovers (".name.part-<pid>-...") of dead processes.
#pragma once

#include <string>
#include <vector>

#include "store/store.h"

namespace reelscale::job {

struct OwnerRecord {
  std::string job_id;
  std::string host;
  long pid = 0;
  long long pid_start_ticks = 0;  // from /proc/<pid>/stat: tells a reused pid apart
  double started_unix_s = 0;
  std::string output;             // the job's output URL (its multipart uploads are the job's too)
};

OwnerRecord owner_for_this_process(const std::string& job_id, const std::string& output);
// True when the owner is a process running now on this host (false for other hosts).
bool owner_is_live(const OwnerRecord& owner);

// The temporaries of one running job. Writes the owner record on construction and
// removes the whole prefix on cleanup() or destruction.
class JobTemporaries {
 public:
  JobTemporaries(store::ObjectStore& store, std::string prefix, const OwnerRecord& owner);
  ~JobTemporaries();
  JobTemporaries(const JobTemporaries&) = delete;
  JobTemporaries& operator=(const JobTemporaries&) = delete;
  const std::string& prefix() const { return prefix_; }
  // Removes the prefix now; returns the seconds it took. Best effort: what is left is
  // found by the next sweep.
  double cleanup();

 private:
  store::ObjectStore& store_;
  std::string prefix_;
  bool done_ = false;
};

// The prefix of job `job_id`'s temporaries beside `output_url`.
std::string temp_prefix_beside(const std::string& output_url, const std::string& job_id);

struct StaleBounds {
  double dead_owner_age_s = 60;          // a dead local owner's leftovers, once this old
  double unknown_owner_age_s = 24 * 3600;  // another host's, or without an owner record
};

struct SweepReport {
  std::vector<std::string> removed;      // prefixes and files removed
  std::vector<std::string> kept;         // temporaries of live (or too recent) owners
  int aborted_uploads = 0;
};

// Sweeps one folder ("dir/", "s3://bucket/dir/") for the leftovers described above.
SweepReport remove_stale_temporaries(store::ObjectStore& store, const std::string& folder_url,
                                     const StaleBounds& bounds = {});

}  // namespace reelscale::job
