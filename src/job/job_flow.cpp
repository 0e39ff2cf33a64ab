// job/job_flow.cpp — the stages of a job, each a named step of JobRun::run().
#include "job/job_flow.h"

#include "common/cores.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "common/random_hex.h"
#include "common/stopwatch.h"
#include "exec/store_source.h"
#include "media/join.h"
#include "media/timeline.h"

namespace reelscale::job {

std::string new_job_id() { return random_hex(6); }

namespace {

const char* audio_outcome(const media::JoinResult& join) {
  return join.audio ? (join.audio_copied ? "copied" : "reencoded") : "none";
}

record::JobRecord start_record(const process::JobSpec& spec, const std::string& executor) {
  record::JobRecord r;
  r.job_id = new_job_id();
  r.endpoint = process::endpoint_name(spec.endpoint);
  if (spec.endpoint == process::Endpoint::kFramingAi) r.model = spec.model;
  r.preset = spec.preset;
  r.input = spec.input;
  r.output = spec.output;
  r.executor = executor;
  r.started_at = record::utc_now_iso8601();
  r.started_unix_s = record::unix_now();
  return r;
}

void record_failure(record::JobRecord& r, const Error& e) {
  r.outcome = e.kind() == ErrorKind::kCancelled ? "cancelled" : "failed";
  r.error_kind = error_kind_name(e.kind());
  r.error_message = e.what();
}

record::MediaDamage damage_entry(const media::StreamDamage& d) {
  return {d.stream, d.unit, d.damaged, d.read, d.times_s};
}

// The video damage the chunks concealed, as one stream's: counts added, times merged.
media::StreamDamage video_damage(const std::vector<record::ChunkRecord>& chunks, int64_t source_frames) {
  media::StreamDamage d{"video", "frames"};
  d.read = source_frames;
  std::vector<double> times;
  for (const record::ChunkRecord& c : chunks) {
    d.damaged += c.frames_concealed;
    times.insert(times.end(), c.concealed_at_s.begin(), c.concealed_at_s.end());
  }
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());
  if (times.size() > media::StreamDamage::kTimesKept) times.resize(media::StreamDamage::kTimesKept);
  d.times_s = times;
  return d;
}

// Damage goes in the record twice: as numbers (damage[]) and as a warning a person reads.
void record_damage(record::JobRecord& r, const media::StreamDamage& d) {
  if (d.empty()) return;
  r.damage.push_back(damage_entry(d));
  r.warnings.push_back("the input's " + d.stream + " is damaged: " + d.describe());
}

record::SourceSummary summarize(const media::VideoProbe& p) {
  record::SourceSummary s;
  s.width = p.width;
  s.height = p.height;
  s.rotation = p.rotation;
  s.codec = p.codec;
  s.frames = p.frame_count();
  s.seconds = p.duration_seconds();
  s.bytes = p.file_bytes;
  s.audio = !p.audio.empty();
  return s;
}

class JobRun {
 public:
  JobRun(process::JobSpec spec, exec::Executor& executor, store::ObjectStore& store, const JobOptions& options)
      : spec_(std::move(spec)), executor_(executor), store_(store), options_(options),
        record_(start_record(spec_, executor.describe())) {
    if (!options_.job_id.empty()) record_.job_id = options_.job_id;
  }

  record::JobRecord run() {
    try {
      if (spec_.endpoint == process::Endpoint::kDetect) fail(ErrorKind::kInternal, "detect jobs go through run_detect_job");
      check_destination();
      probe_input();
      plan_chunks();
      sweep_stale_temporaries();
      JobTemporaries temps(store_, temp_prefix(), owner_for_this_process(record_.job_id, spec_.output));
      make_tasks(temps.prefix());
      dispatch();
      join_and_store();
      record_.timings_s["cleanup"] = temps.cleanup();
    } catch (const Error& e) {
      record_failure(record_, e);
    } catch (const std::exception& e) {
      record_failure(record_, Error(ErrorKind::kInternal, e.what()));
    }
    finish_record();
    return record_;
  }

