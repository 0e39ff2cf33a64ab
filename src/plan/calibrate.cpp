// plan/calibrate.cpp — profile updates from job records.
#include "plan/calibrate.h"

#include "plan/frame_fit.h"
#include "plan/stage_fit.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <sstream>

namespace reelscale::plan {

namespace {
// Chunks a contention correction needs for one count of chunks at once.
constexpr size_t kMinChunksForContention = 5;
// Cold chunk starts a cold-start distribution is learned from.
constexpr size_t kMinColdStarts = 3;
// Timed chunk uploads a request latency is learned from.
constexpr size_t kMinUploads = 5;

std::string fmt(double v) {
  std::ostringstream os;
  os.precision(4);
  os << v;
  return os.str();
}
}  // namespace

std::optional<JoinCost> fit_join(const std::vector<std::pair<double, double>>& points, const Provenance& provenance) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& [x, y] : points) {
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const double k = static_cast<double>(points.size());
  const double denom = k * sxx - sx * sx;
  if (points.size() < 2 || denom <= 1e-12) return std::nullopt;
  const double slope = std::max(0.0, (k * sxy - sx * sy) / denom);
  return JoinCost{std::max(0.0, (sy - slope * sx) / k), slope, 0, provenance};
}

namespace {

// A cell's whole-frame figure is refit from its chunks' steady per-frame times as fixed +
// per size + per source megapixel decoded (plan/frame_fit.h) when it is plain (no network
// part known apart); otherwise it is corrected by one factor (the frames' measured time
// over what the cell predicts for them), keeping its shape as measured. On local slots
// each chunk's time is first divided by the thread-scaling factor its plan applied, and
// the contention of k chunks at once is then corrected from the chunks that ran so.
struct LocalChunk {
  size_t sample = 0;  // index into FrameSum::samples
  int at_once = 1;    // the plan's chunks at once
  int cores = 0;      // the cores the plan shared among them
};

struct FrameSum {
  double measured_ms = 0;   // steady per-frame ms, times frames
  double predicted_ms = 0;  // what the cell says for the same frames
  double frames = 0;
  int records = 0;
  std::vector<FrameSample> samples;     // per chunk, the plan's thread factor divided out
  std::vector<LocalChunk> local_chunks;
};

// What chunks on billed places waited before their steady work, warm and cold apart. A
// batch scheduler marks each chunk cold (its node booted) or warm; a worker's chunk is warm.
struct StartSamples {
  double warm_sum = 0;        // the slowest warm chunk's overhead per record
  int warm_n = 0;
  std::vector<double> cold;   // every cold chunk's overhead (boot and queue included)
};

struct Sums {
  std::map<std::pair<std::string, std::string>, FrameSum> frames;
  std::map<std::pair<std::string, std::string>, std::vector<ChunkObservation>> stages;
  double preroll_sum = 0;
  int preroll_n = 0;
  double orchestrator_sum = 0;  // the process's start-up as the records saw it (0 in a running service)
  double cleanup_sum = 0;
  int overhead_n = 0;
  std::vector<std::pair<double, double>> join_points;  // chunks, seconds
  std::vector<std::pair<double, double>> setup_points;  // output frames, probe + plan less the content sample
  // Local: per cell, (source megapixels, the slowest chunk's open and the first frame).
  std::map<std::pair<std::string, std::string>, std::vector<std::pair<double, double>>> local_opens;
  std::map<std::pair<std::string, std::string>, StartSamples> starts;  // billed places
  std::vector<double> request_latencies;  // each timed chunk upload less its bytes at the profile's rate
};

// A chunk's overhead before its steady work: its round trip less its run after opening.
double chunk_overhead(const record::ChunkRecord& c) {
  return std::max(0.0, c.timings_s.round_trip - (c.timings_s.chunk - c.timings_s.open));
}

void add_billed_starts(const record::JobRecord& r, StartSamples& starts) {
  double slowest_warm = -1;
  for (const record::ChunkRecord& c : r.chunk_results) {
    if (c.timings_s.round_trip <= 0) continue;
    if (c.start == "cold") {
      starts.cold.push_back(chunk_overhead(c));
    } else {
      slowest_warm = std::max(slowest_warm, chunk_overhead(c));
    }
  }
  if (slowest_warm >= 0) {
    starts.warm_sum += slowest_warm;
    ++starts.warm_n;
  }
}

// A chunk's upload is one request's latency and its bytes at the upload rate: what each
// timed upload spent beyond its bytes is a sample of the latency. A chunk written in place
// (a local path, no object store) made no request: a latency of 0.
void add_uploads(const record::JobRecord& r, double upload_bytes_per_s, std::vector<double>& latencies) {
  for (const record::ChunkRecord& c : r.chunk_results) {
    const bool in_place = !c.output.empty() && c.output.find("://") == std::string::npos;
    if (c.timings_s.upload <= 0 && !in_place) continue;  // not timed
    latencies.push_back(std::max(0.0, c.timings_s.upload - static_cast<double>(c.bytes) / upload_bytes_per_s));
  }
}

// Probing and planning as a record saw them (the content sample apart: plans count it).
std::optional<double> setup_seconds(const record::JobRecord& r) {
  const auto probe = r.timings_s.find("probe"), plan = r.timings_s.find("plan");
  if (probe == r.timings_s.end() || plan == r.timings_s.end()) return std::nullopt;
  double sample = 0;
  if (r.plan && r.plan->breakdown_s.count("content_sample")) sample = r.plan->breakdown_s.at("content_sample");
  return std::max(0.0, probe->second + plan->second - sample);
}

// Adds one finished record's chunks to the sums.
void add_record(const Cell& cell, const record::JobRecord& r, double upload_bytes_per_s, FrameSum& s, Sums& sums) {
  if (cell.frame_time.stages.known()) {
    auto& observed = sums.stages[{r.endpoint, r.hardware}];
    for (const ChunkObservation& o : chunk_observations(r, Profile::model_factor(cell, r.model))) observed.push_back(o);
  }
  const FrameTime& ft = cell.frame_time;
  const double size_factor = std::pow(std::max(1.0, r.output_pixels()) / ft.reference_pixels, ft.exponent);
  const bool local = r.plan && r.plan->platform_model == "local" && r.plan->concurrent > 0;
  const int at_once = local ? r.plan->concurrent : 1;
  const int cores = local ? r.plan->concurrent * std::max(1, r.plan->threads_per_chunk) : 0;
  const double thread_factor = local ? cell.scaling.factor(at_once, std::max(1, r.plan->threads_per_chunk), cores) : 1.0;
  ++s.records;
  // The first chunk's pre-roll is reading its first frame only (it starts at the source's
  // start): on local slots part of the chunk start-up, and what every later chunk's
  // pre-roll also spends before the frames it skips.
  double first_frame_s = 0;
  for (const record::ChunkRecord& c : r.chunk_results) {
    if (local && c.index == 0) first_frame_s = c.timings_s.preroll;
  }
  for (const record::ChunkRecord& c : r.chunk_results) {
    const double frames = static_cast<double>(c.frames);
    // Steady per-frame time: the chunk's run less opening and pre-roll (modelled apart).
    const double steady = c.timings_s.chunk - c.timings_s.open - c.timings_s.preroll;
    if (frames <= 0 || steady <= 0) continue;
    const double decoded = static_cast<double>(std::max<int64_t>(1, c.frames_decoded - c.frames_dropped)) / frames;
    const double source_mpixels = static_cast<double>(r.source.width) * r.source.height / 1e6 * decoded;
    s.measured_ms += 1000 * steady;
    s.predicted_ms += ft.ms(r.output_pixels(), 1.0, source_mpixels) * thread_factor * frames;
    s.frames += frames;
    s.samples.push_back({size_factor, source_mpixels, 1000 * steady / frames / thread_factor, frames});
    if (local) s.local_chunks.push_back({s.samples.size() - 1, at_once, cores});
    if (c.index > 0) {
      sums.preroll_sum += std::max(0.0, c.timings_s.preroll - first_frame_s);
      ++sums.preroll_n;
    }
  }
  add_uploads(r, upload_bytes_per_s, sums.request_latencies);
  auto orchestrator = r.timings_s.find("orchestrator_start");
  auto cleanup = r.timings_s.find("cleanup");
  if (orchestrator != r.timings_s.end() && cleanup != r.timings_s.end()) {
    sums.orchestrator_sum += orchestrator->second;
    sums.cleanup_sum += cleanup->second;
    ++sums.overhead_n;
  }
  auto join = r.timings_s.find("join");
  if (r.chunks > 1 && join != r.timings_s.end()) sums.join_points.push_back({static_cast<double>(r.chunks), join->second});
  if (const auto setup = setup_seconds(r)) sums.setup_points.push_back({static_cast<double>(r.frames), *setup});
  // On owned local slots a chunk's start-up is opening its input, encoder and model in a
  // running process and reading its first frame: what the slowest chunk's open took, and
  // the first chunk's first frame.
  if (r.plan && r.plan->platform_model == "local") {
    double slowest = 0;
    for (const record::ChunkRecord& c : r.chunk_results) slowest = std::max(slowest, c.timings_s.open);
    const double source_mpixels = static_cast<double>(r.source.width) * r.source.height / 1e6;
    sums.local_opens[{r.endpoint, r.hardware}].push_back({source_mpixels, slowest + first_frame_s});
  } else if (r.plan && r.plan->platform_model == "serverless") {
    add_billed_starts(r, sums.starts[{r.endpoint, r.hardware}]);
  }
}

// Local slots: the contention of k chunks at once, from the chunks that ran so. Their
// time over the refit line (weighted median) scales the thread factor the plan applies
// to k chunks at once, each on the cores over k.
void correct_contention(ThreadScaling& scaling, const FrameLine& line, const FrameSum& s, const std::string& cell,
                        const std::string& date, CalibrationSummary& summary) {
  std::map<int, std::vector<std::pair<double, double>>> ratios;  // chunks at once -> (measured / line, frames)
  std::map<int, int> cores_seen;
  for (const LocalChunk& c : s.local_chunks) {
    const FrameSample& sample = s.samples[c.sample];
    const double fitted = line.ms(sample);
    if (fitted <= 0) continue;
    ratios[c.at_once].push_back({sample.ms / fitted, sample.weight});
    cores_seen[c.at_once] = std::max(cores_seen[c.at_once], c.cores);
  }
  for (const auto& [k, values] : ratios) {
    if (values.size() < kMinChunksForContention) continue;
    const int cores = scaling.cores > 0 ? scaling.cores : cores_seen[k];
    if (cores <= 0) continue;
    const double before = scaling.factor(k, std::max(1, cores / k), cores);
    const double ratio = weighted_median(values);
    if (scaling.cores <= 0) scaling.cores = cores;
    scaling.concurrent[k] = before * ratio;
    scaling.provenance = {"calibrated from " + std::to_string(values.size()) + " local chunk(s)", date, true};
    summary.changes.push_back(cell + ": " + std::to_string(k) + " chunk(s) at once: thread factor " + fmt(before) +
                              " -> " + fmt(scaling.concurrent[k]));
  }
}

// On local slots a chunk's start-up (opening, the first frame) grows with the source frame
// decoded: a line in source megapixels when the records' sources spread (the largest at
// least 1.5x the smallest), else their mean.
void calibrate_local_start(Cell& cell, const Profile& profile, const std::vector<std::pair<double, double>>& opens,
                           const std::string& name, const std::string& date, CalibrationSummary& summary) {
  const Provenance from{"calibrated from " + std::to_string(opens.size()) + " local job records", date, true};
  double smallest = opens.front().first, largest = smallest, sum = 0;
  for (const auto& [mpixels, seconds] : opens) {
    smallest = std::min(smallest, mpixels);
    largest = std::max(largest, mpixels);
    sum += seconds;
  }
  std::optional<JoinCost> line;
  if (largest >= 1.5 * smallest) line = fit_join(opens, from);
  const double base_s = line ? line->base_s : sum / static_cast<double>(opens.size());
  cell.start_s_per_source_mpixel = line ? line->per_chunk_s : 0;
  cell.warm_start_s = Distribution::constant(base_s);
  cell.warm_start_s.provenance = from;
  cell.cold_start_s = Distribution::constant(profile.orchestrator_start_s.mean() + base_s);
  cell.cold_start_s.provenance = from;
  summary.changes.push_back(name + ": local chunk start-up (open and first frame) " + fmt(base_s) + " s + " +
                            fmt(cell.start_s_per_source_mpixel * 1000) + " ms per source megapixel");
}

// The learned figures beyond the frames: job set-up and the local chunk start-up.
void calibrate_overheads(Profile& profile, const Sums& sums, const std::string& date, CalibrationSummary& summary) {
  const Provenance setup_from{"calibrated from " + std::to_string(sums.setup_points.size()) + " job records", date, true};
  if (auto line = fit_join(sums.setup_points, setup_from)) {
    profile.job_setup = {line->base_s, line->per_chunk_s, setup_from};
  } else if (!sums.setup_points.empty()) {
    double sum = 0;
    for (const auto& [frames, s] : sums.setup_points) sum += s;
    profile.job_setup = {sum / static_cast<double>(sums.setup_points.size()), 0, setup_from};
  }
  if (!sums.setup_points.empty()) {
    summary.changes.push_back("job set-up (probe and plan): " + fmt(profile.job_setup.base_s) + " s + " +
                              fmt(profile.job_setup.per_frame_s * 1000) + " ms per output frame");
  }
  for (const auto& [key, opens] : sums.local_opens) {
    calibrate_local_start(profile.cells[key.first][key.second], profile, opens, key.first + " on " + key.second, date,
                          summary);
  }
  for (const auto& [key, starts] : sums.starts) {
    Cell& cell = profile.cells[key.first][key.second];
    if (starts.warm_n > 0) {
      const double start_s = starts.warm_sum / starts.warm_n;
      cell.warm_start_s = Distribution::constant(start_s);
      cell.warm_start_s.provenance = {"calibrated from " + std::to_string(starts.warm_n) + " job records", date, true};
      summary.changes.push_back(key.first + " on " + key.second + ": warm start " + fmt(start_s) + " s");
    }
    if (starts.cold.size() >= kMinColdStarts) {
      cell.cold_start_s = Distribution::samples(starts.cold);
      cell.cold_start_s.provenance = {"calibrated from " + std::to_string(starts.cold.size()) +
                                          " cold chunk starts (node boot, queue, process start)", date, true};
      summary.changes.push_back(key.first + " on " + key.second + ": cold start " + cell.cold_start_s.describe());
    }
  }
}

// The fixed cost of each object request (every chunk's transfer and a joined output's
// upload pay it): the median of the timed chunk uploads' latencies, once there are enough.
// A profile's figure is otherwise never measured against the store the jobs really use.
void calibrate_request_latency(Profile& profile, std::vector<double> latencies, const std::string& date,
                               CalibrationSummary& summary) {
  if (latencies.size() < kMinUploads) return;
  std::sort(latencies.begin(), latencies.end());
  const double before = profile.request_latency_s.mean();
  profile.request_latency_s = Distribution::constant(latencies[latencies.size() / 2]);
  profile.request_latency_s.provenance = {"calibrated from " + std::to_string(latencies.size()) + " chunk uploads", date, true};
  summary.changes.push_back("request latency: " + fmt(before) + " -> " + fmt(profile.request_latency_s.mean()) + " s");
}

// Joins seen at one chunk count only (a line needs two): the profile's line keeps its
// shape and passes through their mean there.
void scale_join(JoinCost& join, const std::vector<std::pair<double, double>>& points, const std::string& date,
                CalibrationSummary& summary) {
  double sum = 0;
  for (const auto& [chunks, s] : points) sum += s;
  const double chunks = points.front().first;
  const double was = join.base_s + join.per_chunk_s * chunks;
  if (was <= 0) return;
  const double factor = sum / static_cast<double>(points.size()) / was;
  summary.changes.push_back("join: " + fmt(join.base_s) + " + " + fmt(join.per_chunk_s) + " N scaled by " + fmt(factor) +
                            " (" + std::to_string(points.size()) + " joins, all of " + fmt(chunks) + " chunks)");
  join.base_s *= factor;
  join.per_chunk_s *= factor;
  join.provenance = {"scaled to " + std::to_string(points.size()) + " joined jobs", date, true};
}

}  // namespace

