// job/job_plan.h — the planning stage of a job: its shape for the planner (from the
// spec and the probe), the chunk count (the caller's, the spec's or the planner's), the
// prediction the record keeps beside the actuals, and the attempt deadline.
#pragma once

#include <optional>
#include <string>

#include "exec/executor.h"
#include "media/input.h"
#include "media/probe.h"
#include "plan/inputs.h"
#include "plan/planner.h"
#include "process/job_spec.h"
#include "record/job_record.h"

namespace reelscale::job {

struct PlanningInputs {
  plan::Profile profile = plan::default_profile();
  bool profile_given = false;  // false: local runs plan with local_profile
  // Owned slots without a given profile: the built-in local profile, fitted to this machine
  // (job/machine_check.h) or as built in (unset: plan::default_local_profile()).
  std::optional<plan::Profile> local_profile;
  plan::PriceTable prices = plan::default_prices();
  plan::Platform platform = plan::default_platform();
  plan::Policy policy = plan::default_policy();
  std::string policy_entry;  // a scheduled policy: which entry `policy` is ("" : not scheduled)
  // On owned local slots: how many times slower than its profile the machine runs now
  // (the service's recent jobs; 1: as profiled). Local predictions are multiplied by it.
  double local_speed = 1.0;
  // Whether a job times a sample of its own frames (job/content_sample.h). It sharpens the
  // plan's choice and what calibration learns; `process`, which chooses nothing, skips it.
  bool sample_content = true;
  // A budget near its cap ("" : none): the job is planned for the cheapest choice within the
  // policy's deadline, and its plan names the budget and what the policy would have chosen.
  std::string budget_moved;
};

// What a cluster executor says of itself, applied to the planning inputs: its node count
// as the most places at once, its scale-down window, and its node price (all-in: no
// container cores or memory on top) for its hardware. Other executors change nothing.
void apply_cluster_facts(PlanningInputs& planning, const exec::Executor& executor);

struct JobPlan {
  int chunks = 1;
  int threads_per_chunk = 0;               // local: what the plan gives each chunk (0: the executor's share)
  std::string hardware;                    // what the chunks run on
  std::optional<record::PlanRecord> prediction;
  double attempt_deadline_s = 600;
  plan::JobShape shape;
};

// The planner's view of a job (its content not sampled).
plan::JobShape job_shape(const process::JobSpec& spec, const media::VideoProbe& probe, int64_t frames);

// Whether the profile's cells for the endpoint can use a content sample (they carry the
// profiler's own sample to compare it with).
bool profile_uses_content(const plan::Profile& profile, const std::string& endpoint);

// Plans a job of `frames` output frames, its content sampled from `source` when the
// profile uses it. `forced_chunks` > 0 fixes the count; `hardware`
// is what the executor runs on ("" lets the planner choose among the profile's).
// `owned` slots (local execution) are planned with the local model — for time, their
// cores less the policy's reserve — instead of the inputs' billed platform.
JobPlan plan_job(const process::JobSpec& spec, const media::MediaSource& source, const media::VideoProbe& probe,
                 int64_t frames, int forced_chunks,
                 const std::string& hardware, const PlanningInputs& inputs, exec::OwnedCapacity owned = {});

record::PlanRecord plan_record(const plan::Estimate& e, const plan::Profile& profile);

}  // namespace reelscale::job
