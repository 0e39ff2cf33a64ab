// job/job_flow.h — one job end to end, the one flow `reelscale process` (local files,
// this machine) and `reelscale run` (any store, any executor) both go through:
// probe (by ranges when the input lives in storage), plan or fixed chunks, chunk tasks,
// dispatch through an executor, verify and join, atomic output, and a typed record of
// every stage. Detect jobs (one frame) take a shorter path with the same record.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "exec/executor.h"
#include "job/job_plan.h"
#include "job/temporaries.h"
#include "media/input.h"
#include "media/probe.h"
#include "process/job_spec.h"
#include "record/job_record.h"
#include "store/store.h"

namespace reelscale::job {

// A fresh job id (12 hex digits).
std::string new_job_id();

struct JobOptions {
  std::string job_id;                  // "" : a new one
  int chunks = 0;                      // > 0: fixed; 0: the spec's chunks, else the planner's
  std::string hardware;                // "" : the executor's (the planner's when it names none)
  PlanningInputs planning;
  exec::ChunkEncoding encoding;
  std::filesystem::path scratch = std::filesystem::temp_directory_path();
  std::string temp_prefix;             // where chunk objects go; default: beside the output
  StaleBounds stale;                   // leftovers of killed jobs swept before this one starts
  double process_age_s = 0;            // seconds the process had run when the job started
  double task_deadline_s = 0;          // 0: from the plan (4x its p90, at least 60 s)
  media::MediaLimits media_limits;     // the bounds the probe and the local decoders keep
  const std::atomic<bool>* cancel = nullptr;
  exec::RunProgress progress;
  // Charges that come after the job (a batch cluster's idle tails) are followed and added
  // to its record (`serve`); else the record says they are not included (`run`).
  bool late_charges_followed = false;
};

// Runs a video job (not detect). Never throws for the job's own failures: the record
// says how it ended (outcome, error kind and message); nothing is written at the output
// and the temporaries are removed unless the outcome is "done".
record::JobRecord run_job(process::JobSpec spec, exec::Executor& executor, store::ObjectStore& store,
                          const JobOptions& options);

// The detect endpoint: the people in one frame (e.g. process::Processors::detect).
using DetectFunction =
    std::function<nlohmann::json(const process::JobSpec&, const media::MediaSource&, const media::VideoProbe&)>;

// A detect job: reads the input by ranges when it lives in storage, runs `detect` here, and
// writes its JSON to the job's output (atomically) when there is one. The record's
// `result` holds the boxes.
record::JobRecord run_detect_job(const process::JobSpec& spec, store::ObjectStore& store, const DetectFunction& detect,
                                 const media::MediaLimits& limits = {});

// Throws the record's error (its kind and message) unless the job is done.
void throw_if_failed(const record::JobRecord& record);

}  // namespace reelscale::job