double steady_frame_ratio(const Profile& profile, const record::JobRecord& r) {
  if (!profile.has(r.endpoint, r.hardware)) return 0;
  const FrameStages& stages = profile.cell(r.endpoint, r.hardware).frame_time.stages;
  if (!stages.known()) return 0;
  double measured_ms = 0, predicted_ms = 0;
  for (ChunkObservation& o : chunk_observations(r, Profile::model_factor(profile.cell(r.endpoint, r.hardware), r.model))) {
    o.work.content = {};  // the profile's reference pictures: the machine's speed, not the content's
    measured_ms += o.frame_ms * o.frames;
    predicted_ms += stages.times(o.work, o.cores, o.chunks_at_once).frame_ms * o.frames;
  }
  return predicted_ms > 0 ? measured_ms / predicted_ms : 0;
}

void scale_frame_times(Profile& profile, const std::string& hardware, double factor, const std::string& why,
                       const std::string& date) {
  for (auto& [endpoint, cells] : profile.cells) {
    const auto it = cells.find(hardware);
    if (it == cells.end()) continue;
    FrameTime& ft = it->second.frame_time;
    ft.scale(factor);
    // A job's content sample is compared with the profiler's: taken on this machine, it is
    // `factor` times the reference machine's too.
    ContentReference& reference = ft.stages.content_reference;
    reference = {reference.decode.times(factor), reference.encode.times(factor)};
    ft.provenance.source += "; x" + fmt(factor) + ": " + why;
    ft.provenance.date = date;
  }
}