 private:
  // Before any work: the output can be written, in a container we write, and is not the input.
  void check_destination() {
    store_.check_destination(spec_.output, spec_.input);
    media::check_output_container(spec_.output);  // by the name's extension, local or s3://
  }

  void probe_input() {
    Stopwatch clock;
    source_ = exec::media_source_for(store_, spec_.input, options_.media_limits);
    probe_ = media::probe_video(source_);
    spec_.fps = process::output_fps(spec_, probe_);
    spec_.fps_given = true;  // the tasks carry the resolved rate
    const media::Timeline timeline(probe_.relative_times_ns(), probe_.relative_end_ns(), spec_.fps, spec_.segments);
    record_.warnings = process::check_against_source(spec_, probe_, timeline);
    record_.source = summarize(probe_);
    record_.frames = timeline.output_frame_count();
    const process::FrameSize size = process::output_size(spec_, probe_);
    record_.output_width = size.width;
    record_.output_height = size.height;
    record_.fps = spec_.fps.to_string();
    record_.timings_s["probe"] = clock.seconds();
  }

  void plan_chunks() {
    Stopwatch clock;
    const int forced = options_.chunks > 0 ? options_.chunks : spec_.chunks;
    const std::string hardware = !options_.hardware.empty() ? options_.hardware : executor_.hardware();
    owned_ = executor_.owned_capacity();
    plan_ = plan_job(spec_, source_, probe_, record_.frames, forced, hardware, options_.planning, owned_);
    record_.plan = plan_.prediction;
    record_.network_input_factor = plan_.shape.network_input_factor;
    record_.network_share = plan_.shape.network_share;
    record_.content_decode_ms = plan_.shape.content.decode_ms;
    record_.content_encode_ms = plan_.shape.content.encode_ms;
    record_.preroll_frames = plan_.shape.preroll_frames;
    record_.hardware = plan_.hardware;
    // "auto": the encoder the plan chose (NVENC where the GPU has one and it pays).
    if (spec_.encoder == "auto") spec_.encoder = plan_.prediction ? plan_.prediction->encoder : "x264";
    ranges_ = media::split_evenly(record_.frames, plan_.chunks);
    record_.chunks = static_cast<int>(ranges_.size());
    record_.timings_s["plan"] = clock.seconds();
  }

  // What killed jobs left beside this job's output goes before this job adds its own.
  void sweep_stale_temporaries() {
    try {
      remove_stale_temporaries(store_, store::Location::parse(spec_.output).folder(), options_.stale);
    } catch (const std::exception&) {
      // A sweep that fails must not fail the job; `reelscale store gc` reports it.
    }
  }

  std::string temp_prefix() const {
    return options_.temp_prefix.empty() ? temp_prefix_beside(spec_.output, record_.job_id) : options_.temp_prefix;
  }

  // The cores the plan gave each container: what the worker or node gives the chunk (whole
  // cores) and what the bill prices (0: local slots, or the price table's default).
  double planned_container_cores() const {
    const auto& p = plan_.prediction;
    return p && p->platform_model != "local" ? std::max(0.0, p->container_cores) : 0;
  }

  void make_tasks(const std::string& prefix) {
    const double deadline = options_.task_deadline_s > 0 ? options_.task_deadline_s : plan_.attempt_deadline_s;
    for (size_t i = 0; i < ranges_.size(); ++i) {
      exec::ChunkTaskSpec task;
      task.task_id = record_.job_id + "-c" + std::to_string(i);
      task.index = static_cast<int>(i);
      task.job = spec_;
      task.probe = probe_;
      task.range = ranges_[i];
      task.output = prefix + "chunk-" + std::to_string(i) + ".mp4";
      task.encoding = options_.encoding;
      if (task.encoding.threads == 0) task.encoding.threads = plan_.threads_per_chunk;
      task.cores = static_cast<int>(std::ceil(planned_container_cores() - 1e-9));
      task.deadline_s = deadline;
      task.encoder_settings().validate_options();
      tasks_.push_back(std::move(task));
    }
  }

