// plan/inputs.h — what the planner reasons from, each a JSON document (docs/planner.md):
// the profile (measured or inherited timings per endpoint and hardware), the price table,
// the platform (billing and the warm pool) and the policy (the objective and limits).
// Every figure keeps where it came from.
#pragma once

#include <algorithm>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "plan/distribution.h"
#include "plan/frame_stages.h"

namespace reelscale::plan {

// A container's CPU side per frame (decoding, crop and scale, tensor conversion, encoding)
// by the cores it holds: serial_ms + parallel_ms / cores, fitted to runs at several core
// counts under a CPU quota (bench/cpu_side_cores.sh), and never below floor_ms: the chunk
// runner's stages are threads of their own, and the decoder runs on one, so no number of
// cores makes a frame faster than decoding it. Unknown (parallel 0): the CPU side is the
// cell's figure whatever the cores.
struct CpuCurve {
  double serial_ms = 0;
  double parallel_ms = 0;
  double floor_ms = 0;
  Provenance provenance;
  bool known() const { return parallel_ms > 0; }
  double ms(double cores) const { return std::max(floor_ms, serial_ms + parallel_ms / std::max(0.01, cores)); }
  // Least squares of ms against 1 / cores over (cores, ms) points; the serial part is
  // kept at or above 0. Needs two core counts or more.
  static CpuCurve fit(const std::vector<std::pair<double, double>>& points);
};

// ms per frame: from the chunk runner's stages when the profile has them (`stages`:
// decode, process, encode, each by its own work; plan/frame_stages.h); else
// fixed_ms + ms_at_reference * (pixels / reference_pixels)^exponent. When the two stages are known (network_ms and cpu_side_ms, both at the reference size;
// they run concurrently, so ms_at_reference is the larger), a heavier network (factor > 1:
// another model, or a crop fed at its own size) grows only its own stage.
struct FrameTime {
  double ms_at_reference = 0;
  double reference_pixels = 810.0 * 1440.0;
  double exponent = 1.0;
  double fixed_ms = 0;
  // Decoding apart, when refit from records: ms per source megapixel decoded per output
  // frame (a crop's cost follows its source, its encoding the output).
  double ms_per_source_mpixel = 0;
  double network_ms = 0;   // 0: not known apart (the factor then scales the whole)
  double cpu_side_ms = 0;
  FrameStages stages;      // measured per stage (empty: the whole-frame figure above)
  CpuCurve cpu_curve;      // the CPU side by cores (containers whose cores are chosen)
  Provenance provenance;
  // `cores` shared by `chunks_at_once` chunks (stages only; 0: the measured machine).
  double ms(const FrameWork& work, int cores = 0, int chunks_at_once = 1) const;
  double ms(double pixels, double network_factor = 1.0, double source_mpixels_decoded = 0) const;
  void scale(double k);    // every figure k times slower
  // The figures of a container holding `cores` cores: the CPU side from the curve, and
  // the frame the slower of it and the network (the chunk runner overlaps them). Unchanged
  // when the curve is unknown.
  FrameTime at_cores(double cores) const;
};

// How an endpoint's frame time changes with the cores it gets on owned machines (local
// slots): per-frame time relative to one chunk alone on all `cores`, for one chunk
// alone on t threads (`alone`), and for each of k chunks running at once, each on
// threads_per_slot(k) (`concurrent`). Unmeasured entries scale ideally (t threads:
// cores / t; k chunks at once: as their threads alone, no contention).
struct ThreadScaling {
  int cores = 0;                        // the machine the figures were measured on (0: none)
  std::map<int, double> alone;          // threads -> relative per-frame time
  std::map<int, double> concurrent;     // chunks at once -> relative per-frame time of each
  Provenance provenance;
  // Relative per-frame time of each of `k` chunks at once, each on `threads` threads:
  // the single-chunk thread curve times the contention measured between k chunks.
  // Unmeasured (cores 0), the frame time is taken as that of `machine_cores` cores.
  double factor(int k, int threads, int machine_cores) const;
};

// The cluster node a cell was measured on (`reelscale profile --cluster`): its class, its
// name, the cores its tasks ran on and its CPU quota (0: whole cores). Empty: not measured
// on a node of a cluster (the host's own figures, or estimates).
struct NodeOrigin {
  std::string cluster_class;
  std::string node;
  int cores = 0;
  double cpu_quota = 0;
  bool known() const { return !cluster_class.empty(); }
};

// One endpoint on one hardware type.
struct Cell {
  FrameTime frame_time;
  std::string model;          // framing_ai: the network the frame time is for ("" : animevideov3)
  ThreadScaling scaling;      // local slots only
  Distribution cold_start_s;  // new container: boot, process start, model load
  Distribution warm_start_s;  // a task on a container already running
  // Of a warm start, the seconds that hold (and bill) the place: on a batch cluster's idle
  // node, its own process start and model load, not the queue's dispatch before them. 0: a
  // warm container's task start, billed as part of the container's idle time.
  double warm_start_billed_s = 0;
  // Local slots: what a chunk's start-up (opening, reading the first frame) adds per source
  // megapixel, on top of warm_start_s (learned from records; 0: not known apart).
  double start_s_per_source_mpixel = 0;
  NodeOrigin measured_on;
};

struct JoinCost {
  double base_s = 0;
  double per_chunk_s = 0;
  double per_gb_s = 0;
  Provenance provenance;
  double seconds(int chunks, double bytes) const;  // 0 for one chunk: nothing to join
};

// What a job spends before its chunks start, beyond the process's start-up: probing the
// input and planning (the content sample apart: a plan counts it as spent). A line in the
// job's output frames, learned from records; 0 in a profile that has not seen any.
struct SetupCost {
  double base_s = 0;
  double per_frame_s = 0;
  Provenance provenance;
  double seconds(int64_t frames) const { return base_s + per_frame_s * static_cast<double>(frames); }
};

struct Profile {
  std::string name;
  Provenance provenance;
  std::map<std::string, std::map<std::string, Cell>> cells;  // endpoint -> hardware -> cell
  Distribution orchestrator_start_s;
  Distribution request_latency_s;    // fixed cost of each object download/upload request
  double download_mb_per_s = 100;
  double upload_mb_per_s = 50;
  bool whole_file_download = false;  // every chunk reads the whole input (the old system) vs ranges
  Distribution preroll_s;            // per chunk: seek and decode to the first frame
  JoinCost join;
  Distribution cleanup_s;
  SetupCost job_setup;
  double source_mbit_per_s = 10;     // input bitrate when the job does not say its size
  double output_mbit_per_s_at_reference = 8;  // output bitrate at 810x1440
  Provenance transfer_provenance;