void scale_process_overheads(Profile& profile, const std::string& hardware, double factor, const std::string& why,
                             const std::string& date) {
  const auto scaled = [&](const Distribution& d) {
    Distribution out = d.scaled(factor);
    out.provenance = d.provenance;
    out.provenance.source += "; x" + fmt(factor) + ": " + why;
    out.provenance.date = date;
    return out;
  };
  profile.orchestrator_start_s = scaled(profile.orchestrator_start_s);
  profile.preroll_s = scaled(profile.preroll_s);
  profile.cleanup_s = scaled(profile.cleanup_s);
  profile.join.base_s *= factor;
  profile.join.per_chunk_s *= factor;
  profile.join.provenance.source += "; x" + fmt(factor) + ": " + why;
  for (auto& [endpoint, cells] : profile.cells) {
    const auto it = cells.find(hardware);
    if (it == cells.end()) continue;
    it->second.cold_start_s = scaled(it->second.cold_start_s);
    it->second.warm_start_s = scaled(it->second.warm_start_s);
    it->second.start_s_per_source_mpixel *= factor;
  }
}

JobShape job_shape_of(const record::JobRecord& r) {
  JobShape s;
  s.endpoint = r.endpoint;
  s.frames = std::max<int64_t>(1, r.frames);
  s.fps = record::rate_value(r.fps);
  s.output_pixels = r.output_pixels();
  s.input_bytes = static_cast<double>(r.source.bytes);
  s.model = r.model;
  s.network_input_factor = r.network_input_factor;
  s.network_share = r.network_share;
  s.source_pixels = static_cast<double>(r.source.width) * r.source.height;
  s.codec = r.source.codec;
  s.preset = r.preset;
  s.content = {r.content_decode_ms, r.content_encode_ms};
  s.preroll_frames = r.preroll_frames;
  int64_t decoded = 0;
  for (const auto& c : r.chunk_results) decoded += std::max<int64_t>(0, c.frames_decoded - c.frames_dropped);
  if (decoded > 0) s.decoded_per_frame = static_cast<double>(decoded) / static_cast<double>(s.frames);
  return s;
}

