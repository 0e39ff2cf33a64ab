// exec/stored_task.h — a chunk task that travels through storage instead of HTTP, for a
// batch scheduler (Slurm) whose job runs `reelscale chunk TASK_URL`: the dispatcher writes
// the task JSON at TASK_URL; the run writes the chunk to the task's output, then its
// outcome beside the task (result_url), atomically (a rename on disk, one PUT on S3).
// That outcome is the source of truth for the dispatcher, not the scheduler's state.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "exec/executor.h"
#include "media/limits.h"
#include "record/job_record.h"
#include "store/store.h"

namespace reelscale::exec {

// "…/task-3.a1.json" -> "…/task-3.a1.result.json"
std::string result_url(const std::string& task_url);

// What a stored run ended with: the chunk's record, or the error that stopped it.
struct StoredOutcome {
  bool ok = false;
  record::ChunkRecord chunk;   // ok
  std::string error_kind;      // not ok: common/error.h's kind name ("bad_input", ...)
  std::string message;
};

std::string to_json_text(const StoredOutcome& outcome);
// nullopt when no outcome is stored yet; Error(kInternal) when one is unreadable.
std::optional<StoredOutcome> read_outcome(store::ObjectStore& store, const std::string& task_url);

// Reads the task at `task_url`, runs it here (execute_task) on `place` (the node's name, in
// the record), and stores the outcome, failed or not (`cancel`: stop early, as when
// the scheduler ends the job). Returns it.
StoredOutcome run_stored_task(const std::string& task_url, const ProcessorFactoryMaker& maker, store::ObjectStore& store,
                              const std::filesystem::path& scratch, const media::MediaLimits& limits,
                              const std::string& place, const std::atomic<bool>* cancel = nullptr);

}  // namespace reelscale::exec