  void dispatch() {
    Stopwatch clock;
    record_.chunk_results = executor_.run(tasks_, options_.progress, options_.cancel);
    record_.timings_s["dispatch"] = clock.seconds();
    record_damage(record_, video_damage(record_.chunk_results, probe_.frame_count()));
    record_encoders();
    if (options_.cancel && options_.cancel->load()) fail(ErrorKind::kCancelled, "the job was cancelled");
  }

  // A chunk not written by the encoder the job asked for is a warning that says why; chunks
  // by different encoders cannot be joined by stream copy.
  void record_encoders() {
    std::set<std::string> encoders;
    for (const record::ChunkRecord& c : record_.chunk_results) {
      if (!c.encoder.empty()) encoders.insert(c.encoder);
      if (!c.encoder_note.empty()) record_.warnings.push_back("chunk " + std::to_string(c.index) + ": " + c.encoder_note);
    }
    if (encoders.size() > 1) {
      std::string names;
      for (const std::string& e : encoders) names += (names.empty() ? "" : ", ") + e;
      fail(ErrorKind::kUnavailable, "the chunks were written by different encoders (" + names +
                                        "), which cannot be joined by stream copy: some nodes have NVENC and some not");
    }
  }

  // Collects the chunks locally, joins them with the audio, and puts the result in place.
  void join_and_store() {
    Stopwatch clock;
    std::vector<store::LocalCopy> copies;
    std::vector<media::ChunkFile> files;
    for (size_t i = 0; i < record_.chunk_results.size(); ++i) {
      copies.push_back(store_.fetch(record_.chunk_results[i].output, options_.scratch));
      files.push_back({copies.back().path().string(), ranges_[i].begin, ranges_[i].size()});
    }
    record_.timings_s["collect_chunks"] = clock.lap();
    media::AudioRequest audio;
    audio.source = source_;
    audio.stream_index = probe_.audio.empty() ? -1 : probe_.audio.front().index;
    audio.video_start_seconds = probe_.start_seconds();
    audio.segments = spec_.segments;
    audio.output_seconds = static_cast<double>(record_.frames) * spec_.fps.den / spec_.fps.num;
    audio.mode = spec_.audio;
    const std::unique_ptr<store::ObjectWriter> out = store_.writer(spec_.output, options_.scratch);
    const media::JoinResult join = media::join_chunks(files, spec_.fps, out->path().string(), &audio, source_.limits);
    record_.output_bytes = join.bytes;
    record_.audio = audio_outcome(join);
    record_damage(record_, join.audio_damage);
    record_.timings_s["join"] = clock.lap();
    record_.timings_s["final_upload"] = out->commit();
  }

  void finish_record() {
    const auto& s = store_.stats();
    record_.store_requests = s.requests.load();
    record_.store_retries = s.retries.load();
    record_.timings_s["orchestrator_start"] = options_.process_age_s;
    record_.timings_s["total"] = clock_.seconds();
    for (const record::ChunkRecord& c : record_.chunk_results) {
      record_.workers_read_input_bytes += c.input_bytes_read;
      record_.billed_seconds += c.billed_seconds;
      record_.attempts += c.attempts;
    }
    note_idle_tails();
    const plan::PriceTable& prices = options_.planning.prices;
    if (owned_.slots > 0) {
      cost_owned_cores(prices);
    } else if (prices.known(record_.hardware)) {
      // Billed at the container's size: the cores the plan chose for it.
      const double price_per_second = prices.container_per_second(record_.hardware, planned_container_cores());
      record_.cost_usd = record_.billed_seconds * price_per_second;
    }
  }

