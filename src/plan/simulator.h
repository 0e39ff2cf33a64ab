// plan/simulator.h — a discrete-event replay of a day of jobs against a serverless
// platform: Poisson arrivals following a time-of-day curve, containers that cold-start,
// serve chunk tasks, stay warm (and billed) through the scale-down window and are reused
// by later tasks, up to a maximum per hardware type. A decider — a fixed threshold
// table or the (adaptive) planner — picks hardware and chunks for each job.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "plan/planner.h"
#include "plan/thresholds.h"

namespace reelscale::plan {

struct Workload {
  std::string endpoint = "framing_ai";
  double jobs_per_day = 1000;
  // Relative arrival rate per hour of the day (any scale); default: quiet nights, busy evenings.
  std::array<double, 24> hourly{};
  Distribution length_s = Distribution::lognormal(20, 60);  // clip length, seconds
  double min_length_s = 0.5, max_length_s = 600;
  double fps = 30;
  double output_pixels = 810.0 * 1440.0;
  std::string model;  // framing_ai: the network ("" : the profile cells' own)
  uint64_t seed = 1;
  static std::array<double, 24> default_hourly();
};

// What the decider sees when a job arrives.
struct LoadView {
  double time_s = 0;
  std::map<std::string, int> idle;     // warm idle containers per hardware
  std::map<std::string, int> queued;   // tasks waiting for a container
  double arrivals_per_s = 0;           // current arrival rate of jobs
};

struct Decision {
  std::string hardware;
  int chunks = 1;
  double container_cores = 0;  // the cores a GPU container holds (0: the price table's default)
  // "T4", or "T4 on 8 cores": containers of one kind serve each other's tasks warm.
  std::string kind() const;
};
using Decider = std::function<Decision(const JobShape&, const LoadView&)>;

// The planner with its policy as is (adaptive policies see the load) / a fixed table.
Decider planner_decider(const Planner& planner);
Decider table_decider(const ThresholdTable& table);
// A policy scheduled by the hour: the planner of each hour of the simulated day (24; the
// simulated day's hours are the schedule's local hours).
Decider scheduled_decider(const std::vector<Planner>& by_hour);

struct SimulationResult {
  int64_t jobs = 0;
  int64_t tasks = 0;
  int64_t cold_starts = 0;
  int64_t warm_starts = 0;
  double latency_mean_s = 0, latency_p50_s = 0, latency_p90_s = 0, latency_p95_s = 0, latency_p99_s = 0;
  double queue_wait_mean_s = 0;
  double billed_container_s = 0;   // all chunk containers
  double gpu_billed_s = 0;         // of those, GPU containers
  double busy_container_s = 0;     // serving tasks (start-up and work)
  double idle_share = 0;           // billed but idle / billed
  double cost_usd = 0;             // containers + orchestrators
  double orchestrator_cost_usd = 0;
  int max_containers_seen = 0;
  double wall_seconds = 0;         // how long the simulation itself took
  std::map<std::string, int64_t> jobs_by_choice;  // "T4 x4" -> jobs
  std::vector<std::pair<double, double>> job_latencies;  // (arrival s into the day, latency s), in finishing order
};

// Clip lengths from text: "lognormal:MEDIAN,P90", "uniform:MIN,MAX", "list:5,12,30" or the
// path of a file of numbers (seconds). Throws Error(kBadInput) naming the problem.
Distribution parse_lengths(const std::string& spec);

SimulationResult simulate(const Profile& profile, const PriceTable& prices, const Platform& platform,
                          const Workload& workload, const Decider& decide);

}  // namespace reelscale::plan
