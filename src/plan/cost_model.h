// plan/cost_model.h — predicted wall time and cost of one job on (hardware, N chunks):
// wall = orchestrator start + the slowest chunk (the slowest of N start-ups — an order
// statistic — then download, pre-roll, frames x time per frame, upload) + join + final
// upload + cleanup; cost = every container's billed seconds x its price, idle tails
// included, plus the orchestrator. Analytic (exact order statistics of the start-ups)
// with a Monte Carlo check. On local slots (owned, already running): the chunks run in
// waves of min(N, slots), each on its share of the cores, at the endpoint's measured
// thread scaling; nothing is billed, so the cost is core-seconds, priced at the cloud's
// per-core rate only for reference.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "plan/inputs.h"

namespace reelscale::plan {

struct JobShape {
  std::string endpoint = "framing_ai";
  int64_t frames = 900;
  double fps = 30;
  double output_pixels = 810.0 * 1440.0;
  double input_bytes = 0;  // 0: estimated from the profile's source bitrate
  std::string model;       // framing_ai: the network ("" : the cell's own)
  // framing_ai: network input pixels relative to the reduced rule's (output / scale^2):
  // above 1 when sr_input is native and crops are larger than output / scale.
  double network_input_factor = 1.0;
  // framing_ai: the share of frames that need the network; the others (a crop with the
  // output's pixels already) cost what framing costs.
  double network_share = 1.0;
  // The source and the encoder, for the per-stage frame cost (0 / "": the profile's reference).
  double source_pixels = 0;
  std::string codec;
  std::string preset;
  std::string encoder = "x264";  // the job's video encoder: x264, nvenc (on GPUs that have it), or auto (the plan's choice)
  double decoded_per_frame = 1.0;  // source frames decoded per output frame
  ContentSample content;           // the job's own pictures timed (unknown: not sampled)
  // Source frames a chunk decodes before its first (from the key frame before it), on
  // average over the job's source span; < 0: unknown (the profile's pre-roll stands).
  double preroll_frames = -1;
  double seconds() const { return frames / fps; }
  // A clip of `seconds` at `fps`; a detect job is one frame.
  static JobShape of_length(const std::string& endpoint, double seconds, double fps = 30,
                            double pixels = 810.0 * 1440.0, const std::string& model = "");
};

// What one frame of `job` asks of `cell`'s stages (the model's factor included).
FrameWork frame_work(const JobShape& job, const Cell& cell);

// A chunk's pre-roll: with per-stage figures and the job's key frames, the frames it
// decodes before its first at the job's decoding cost; else the profile's figure.
double preroll_seconds(const Profile& profile, const Cell& cell, const JobShape& job);

// Time in seconds (mean and 90th percentile where random) and cost in dollars.
struct Estimate {
  std::string platform_model = "serverless";  // or "local": which model made this estimate
  std::string hardware;
  int chunks = 1;
  int concurrent = 0;           // local: chunks running at once
  int threads_per_chunk = 0;    // local: cores each of them gets
  double chunk_frame_ms = 0;    // local: the time per frame each chunk was taken to run at
  double chunk_frame_factor = 1;  // local: that, against one chunk alone on all the cores
  std::string chunk_speed_from; // local: where that speed came from (measured, or modelled)
  double core_seconds = 0;      // local: cores held x seconds
  double cloud_equivalent_usd = 0;  // local: core-seconds at the price table's per-core rate
  double container_cores = 0;   // serverless: the cores each container holds (and is billed for)
  double cpu_side_share = 0;    // the CPU side's time over a frame's (1: the GPU waits on the CPU; 0: not known apart)
  double cost_cores = 0;        // $ of the containers' cores, part of the costs below
  bool cores_chosen = false;    // the plan chose container_cores among the price table's options
  bool nvenc = false;           // the frames are encoded by the GPU's NVENC (the CPU side without x264)
  int warm_chunks = 0;          // chunks that start on a warm idle container
  int64_t largest_chunk = 0;    // frames
  double orchestrator_mean_s = 0, orchestrator_p90_s = 0;
  double startup_mean_s = 0, startup_p90_s = 0;  // the slowest of the chunk start-ups
  double queue_s = 0;
  double transfer_s = 0;        // the largest chunk's download and upload
  double preroll_s = 0;
  double compute_s = 0;         // the largest chunk's frames x time per frame
  double join_s = 0;
  double final_upload_s = 0;
  double cleanup_mean_s = 0, cleanup_p90_s = 0;
  double setup_s = 0;           // probing and planning before the chunks start
  double wall_mean_s = 0;
  double wall_p90_s = 0;        // a bound: the sum of the random parts' p90s
  double cost_startup = 0;      // $ of containers booting
  double cost_work = 0;         // $ of containers working
  double cost_idle_tail = 0;    // $ of containers idle until they scale down
  double cost_orchestrator = 0;
  double cost = 0;              // total $
  double container_seconds = 0; // billed seconds of all chunk containers
  double compute_seconds = 0;   // frames x time per frame, all chunks
  double time(bool p90) const { return p90 ? wall_p90_s : wall_mean_s; }
  std::string label() const;     // "H100 x4", or "H100 x4 on 8 cores" where cores were chosen
};

// `startups`, when given, holds the start-up order statistics of this hardware's cell
// (warm, cold) precomputed for many chunk counts (the planner passes one). A GPU
// container holds `container_cores` cores (0: the price table's gpu_container_cores).
Estimate estimate(const Profile& profile, const PriceTable& prices, const Platform& platform, const JobShape& job,
                  const std::string& hardware, int chunks, bool adaptive, const MaxOfDraws* startups = nullptr,
                  double container_cores = 0);

// The share of a container's CPU side that x264 is, which NVENC takes off the CPU: x264
// veryfast took 3.07 of 4.71 CPU-seconds of framing 300 frames of 1080p to 810x1440 (the
// ffmpeg CLI decoding alone, with the crop and scale, and with the encode; 2026-12-07).
inline constexpr double kX264ShareOfCpuSide = 0.65;

// Whether the GPU table says `hardware` has an NVENC encoder.
bool has_nvenc(const std::string& hardware);

// Whether `job` encodes with NVENC on `hardware`: it asks for it and the GPU has an encoder.
bool encodes_on_gpu(const JobShape& job, const std::string& hardware);

// The encoders the planner weighs for `job` on `hardware`: the job's own, or for "auto"
// x264 and, where the GPU has an encoder, nvenc.
std::vector<std::string> encoder_options(const JobShape& job, const std::string& hardware);

// The core counts a GPU container of `hardware` may be given for `cell`: a cluster class's
// range or the price table's options, where the cell's CPU side is known by cores; else none
// chosen ({0}: the default, a range's most).
std::vector<double> container_core_options(const PriceTable& prices, const Cell& cell, const std::string& hardware);

// The same model by simulation: `samples` draws of every random figure. Returns the mean
// and p90 wall time and the mean cost in an Estimate (other fields as the analytic one).
Estimate estimate_monte_carlo(const Profile& profile, const PriceTable& prices, const Platform& platform,
                              const JobShape& job, const std::string& hardware, int chunks, bool adaptive,
                              int samples, uint64_t seed, double container_cores = 0);

}  // namespace reelscale::plan
