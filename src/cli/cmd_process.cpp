// cli/cmd_process.cpp — `reelscale process ENDPOINT [INPUT] --job job.json -o OUTPUT
// --chunks N ...`: one endpoint on this machine's local slots, through the job flow
// (job/job_flow.h) with a fixed chunk count. Flags override the job file's fields; the
// merged spec is validated as one job.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "cli/media_limit_options.h"
#include "cli/model_options.h"
#include "cli/progress.h"
#include "cli/signals.h"
#include "common/cores.h"
#include "job/job_flow.h"
#include "process/processors.h"

namespace reelscale::cli {

namespace {

std::string read_text_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) fail(ErrorKind::kNotFound, "job file not found: " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class ProcessCommand final : public Command {
 public:
  explicit ProcessCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("process", "Run an endpoint on a video here, split into chunks, and join the result");
    app_->add_option("endpoint", endpoint_, "framing | overlay | framing_ai | detect | copy")->required();
    app_->add_option("input", input_, "Input video (or the job's \"input\")");
    app_->add_option("-o,--output", output_, "Output video (.mp4, .mov, .mkv); for detect, a .json file (optional)");
    app_->add_option("--job", job_file_, "Job spec JSON file (docs/jobs.md: every field)");
    app_->add_option("--chunks", chunks_, "Number of chunks (default: the job's, else 1)")->check(CLI::Range(1, 256));
    app_->add_option("--slots", slots_, "Chunks processed at once (default: min(chunks, cores))");
    app_->add_option("--fps", fps_, "Output frame rate");
    app_->add_option("--width", width_, "Output width (framing, framing_ai)");
    app_->add_option("--height", height_, "Output height (framing, framing_ai)");
    app_->add_option("--model", model_, "Real-ESRGAN model name or .pth path (framing_ai)");
    app_->add_option("--sr-input", sr_input_, "framing_ai: reduced (crop shrunk to output/scale first) | native");
    models_.add_to(app_);
    limits_.add_to(app_);
    app_->add_option("--time", time_, "Seconds from the first frame (detect)");
    app_->add_option("--frame", frame_, "Source frame index (detect)");
    app_->add_option("--preset", preset_, "x264 preset");
    app_->add_option("--crf", crf_, "x264 CRF (0-51)");
    app_->add_option("--audio", audio_, "auto | copy | reencode | drop");
    app_->add_flag("--json", json_, "Print the job record as JSON");
  }
  CLI::App* app() const override { return app_; }

  int run() override {
    const process::JobSpec spec = merged_spec();
    process::Processors processors(models_.resolve());
    store::ObjectStore store;
    if (store::Location::parse(spec.input).s3 || (!spec.output.empty() && store::Location::parse(spec.output).s3)) {
      fail(ErrorKind::kBadInput, "process works on local files; use `reelscale run` for s3:// inputs and outputs");
    }
    if (spec.endpoint == process::Endpoint::kDetect) return run_detect(processors, store, spec);
    std::atomic<bool> cancel{false};
    SignalWatcher signals([&](int) { cancel = true; });
    const int chunks = chunks_ > 0 ? chunks_ : std::max(1, spec.chunks);
    exec::LocalExecutorOptions local;
    local.slots = slots_for(chunks, slots_);
    local.set_threads = processors.thread_setter();
    local.media_limits = limits_.limits;
    exec::LocalExecutor executor(local, processors.maker(), store);
    job::JobOptions options;
    options.chunks = chunks;
    options.planning.sample_content = false;  // the chunks are given: the plan chooses nothing
    options.media_limits = limits_.limits;
    options.cancel = &cancel;
    options.process_age_s = seconds_since_process_start();
    ProgressDisplay progress(endpoint_);
    options.progress = [&](int64_t done, int64_t total) { progress.update(done, total); };
    const record::JobRecord r = job::run_job(spec, executor, store, options);
    progress.finish();
    for (const std::string& w : r.warnings) std::fprintf(stderr, "reelscale: warning: %s\n", w.c_str());
    job::throw_if_failed(r);
    print_summary(r);
    return 0;
  }

 private:
  process::JobSpec merged_spec() const {
    nlohmann::json j = job_file_.empty() ? nlohmann::json::object()
                                         : nlohmann::json::parse(read_text_file(job_file_), nullptr, false);
    if (j.is_discarded()) fail(ErrorKind::kBadInput, "the job file " + job_file_ + " is not valid JSON");
    if (!j.is_object()) fail(ErrorKind::kBadInput, "the job file " + job_file_ + " must hold a JSON object");
    j["endpoint"] = endpoint_;
    if (!input_.empty()) j["input"] = input_;
    if (!output_.empty()) j["output"] = output_;
    if (!fps_.empty()) j["fps"] = fps_;
    if (width_) j["output_width"] = width_;
    if (height_) j["output_height"] = height_;
    if (!model_.empty()) j["model"] = model_;
    if (!sr_input_.empty()) j["sr_input"] = sr_input_;
    if (time_ >= 0) j["time"] = time_;
    if (frame_ >= 0) j["frame"] = frame_;
    if (!preset_.empty()) j["preset"] = preset_;
    if (crf_ >= 0) j["crf"] = crf_;
    if (!audio_.empty()) j["audio"] = audio_;
    return process::parse_job_spec(j);
  }

  int run_detect(process::Processors& processors, store::ObjectStore& store, const process::JobSpec& spec) {
    const record::JobRecord r = job::run_detect_job(spec, store, [&processors](const auto& s, const auto& src, const auto& p) {
      return processors.detect(s, src, p);
    }, limits_.limits);
    job::throw_if_failed(r);
    std::fputs(((json_ ? record::to_json(r) : r.result).dump(2) + "\n").c_str(), stdout);
    return 0;
  }

  void print_summary(const record::JobRecord& r) const {
    if (json_) {
      std::printf("%s\n", record::to_json(r).dump(2).c_str());
      return;
    }
    double process_s = 0;
    int64_t skipped = 0;
    for (const auto& c : r.chunk_results) {
      process_s += c.timings_s.process;
      skipped += c.frames_skipped;
    }
    const double total = r.total_seconds();
    const double per_frame_ms = r.frames ? 1000.0 * total / r.frames : 0;
    std::printf("%s: %lld frames at %s fps in %d chunks -> %s (%lld bytes%s)\n", r.endpoint.c_str(),
                static_cast<long long>(r.frames), r.fps.c_str(), r.chunks, r.output.c_str(),
                static_cast<long long>(r.output_bytes),
                r.audio == "copied" ? ", audio copied" : r.audio == "reencoded" ? ", audio re-encoded" : "");
    if (skipped) {
      std::printf("super-resolution skipped on %lld frames whose crop already had the output's resolution\n",
                  static_cast<long long>(skipped));
    }
    auto stage = [&](const char* name) { return r.timings_s.count(name) ? r.timings_s.at(name) : 0.0; };
    std::printf("time: %.2f s total (probe %.2f, chunks %.2f, join %.2f), %.2f ms per frame, processing %.2f ms per frame\n",
                total, stage("probe"), stage("dispatch"), stage("join"), per_frame_ms,
                r.frames ? 1000.0 * process_s / r.frames : 0);
  }

  CLI::App* app_;
  std::string endpoint_, input_, output_, job_file_, fps_, model_, preset_, audio_, sr_input_;
  int chunks_ = 0, slots_ = 0, width_ = 0, height_ = 0, crf_ = -1;
  double time_ = -1;
  int64_t frame_ = -1;
  bool json_ = false;
  ModelOptions models_;
  MediaLimitOptions limits_;
};

}  // namespace

std::unique_ptr<Command> make_process_command(CLI::App& parent) { return std::make_unique<ProcessCommand>(parent); }

}  // namespace reelscale::cli
