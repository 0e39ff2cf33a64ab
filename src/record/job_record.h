// record/job_record.h — the typed record of a finished job, the one format `reelscale
// run --json` prints, `calibrate` reads, `profile` measures from and the job service
// stores: what was asked (spec summary), what was planned (with the profile's name and
// version), what each chunk did (timings, worker, attempts, bytes), what it cost (billed
// seconds, predicted and actual time and cost), and how it ended. One to_json/from_json
// pair with a schema version; no FFmpeg or libtorch types, so the planner can read it.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace reelscale::record {

inline constexpr int kSchemaVersion = 1;

// Seconds one chunk spent in each stage, on the machine that ran it.
struct ChunkTimings {
  double open = 0;        // opening the input and the encoder
  double preroll = 0;     // reaching the first wanted frame (seek, decode, drop)
  double decode = 0;      // the remaining reading
  double process = 0;
  double encode = 0;
  double chunk = 0;       // the chunk runner, open to finished file
  double upload = 0;      // the chunk to storage
  double task = 0;        // on the worker, task received to chunk stored
  double round_trip = 0;  // at the dispatcher: sent to reply (all attempts)
  double queue = 0;       // batch scheduler: submitted to started, less the node's boot
  double boot = 0;        // batch scheduler: its node powering up (a cold start)
};

struct ChunkRecord {
  int index = 0;
  int64_t begin = 0;               // output frames [begin, end)
  int64_t end = 0;
  std::string worker;              // "local:N" or the worker URL that produced it
  std::string output;              // URL of the chunk that won
  int attempts = 1;                // attempts launched for this chunk
  bool speculative = false;        // a second run of a straggler produced it
  int64_t frames = 0;
  int64_t bytes = 0;
  int64_t frames_decoded = 0;
  int64_t frames_dropped = 0;      // decoded in pre-roll and dropped
  int64_t seeks = 0;
  int64_t frames_skipped = 0;      // frames whose processing was unnecessary (framing_ai)
  int64_t input_bytes_read = 0;
  int64_t input_bytes = 0;
  double billed_seconds = 0;       // container time of every attempt, losers included
  int64_t frames_concealed = 0;    // wanted source frames held over or decoded with errors
  std::vector<double> concealed_at_s;  // their times (seconds from the first frame; the first 64)
  int cores = 0;                    // the cores the plan gave it, as the place could grant them (0: not given)
  std::string encoder;              // the video encoder that wrote it: libx264, h264_nvenc
  std::string encoder_note;         // why not the encoder the job asked for ("" when it is)
  std::string start;                // "cold" (its node was powered down or booting when placed), "warm", "" unknown
  ChunkTimings timings_s;
};

// Damage a decoder concealed in one stream of the input (media/limits.h's bound let it pass).
struct MediaDamage {
  std::string stream;              // "video" or "audio"
  std::string unit;                // "frames" or "packets"
  int64_t count = 0;               // units concealed
  int64_t read = 0;                // units read
  std::vector<double> times_s;     // seconds from the first video frame (the first 64)
};

// One choice of the planner, in short: what a budget moved a plan away from.
struct PlanChoice {
  std::string hardware;
  int chunks = 0;
  double container_cores = 0;
  double wall_p90_s = 0;
  double cost_usd = 0;
};

// What the planner predicted, and from which figures.
struct PlanRecord {
  std::string platform_model;      // "local" (owned slots, timed) or "serverless" (priced)
  std::string hardware;
  int chunks = 0;
  int concurrent = 0;              // local: chunks at once
  int threads_per_chunk = 0;       // local: cores each gets
  double chunk_frame_ms = 0;       // local: the time per frame the plan took each chunk to run at
  double container_cores = 0;      // serverless: the cores each container holds (chosen, or the price table's)
  std::string encoder = "x264";    // what the plan encodes with: x264, or nvenc on a GPU that has an encoder
  double cpu_side_share = 0;       // the CPU side's time over a frame's (1: the GPU waits; 0: not known apart)
  double cost_cores_usd = 0;       // serverless: what the containers' cores cost, part of cost_usd
  std::string chunk_speed_from;    // local: where that speed came from (measured thread scaling, or a model)
  int warm_chunks = 0;             // billed: chunks the plan started on warm places (the warm pool it saw)
  double core_seconds = 0;         // local: what the job costs in owned cores
  double cloud_equivalent_usd = 0; // local: those core-seconds at the cloud's per-core price
  // Local: the factor the prediction was multiplied by, how many times slower than the
  // profile the machine ran on the jobs just before (1: as profiled).
  double local_speed = 1.0;
  bool forced_chunks = false;      // the caller fixed the chunk count
  bool feasible = true;
  std::string reason;
  double wall_mean_s = 0;
  double wall_p90_s = 0;
  double cost_usd = 0;
  std::map<std::string, double> breakdown_s;
  // The time the planner ranked each chunk count by on the chosen hardware (p90, or the mean
  // where the policy says so; content sample excluded), keyed "1", "2", ...: what the choice
  // was made against. Empty when the caller fixed the chunk count.
  std::map<std::string, double> wall_by_chunks_s;
  std::string profile_name;
  std::string profile_version;
  std::string note;                // e.g. why there is no prediction
  std::string policy;              // the policy planned with, in words
  std::string policy_entry;        // a scheduled policy: the entry in force ("base": none); "" unscheduled
  // A budget near its cap planned this job for the cheapest choice within its deadline: the
  // budget's name, and what the policy's own objective would have chosen ("" : not moved).
  std::string budget_moved;
  PlanChoice budget_moved_from;
};

