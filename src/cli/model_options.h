// cli/model_options.h — the model and network flags the commands that run endpoints
// share (--models, --device, --precision, --batch, --tile).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "process/model_settings.h"

namespace reelscale::cli {

struct ModelOptions {
  process::ModelSettings settings;
  std::string device = "cpu";
  std::string precision = "fp32";
  std::string detector_engine = "auto";

  void add_to(CLI::App* app) {
    app->add_option("--models", settings.models_dir, "Models folder (default: $REELSCALE_MODELS, else the bundled one)");
    app->add_option("--device", device, "cpu | cuda | auto (framing_ai)");
    app->add_option("--precision", precision, "fp32 | fp16 | bf16 (framing_ai, cuda)");
    app->add_option("--batch", settings.batch, "Frames per network call (framing_ai)");
    app->add_option("--tile", settings.sr.tile, "Tile size in input pixels when memory is short (framing_ai)");
    app->add_option("--detector", settings.detector, "Detector: a name in the models folder or a path (detect)")
        ->default_str(settings.detector);
    app->add_option("--detector-engine", detector_engine, "auto | reelscale | opencv (detect, Darknet models)");
  }
  // The settings with the device and precision names parsed (Error(kBadInput) if unknown).
  process::ModelSettings resolve() const {
    process::ModelSettings s = settings;
    s.sr.device = infer::parse_device(device);
    s.sr.precision = infer::parse_precision(precision);
    s.detector_engine = infer::parse_detector_engine(detector_engine);
    return s;
  }
};

}  // namespace reelscale::cli