  // A batch cluster's elastic node stays up, idle and billed, for SuspendTime after its last
  // task: that tail comes after the job.
  void note_idle_tails() {
    if (record_.executor.rfind("slurm", 0) != 0) return;
    record_.billing_note =
        options_.late_charges_followed
            ? "the chunks' node time; the idle tail of each elastic node the job left (SuspendTime after its last task, "
              "until Slurm powers it down) is added as idle_billed_seconds once the node is seen suspended"
            : "the chunks' node time only: an elastic node the job used stays up, idle and billed, for SuspendTime after "
              "its last task, and `reelscale run` ends before that. `reelscale serve --executor slurm` adds that tail to "
              "the job (idle_billed_seconds) once Slurm powers the node down; otherwise Slurm's power log "
              "(ResumeProgram/SuspendProgram) and `scontrol show node` (LastBusyTime) give it";
  }

  // Owned slots bill nothing: the job's cost is the cores it held (each chunk's time x
  // its threads, one core for the rest), priced at the cloud's per-core rate for reference.
  // The slots and cores are those it was planned with (shared slots: its claim).
  void cost_owned_cores(const plan::PriceTable& prices) {
    const int at_once = std::min<int>(static_cast<int>(record_.chunk_results.size()), owned_.slots);
    const int threads = plan_.threads_per_chunk > 0 ? plan_.threads_per_chunk : threads_per_slot(std::max(1, at_once), owned_.cores);
    double chunk_s = 0;
    for (const record::ChunkRecord& c : record_.chunk_results) chunk_s += c.timings_s.round_trip;
    const double other_s = std::max(0.0, record_.timings_s["total"] - record_.timings_s["dispatch"]);
    record_.core_seconds = chunk_s * threads + other_s;
    record_.cloud_equivalent_usd = record_.core_seconds * prices.cpu_core_per_second;
    record_.billed_seconds = 0;
    record_.cost_usd = 0;
  }

  const Stopwatch clock_;
  process::JobSpec spec_;
  exec::Executor& executor_;
  store::ObjectStore& store_;
  const JobOptions& options_;
  record::JobRecord record_;
  media::MediaSource source_;
  media::VideoProbe probe_;
  JobPlan plan_;
  exec::OwnedCapacity owned_;  // the executor's slots and cores for this job, as planned
  std::vector<media::FrameRange> ranges_;
  std::vector<exec::ChunkTaskSpec> tasks_;
};

}  // namespace

record::JobRecord run_job(process::JobSpec spec, exec::Executor& executor, store::ObjectStore& store,
                          const JobOptions& options) {
  JobRun run(std::move(spec), executor, store, options);
  return run.run();
}

record::JobRecord run_detect_job(const process::JobSpec& spec, store::ObjectStore& store, const DetectFunction& detect,
                                 const media::MediaLimits& limits) {
  const Stopwatch total;
  record::JobRecord r = start_record(spec, "this process");
  r.hardware = "CPU";
  try {
    if (!spec.output.empty()) store.check_destination(spec.output, spec.input);
    Stopwatch clock;
    const media::MediaSource source = exec::media_source_for(store, spec.input, limits);
    const media::VideoProbe probe = media::probe_video(source);
    r.source = summarize(probe);
    r.frames = 1;
    r.timings_s["probe"] = clock.lap();
    r.result = detect(spec, source, probe);
    r.timings_s["detect"] = clock.lap();
    if (!spec.output.empty()) store.put_bytes(r.result.dump(2) + "\n", spec.output);
    r.timings_s["final_upload"] = clock.lap();
  } catch (const Error& e) {
    record_failure(r, e);
  } catch (const std::exception& e) {
    record_failure(r, Error(ErrorKind::kInternal, e.what()));
  }
  r.timings_s["total"] = total.seconds();
  return r;
}

void throw_if_failed(const record::JobRecord& record) {
  if (record.ok()) return;
  throw Error(error_kind_from_name(record.error_kind), record.error_message);
}

}  // namespace reelscale::job
