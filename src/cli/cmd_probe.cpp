// cli/cmd_probe.cpp — `reelscale probe FILE [--json]`: what a video holds.
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/commands.h"
#include "media/probe.h"

namespace reelscale::cli {

namespace {

class ProbeCommand final : public Command {
 public:
  explicit ProbeCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("probe", "Show a video's streams, exact frame count and key frames");
    app_->add_option("input", input_, "Video file")->required();
    app_->add_flag("--json", json_, "Machine-readable output");
  }
  CLI::App* app() const override { return app_; }
  int run() override {
    const media::VideoProbe p = media::probe_video(media::MediaSource::local(input_));
    if (!json_) {
      std::cout << media::describe(p);
      return 0;
    }
    nlohmann::json j = {
        {"container", p.container}, {"codec", p.codec}, {"width", p.width}, {"height", p.height},
        {"rotation", p.rotation}, {"pixel_format", p.pixel_format},
        {"frame_rate", p.frame_rate.to_string()}, {"average_frame_rate", p.average_frame_rate.to_string()},
        {"variable_frame_rate", p.variable_frame_rate}, {"frames", p.frame_count()},
        {"keyframes", p.keyframes}, {"start_seconds", p.start_seconds()},
        {"duration_seconds", p.duration_seconds()}, {"file_bytes", p.file_bytes}};
    nlohmann::json audio = nlohmann::json::array();
    for (const auto& a : p.audio) {
      audio.push_back({{"index", a.index}, {"codec", a.codec}, {"sample_rate", a.sample_rate},
                       {"channels", a.channels}, {"duration_seconds", a.duration_seconds}});
    }
    j["audio"] = audio;
    std::cout << j.dump(2) << "\n";
    return 0;
  }

 private:
  CLI::App* app_;
  std::string input_;
  bool json_ = false;
};

}  // namespace

std::unique_ptr<Command> make_probe_command(CLI::App& parent) { return std::make_unique<ProbeCommand>(parent); }

}  // namespace reelscale::cli
