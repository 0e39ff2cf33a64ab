// process/models.h — finding and loading the networks a job names: a model name is
// looked up as <name>.pth in the models folder (the --models flag, else the
// REELSCALE_MODELS environment variable, else the repository's bundled models/), or
// taken as a path; "random:<architecture>" gives random weights (benchmarks, tests).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "infer/state_dict.h"
#include "infer/super_resolution.h"
#include "process/model_settings.h"

namespace reelscale::process {

std::string default_models_dir();

struct SrModel {
  std::string name;
  std::string path;                // "" for random weights
  infer::SrArchitecture arch;
  infer::StateDict weights;
};

// Throws Error(kNotFound) naming where it looked, or Error(kBadInput) for a bad file.
std::shared_ptr<const SrModel> load_sr_model(const std::string& model, const ModelSettings& settings);
std::string resolve_detector_path(const ModelSettings& settings);

// Loaded models by name, kept for the life of a process (a worker loads each once).
class ModelCache {
 public:
  std::shared_ptr<const SrModel> get(const std::string& model, const ModelSettings& settings);
  size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const SrModel>> models_;
};

}  // namespace reelscale::process