  const Cell& cell(const std::string& endpoint, const std::string& hardware) const;
  // Per-frame cost of `model` relative to the network a cell was measured with, from their
  // multiply-adds per output pixel (1 when either is unknown or they are the same).
  static double model_factor(const Cell& cell, const std::string& model);
  // The version job records name: the file's "version" when it has one, else a hash of
  // every figure (any change of a figure gives a new version).
  std::string version() const;
  std::string declared_version;      // "version" in the file, if any
  bool has(const std::string& endpoint, const std::string& hardware) const;
  std::vector<std::string> hardware_for(const std::string& endpoint) const;
};

struct PriceTable {
  std::string currency = "USD";
  Provenance provenance;
  std::map<std::string, double> gpu_per_second;  // per GPU type
  double cpu_core_per_second = 0;
  double memory_gib_per_second = 0;
  // Resources a container of each kind reserves besides its GPU (billed per core and GiB).
  double gpu_container_cores = 2;
  // Core counts a GPU container may be given, each billed per core (empty: only
  // gpu_container_cores). The planner chooses among them where a cell's CPU side is
  // known by cores (CpuCurve).
  std::vector<double> gpu_container_core_options;
  double gpu_container_memory_gib = 8;
  double cpu_container_cores = 4;
  double cpu_container_memory_gib = 8;
  double orchestrator_cores = 1;
  double orchestrator_memory_gib = 2;
  // Cluster classes whose tasks ask for their cores within a range (exec/slurm_cluster.h),
  // by hardware: the counts the planner may choose (the last is the class's most) and the
  // price per core-second, on top of gpu_per_second (the node's part besides its cores).
  struct CoreRange {
    std::vector<double> options;
    double per_core_second = 0;
  };
  std::map<std::string, CoreRange> core_ranges;
  // $/s of a container of this hardware ("CPU" = a CPU-only container); a GPU container
  // with `cores` cores (0: default_cores).
  double container_per_second(const std::string& hardware, double cores = 0) const;
  // What one core of a container of this hardware costs per second.
  double core_per_second(const std::string& hardware) const;
  // The cores a GPU container holds when the plan chooses none: a range's most, else
  // gpu_container_cores.
  double default_cores(const std::string& hardware) const;
  double orchestrator_per_second() const;
  bool known(const std::string& hardware) const;
};

// Serverless: containers billed per second, started cold or found warm, idle until they
// scale down. Local: this machine's own slots and cores, already running; nothing billed.
enum class PlatformKind { kServerless, kLocal };

struct Platform {
  PlatformKind kind = PlatformKind::kServerless;
  int local_slots = 0;                    // local: chunks at once
  int local_cores = 0;                    // local: the cores the job may use
  // Local: how many times slower than its profile this machine runs right now (1: as
  // profiled). Every local time, and the cores it holds, is multiplied by it.
  double local_speed = 1.0;
  bool is_local() const { return kind == PlatformKind::kLocal; }
  static Platform local(int slots, int cores);
  std::string model_name() const { return is_local() ? "local" : "serverless"; }
  double billing_granularity_s = 1;
  double minimum_billed_s = 0;
  double scale_down_window_s = 60;
  int max_containers = 100;               // per hardware type
  std::map<std::string, int> warm_idle;   // containers idle and warm right now, per hardware
  double queue_wait_s = 0;                // current wait for a container (all busy)
  // Share of a container's idle tail this job pays: 1 = it stays idle the whole window
  // (nothing reuses it), 0 = the next job reuses it at once.
  double idle_tail_share = 1.0;
  // The cold starts of one job come together and take one draw, not one each: a batch
  // cluster's powered-down nodes boot at once and are started by the same controller check.
  bool cold_starts_together = false;
  double billed(double seconds) const;    // rounded up to the granularity, at least the minimum
};

// kAuto: fastest on owned local slots (their time is what they cost), cheapest within the
// deadline on a billed platform.
enum class Objective { kAuto, kFastest, kCheapestWithinDeadline, kFastestWithinBudget, kBalanced };

struct Policy {
  Objective objective = Objective::kAuto;
  int reserve_cores = 0;          // local: cores left free for other work
  double deadline_s = 180;
  double budget_usd = 1.0;
  double weight = 0.5;            // balanced: weight of cost against time
  bool use_p90 = true;            // judge time by its 90th percentile (else the mean)
  int max_parallel = 16;
  bool max_parallel_given = false;  // the policy names it: owned slots never raise it to their count
  int min_frames_per_chunk = 15;
  std::vector<std::string> allowed_hardware;  // empty: all the profile has
  bool adaptive = false;          // account for the platform's warm pool and queue
  Objective objective_for(const Platform& platform) const;
  std::string describe() const;
};

Profile parse_profile(const nlohmann::json& j);
PriceTable parse_prices(const nlohmann::json& j);
Platform parse_platform(const nlohmann::json& j);
Policy parse_policy(const nlohmann::json& j);
nlohmann::json to_json(const Profile& p);
nlohmann::json to_json(const PriceTable& p);
nlohmann::json to_json(const Policy& p);
nlohmann::json to_json(const Platform& p);
nlohmann::json to_json(const ThreadScaling& s);

// The defaults. default_profile(): reelscale's own engine ("reelscale": CPU measured, GPU
// estimated by a documented method). old_system_profile(): the old Python system's
// figures ("old-system"), never mixed into one comparison with ours. named_profile():
// either by name, or a profile file. default_prices(): Modal's 2026 prices.
Profile default_profile();
Profile old_system_profile();
Profile named_profile(const std::string& name_or_file);
// The same cells with this machine class's own overheads (process running, local disk,
// stream-copy joins), for runs on local slots when no profile is given.
Profile default_local_profile();
PriceTable default_prices();
Platform default_platform();
Policy default_policy();

// Reads a JSON file (Error(kNotFound) / Error(kBadInput) naming the file).
nlohmann::json read_json_file(const std::string& path);

}  // namespace reelscale::plan
