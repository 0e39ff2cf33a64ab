// plan/planner.h — chooses (hardware, N chunks) for a job under a policy: evaluates
// every allowed pair with the cost model, returns the choice with its breakdown, the
// cost/time Pareto front, and "infeasible" with the closest option when nothing meets
// the policy.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "plan/cost_model.h"

namespace reelscale::plan {

struct PlanResult {
  bool feasible = false;
  // Where the compared figures come from: the model (framing_ai), each hardware's figure
  // source, and a warning when they differ in kind (measured against estimated, or another
  // system's).
  std::vector<std::string> notes;
  bool mixed_provenance = false;
  Estimate chosen;
  std::string reason;               // why this one (or why nothing fits)
  std::vector<Estimate> pareto;     // not beaten on both time and cost, fastest first
  std::vector<Estimate> candidates; // everything evaluated
  double planning_ms = 0;
};

// Start-up order-statistics tables per (endpoint, hardware), built once and shared by
// planners that differ only in their platform state (the adaptive simulator makes one
// per job).
class StartupTables;

// The notes above for `job` on `hardware`.
struct FigureNotes {
  std::vector<std::string> lines;
  bool mixed = false;
};
FigureNotes figure_notes(const Profile& profile, const JobShape& job, const std::vector<std::string>& hardware);

class Planner {
 public:
  Planner(const Profile& profile, const PriceTable& prices, const Platform& platform, const Policy& policy);
  // The same planner looking at another platform state (shares the tables).
  Planner with_platform(const Platform& platform) const;

  PlanResult plan(const JobShape& job) const;
  // Only the choice (no Pareto front, no candidate list): what a simulator needs per job.
  Estimate choose(const JobShape& job) const;
  // The hardware the policy allows and the profile and prices know, for an endpoint.
  std::vector<std::string> hardware(const std::string& endpoint) const;
  // The largest chunk count the policy allows for a job.
  int max_chunks(const JobShape& job) const;

  const Profile& profile;
  const PriceTable& prices;
  const Platform& platform;
  const Policy& policy;

 private:
  Planner(const Profile& profile, const PriceTable& prices, const Platform& platform, const Policy& policy,
          std::shared_ptr<StartupTables> tables);
  std::shared_ptr<StartupTables> tables_;
};

}  // namespace reelscale::plan
