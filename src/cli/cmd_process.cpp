// cli/cmd_process.cpp — `reelscale process ENDPOINT [INPUT] --job job.json -o OUTPUT
// --chunks N ...`: runs one endpoint on this machine, split into chunks on local slots.
// Flags override the job file's fields; the merged spec is validated as one job.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "cli/progress.h"
#include "common/files.h"
#include "exec/local_run.h"
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
    app_->add_option("--job", job_file_, "Job spec JSON file (DESIGN.md section 4)");
    app_->add_option("--chunks", chunks_, "Number of chunks (default: the job's, else 1)")->check(CLI::Range(1, 256));
    app_->add_option("--slots", slots_, "Chunks processed at once (default: min(chunks, cores))");
    app_->add_option("--fps", fps_, "Output frame rate");
    app_->add_option("--width", width_, "Output width (framing, framing_ai)");
    app_->add_option("--height", height_, "Output height (framing, framing_ai)");
    app_->add_option("--model", model_, "Real-ESRGAN model name or .pth path (framing_ai)");
    models_.add_to(app_);
    app_->add_option("--time", time_, "Seconds from the first frame (detect)");
    app_->add_option("--frame", frame_, "Source frame index (detect)");
    app_->add_option("--preset", preset_, "x264 preset");
    app_->add_option("--crf", crf_, "x264 CRF (0-51)");
    app_->add_option("--audio", audio_, "auto | copy | reencode | drop");
    app_->add_flag("--json", json_, "Print the result as JSON");
  }
  CLI::App* app() const override { return app_; }

  int run() override {
    nlohmann::json j = job_file_.empty() ? nlohmann::json::object()
                                         : nlohmann::json::parse(read_text_file(job_file_), nullptr, false);
    if (j.is_discarded()) fail(ErrorKind::kBadInput, "the job file " + job_file_ + " is not valid JSON");
    j["endpoint"] = endpoint_;
    if (!input_.empty()) j["input"] = input_;
    if (!output_.empty()) j["output"] = output_;
    if (!fps_.empty()) j["fps"] = fps_;
    if (width_) j["output_width"] = width_;
    if (height_) j["output_height"] = height_;
    if (!model_.empty()) j["model"] = model_;
    if (time_ >= 0) j["time"] = time_;
    if (frame_ >= 0) j["frame"] = frame_;
    if (!preset_.empty()) j["preset"] = preset_;
    if (crf_ >= 0) j["crf"] = crf_;
    if (!audio_.empty()) j["audio"] = audio_;
    process::JobSpec spec = process::parse_job_spec(j);
    const process::ModelSettings settings = models_.resolve();
    process::Processors processors(settings);

    const media::MediaSource source = media::MediaSource::local(spec.input);
    const media::VideoProbe probe = media::probe_video(source);
    if (spec.endpoint == process::Endpoint::kDetect) return run_detect(processors, spec, source, probe);

    const media::Rational fps = process::output_fps(spec, probe);
    spec.fps = fps;
    const media::Timeline timeline(probe.relative_times_ns(), probe.relative_end_ns(), fps, spec.segments);
    for (const std::string& w : process::check_against_source(spec, probe, timeline)) {
      std::fprintf(stderr, "reelscale: warning: %s\n", w.c_str());
    }
    exec::LocalRunRequest req;
    req.input = source;
    req.probe = &probe;
    req.output = spec.output;
    req.chunks = chunks_ > 0 ? chunks_ : std::max(1, spec.chunks);
    req.slots = slots_;
    req.fps = fps;
    req.segments = spec.segments;
    req.encoder.preset = spec.preset;
    req.encoder.crf = spec.crf;
    req.audio = spec.audio;
    if (spec.endpoint == process::Endpoint::kFramingAi && settings.sr.device != infer::Device::kCuda) {
      // Share the cores between slots rather than oversubscribing them.
      const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
      const int slots = req.slots > 0 ? req.slots : std::min(req.chunks, cores);
      processors.set_cpu_threads(std::max(1, cores / std::max(1, slots)));
    }
    req.make_processor = processors.make(spec);
    ProgressDisplay progress(endpoint_);
    req.progress = [&](int64_t done, int64_t total) { progress.update(done, total); };
    const exec::LocalRunResult r = exec::run_local(req);
    progress.finish();
    print_summary(spec, r);
    return 0;
  }

 private:
  int run_detect(process::Processors& processors, const process::JobSpec& spec, const media::MediaSource& source,
                 const media::VideoProbe& probe) {
    const nlohmann::json result = processors.detect(spec, source, probe);
    const std::string text = result.dump(2) + "\n";
    if (!spec.output.empty()) {
      check_output_path(spec.output, "");
      write_file_atomically(spec.output, text);
    }
    std::fputs(text.c_str(), stdout);
    return 0;
  }

  void print_summary(const process::JobSpec& spec, const exec::LocalRunResult& r) const {
    const double per_frame_ms = r.frames ? 1000.0 * r.total_seconds / r.frames : 0;
    double process_s = 0;
    for (const auto& c : r.chunks) process_s += c.stats.process_seconds;
    if (json_) {
      nlohmann::json chunks = nlohmann::json::array();
      for (const auto& c : r.chunks) {
        chunks.push_back({{"begin", c.range.begin}, {"end", c.range.end}, {"open_s", c.stats.open_seconds},
                          {"preroll_s", c.stats.preroll_seconds}, {"decode_s", c.stats.decode_seconds},
                          {"process_s", c.stats.process_seconds}, {"encode_s", c.stats.encode_seconds},
                          {"total_s", c.stats.total_seconds}, {"frames_decoded", c.stats.reader.decoded},
                          {"frames_dropped", c.stats.reader.dropped}, {"bytes", c.stats.bytes}});
      }
      const nlohmann::json out = {{"endpoint", process::endpoint_name(spec.endpoint)}, {"output", spec.output},
                                  {"frames", r.frames}, {"fps", r.fps.to_string()}, {"chunks", chunks},
                                  {"frames_skipped", r.frames_skipped}, {"bytes", r.join.bytes},
                                  {"audio", r.join.audio ? (r.join.audio_copied ? "copied" : "reencoded") : "none"},
                                  {"probe_s", r.probe_seconds}, {"chunks_s", r.chunks_seconds}, {"join_s", r.join_seconds},
                                  {"total_s", r.total_seconds}, {"ms_per_frame", per_frame_ms},
                                  {"process_ms_per_frame", r.frames ? 1000.0 * process_s / r.frames : 0}};
      std::printf("%s\n", out.dump(2).c_str());
      return;
    }
    std::printf("%s: %lld frames at %s fps in %d chunks -> %s (%lld bytes%s)\n", process::endpoint_name(spec.endpoint),
                static_cast<long long>(r.frames), r.fps.to_string().c_str(), static_cast<int>(r.chunks.size()),
                spec.output.c_str(), static_cast<long long>(r.join.bytes),
                r.join.audio ? (r.join.audio_copied ? ", audio copied" : ", audio re-encoded") : "");
    if (r.frames_skipped) {
      std::printf("super-resolution skipped on %lld frames whose crop already had the output's resolution\n",
                  static_cast<long long>(r.frames_skipped));
    }
    std::printf("time: %.2f s total (probe %.2f, chunks %.2f, join %.2f), %.2f ms per frame, processing %.2f ms per frame\n",
                r.total_seconds, r.probe_seconds, r.chunks_seconds, r.join_seconds, per_frame_ms,
                r.frames ? 1000.0 * process_s / r.frames : 0);
  }

  CLI::App* app_;
  std::string endpoint_, input_, output_, job_file_, fps_, model_, preset_, audio_;
  int chunks_ = 0, slots_ = 0, width_ = 0, height_ = 0, crf_ = -1;
  double time_ = -1;
  int64_t frame_ = -1;
  bool json_ = false;
  ModelOptions models_;
};

}  // namespace

std::unique_ptr<Command> make_process_command(CLI::App& parent) { return std::make_unique<ProcessCommand>(parent); }

}  // namespace reelscale::cli