CalibrationSummary calibrate(Profile& profile, const std::vector<record::JobRecord>& records, const std::string& date) {
  CalibrationSummary summary;
  Sums sums;
  for (const record::JobRecord& r : records) {
    if (!r.ok() || r.chunk_results.empty()) {
      summary.changes.push_back("skipped record " + r.job_id + ": " + (r.ok() ? "no per-chunk timings" : "the job " + r.outcome));
      continue;
    }
    if (!profile.has(r.endpoint, r.hardware)) {
      summary.changes.push_back("skipped a record for " + r.endpoint + " on '" + r.hardware + "': not in the profile");
      continue;
    }
    add_record(profile.cell(r.endpoint, r.hardware), r, std::max(1.0, profile.upload_mb_per_s * 1e6),
               sums.frames[{r.endpoint, r.hardware}], sums);
    ++summary.records;
  }
  for (const auto& [key, s] : sums.frames) {
    if (s.frames <= 0 || s.predicted_ms <= 0 || sums.stages.count(key)) continue;  // stages: corrected per stage
    Cell& cell = profile.cells[key.first][key.second];
    const double before = cell.frame_time.ms_at_reference;
    const bool plain = cell.frame_time.network_ms <= 0 && cell.frame_time.cpu_side_ms <= 0;
    if (const auto line = plain ? fit_frame_line(s.samples) : std::nullopt) {
      cell.frame_time.fixed_ms = line->fixed_ms;
      cell.frame_time.ms_at_reference = line->per_size_ms;
      cell.frame_time.ms_per_source_mpixel = line->per_source_mpixel_ms;
      correct_contention(cell.scaling, *line, s, key.first + " on " + key.second, date, summary);
    } else {
      cell.frame_time.scale(s.measured_ms / s.predicted_ms);
    }
    cell.frame_time.provenance = {"calibrated from " + std::to_string(s.records) + " job record(s), " +
                                      std::to_string(static_cast<long long>(s.frames)) + " frames",
                                  date, true};
    summary.changes.push_back(key.first + " on " + key.second + ": " + fmt(before) + " -> " +
                              fmt(cell.frame_time.ms_at_reference) + " ms per frame at the reference size, " +
                              fmt(cell.frame_time.fixed_ms) + " ms fixed, " +
                              fmt(cell.frame_time.ms_per_source_mpixel) + " ms per source megapixel decoded");
  }
  for (auto& [key, samples] : sums.stages) {
    if (samples.empty()) continue;
    FrameStages& stages = profile.cells[key.first][key.second].frame_time.stages;
    for (const std::string& change : calibrate_stages(stages, samples)) {
      summary.changes.push_back(key.first + " on " + key.second + ": " + change);
    }
    stages.provenance = {"calibrated from " + std::to_string(samples.size()) + " timed chunk(s)", date, true};
  }
  if (sums.preroll_n > 0) {
    const double before = profile.preroll_s.mean();
    profile.preroll_s = Distribution::constant(sums.preroll_sum / sums.preroll_n);
    profile.preroll_s.provenance = {"calibrated from " + std::to_string(sums.preroll_n) + " chunks", date, true};
    summary.changes.push_back("pre-roll per chunk: " + fmt(before) + " -> " + fmt(profile.preroll_s.mean()) + " s");
  }
  if (sums.overhead_n > 0) {
    const Provenance from{"calibrated from " + std::to_string(sums.overhead_n) + " job record(s)", date, true};
    summary.changes.push_back("orchestrator start: " + fmt(profile.orchestrator_start_s.mean()) + " -> " +
                              fmt(sums.orchestrator_sum / sums.overhead_n) + " s; cleanup: " +
                              fmt(profile.cleanup_s.mean()) + " -> " + fmt(sums.cleanup_sum / sums.overhead_n) + " s");
    profile.orchestrator_start_s = Distribution::constant(sums.orchestrator_sum / sums.overhead_n);
    profile.orchestrator_start_s.provenance = from;
    profile.cleanup_s = Distribution::constant(sums.cleanup_sum / sums.overhead_n);
    profile.cleanup_s.provenance = from;
  }
  calibrate_overheads(profile, sums, date, summary);
  calibrate_request_latency(profile, sums.request_latencies, date, summary);
  const auto& join_points = sums.join_points;
  if (auto fit = fit_join(join_points, {"calibrated from " + std::to_string(join_points.size()) + " joined jobs", date, true})) {
    summary.changes.push_back("join: " + fmt(profile.join.base_s) + " + " + fmt(profile.join.per_chunk_s) + " N -> " +
                              fmt(fit->base_s) + " + " + fmt(fit->per_chunk_s) + " N s");
    fit->per_gb_s = profile.join.per_gb_s;
    profile.join = *fit;
  } else if (!join_points.empty()) {
    scale_join(profile.join, join_points, date, summary);
  }
  return summary;
}

}  // namespace reelscale::plan
