// exec/orchestrator.h — one job end to end: probe the input (by ranges when it lives in
// storage), plan (the measured profile if there is one, else the inherited figures;
// chunks and hardware can be forced), split, dispatch the chunk tasks through an
// executor, verify and join, write the output atomically, and remove the temporary
// chunk objects however the job ends. Returns a record with every stage's timing and the
// plan's prediction beside the actuals. Detect jobs (one frame) take a shorter path.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "exec/executor.h"
#include "media/probe.h"
#include "plan/inputs.h"
#include "process/job_spec.h"

namespace reelscale::exec {

struct RunOptions {
  int chunks = 0;                      // 0: the planner's choice
  std::string hardware;                // what the chunks run on ("CPU" for this machine); "" : the planner's
  plan::Profile profile = plan::default_profile();
  plan::PriceTable prices = plan::default_prices();
  plan::Platform platform = plan::default_platform();
  plan::Policy policy = plan::default_policy();
  media::EncoderSettings encoder;      // preset/crf come from the job
  std::filesystem::path scratch = std::filesystem::temp_directory_path();
  std::string temp_prefix;             // where chunk objects go; default: beside the output
  double process_age_s = 0;            // seconds the process had run when the job started
  const std::atomic<bool>* cancel = nullptr;
  RunProgress progress;
  double task_deadline_s = 0;          // 0: from the plan (4x its prediction, at least 60 s)
};

// Throws Error for bad input (nothing written, temporaries removed). Not for detect.
nlohmann::json run_job(process::JobSpec spec, Executor& executor, store::ObjectStore& store, const RunOptions& options);

// The detect endpoint: the people in one frame (e.g. process::Processors::detect).
using DetectFunction =
    std::function<nlohmann::json(const process::JobSpec&, const media::MediaSource&, const media::VideoProbe&)>;

// A detect job: one frame, so no planning or chunks. Reads the input by ranges when it lives in
// storage, runs `detect` here, and writes its JSON to the job's output (local file or object,
// atomically) when there is one. Returns a record with the result and the timings.
nlohmann::json run_detect_job(const process::JobSpec& spec, store::ObjectStore& store, const DetectFunction& detect);

}  // namespace reelscale::exec