struct SourceSummary {
  int width = 0;
  int height = 0;
  int rotation = 0;
  std::string codec;
  int64_t frames = 0;
  double seconds = 0;
  int64_t bytes = 0;
  bool audio = false;
};

// A rate as records write it ("30/1", "30000/1001" or "29.97") as a number (30 when unreadable).
double rate_value(const std::string& rate);

struct JobRecord {
  int schema_version = kSchemaVersion;
  std::string job_id;
  std::string endpoint;
  std::string model;               // framing_ai only
  std::string preset;              // the x264 preset of the output
  double network_input_factor = 1; // framing_ai: network input over the reduced rule's (sr_input native > 1)
  double network_share = 1;        // framing_ai: share of frames that needed the network
  // The job's content sample (job/content_sample.h): CPU ms on one thread to decode one
  // source frame and to encode one output frame at veryfast (0: not sampled).
  double content_decode_ms = 0;
  double content_encode_ms = 0;
  double preroll_frames = -1;      // mean source frames a chunk decodes before its first (-1: unknown)
  std::string input;
  std::string output;
  std::string executor;            // "local (2 slots)", "remote (3 worker URLs)"
  std::string hardware;            // what the chunks ran on ("CPU" for local slots)
  std::string started_at;          // ISO 8601 UTC
  double started_unix_s = 0;
  SourceSummary source;
  int64_t frames = 0;              // output frames
  std::string fps;                 // output rate, "30/1"
  int output_width = 0;
  int output_height = 0;
  int chunks = 0;
  std::optional<PlanRecord> plan;
  std::vector<ChunkRecord> chunk_results;
  std::map<std::string, double> timings_s;  // probe, plan, dispatch, collect_chunks, join, final_upload, cleanup, total
  int64_t output_bytes = 0;
  std::string audio = "none";      // none | copied | reencoded
  std::vector<std::string> warnings;
  std::vector<MediaDamage> damage;  // per stream, when a decoder concealed anything
  int64_t workers_read_input_bytes = 0;
  int64_t store_requests = 0;
  int64_t store_retries = 0;
  int attempts = 0;                // every task attempt, retries and speculation included
  double billed_seconds = 0;       // billed platforms only; 0 on owned local slots
  double cost_usd = 0;             // billed seconds at the price table's rate for the hardware
  double idle_billed_seconds = 0;  // of billed_seconds, charged after the job: its nodes' idle tails
  std::string billing_note;        // what billed_seconds leaves out, and where to find it ("" : nothing)
  double core_seconds = 0;         // local slots: chunk time x the threads each had
  double cloud_equivalent_usd = 0; // local slots: those core-seconds at the cloud's per-core price
  std::string outcome = "done";    // done | failed | cancelled
  std::string error_kind;          // error_kind_name() when not done
  std::string error_message;
  nlohmann::json result;           // detect: the boxes; null otherwise

  double output_pixels() const { return static_cast<double>(output_width) * output_height; }
  double output_seconds() const { return static_cast<double>(frames) / rate_value(fps); }
  double total_seconds() const;
  bool ok() const { return outcome == "done"; }
};

nlohmann::json to_json(const ChunkRecord& chunk);
ChunkRecord chunk_from_json(const nlohmann::json& j);  // Error(kBadInput) naming the field
nlohmann::json to_json(const PlanRecord& plan);
PlanRecord plan_from_json(const nlohmann::json& j);
nlohmann::json to_json(const JobRecord& record);
// Reads a record written by to_json (this or an older schema version); Error(kBadInput)
// naming the field for anything else.
JobRecord record_from_json(const nlohmann::json& j);

// Now as ISO 8601 UTC, today's UTC date (YYYY-MM-DD), and seconds since 1970.
std::string utc_now_iso8601();
inline std::string utc_today() { return utc_now_iso8601().substr(0, 10); }
double unix_now();

}  // namespace reelscale::record
