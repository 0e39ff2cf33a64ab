// cli/cmd_process.cpp — `reelscale process ENDPOINT [INPUT] -o OUTPUT --chunks N`:
// runs one endpoint on this machine, split into chunks on local slots.
#include <cstdio>

#include "cli/commands.h"
#include "cli/progress.h"
#include "exec/local_run.h"

namespace reelscale::cli {

namespace {

class ProcessCommand final : public Command {
 public:
  explicit ProcessCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("process", "Run an endpoint on a video, split into chunks, and join the result");
    app_->add_option("endpoint", endpoint_, "copy (identity, for checking the pipeline)")->required();
    app_->add_option("input", input_, "Input video")->required();
    app_->add_option("-o,--output", output_, "Output video (.mp4, .mov, .mkv)")->required();
    app_->add_option("--chunks", chunks_, "Number of chunks")->check(CLI::PositiveNumber);
    app_->add_option("--slots", slots_, "Chunks processed at once (default: min(chunks, cores))");
    app_->add_option("--fps", fps_, "Output frame rate (default: the source's)");
    app_->add_option("--preset", preset_, "x264 preset");
    app_->add_option("--crf", crf_, "x264 CRF (0-51)");
    app_->add_option("--audio", audio_, "auto | copy | reencode | drop");
  }
  CLI::App* app() const override { return app_; }

  int run() override {
    if (endpoint_ != "copy") fail(ErrorKind::kBadInput, "unknown endpoint '" + endpoint_ + "' (known: copy)");
    exec::LocalRunRequest req;
    req.input = media::MediaSource::local(input_);
    req.output = output_;
    req.chunks = chunks_;
    req.slots = slots_;
    if (!fps_.empty()) req.fps = media::parse_rational(fps_);
    req.encoder.preset = preset_;
    req.encoder.crf = crf_;
    req.audio = media::parse_audio_mode(audio_);
    req.make_processor = [](const media::VideoProbe& p) {
      return std::make_unique<process::CopyProcessor>(p.width, p.height);
    };
    ProgressDisplay progress(endpoint_);
    req.progress = [&](int64_t done, int64_t total) { progress.update(done, total); };
    const exec::LocalRunResult r = exec::run_local(req);
    progress.finish();
    const double per_frame_ms = r.frames ? 1000.0 * r.total_seconds / r.frames : 0;
    std::printf("%s: %lld frames at %s fps in %d chunks -> %s (%lld bytes%s)\n", endpoint_.c_str(),
                static_cast<long long>(r.frames), r.fps.to_string().c_str(), static_cast<int>(r.chunks.size()),
                output_.c_str(), static_cast<long long>(r.join.bytes),
                r.join.audio ? (r.join.audio_copied ? ", audio copied" : ", audio re-encoded") : "");
    std::printf("time: %.2f s total (probe %.2f, chunks %.2f, join %.2f), %.2f ms per frame\n", r.total_seconds,
                r.probe_seconds, r.chunks_seconds, r.join_seconds, per_frame_ms);
    return 0;
  }

 private:
  CLI::App* app_;
  std::string endpoint_, input_, output_, fps_;
  int chunks_ = 1;
  int slots_ = 0;
  std::string preset_ = "veryfast";
  int crf_ = 20;
  std::string audio_ = "auto";
};

}  // namespace

std::unique_ptr<Command> make_process_command(CLI::App& parent) { return std::make_unique<ProcessCommand>(parent); }

}  // namespace reelscale::cli
