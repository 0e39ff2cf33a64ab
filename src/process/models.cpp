// process/models.cpp — model lookup.
#include "process/models.h"

#include <cstdlib>
#include <filesystem>

#include "common/error.h"

namespace fs = std::filesystem;

namespace reelscale::process {

std::string default_models_dir() {
  if (const char* env = std::getenv("REELSCALE_MODELS"); env && *env) return env;
  return REELSCALE_BUNDLED_MODELS_DIR;
}

std::shared_ptr<const SrModel> load_sr_model(const std::string& model, const ModelSettings& settings) {
  auto out = std::make_shared<SrModel>();
  out->name = model;
  const std::string random_prefix = "random:";
  if (model.rfind(random_prefix, 0) == 0) {
    out->arch = infer::architecture_by_name(model.substr(random_prefix.size()));
    out->weights = infer::random_weights(out->arch, 1234);
    return out;
  }
  const std::string dir = settings.models_dir.empty() ? default_models_dir() : settings.models_dir;
  const bool looks_like_path = model.find('/') != std::string::npos || fs::path(model).has_extension();
  out->path = looks_like_path ? model : (fs::path(dir) / (model + ".pth")).string();
  std::error_code ec;
  if (!fs::exists(out->path, ec)) {
    if (looks_like_path) fail(ErrorKind::kNotFound, "model file not found: " + out->path);
    fail(ErrorKind::kNotFound, "model '" + model + "' not found: looked for " + out->path +
                                   " (set --models or REELSCALE_MODELS to another folder, or pass a .pth path)");
  }
  out->weights = infer::load_state_dict(out->path).tensors;
  out->arch = infer::detect_architecture(out->weights, out->path);
  return out;
}

std::shared_ptr<const SrModel> ModelCache::get(const std::string& model, const ModelSettings& settings) {
  std::lock_guard lock(mutex_);
  const std::string key = (settings.models_dir.empty() ? default_models_dir() : settings.models_dir) + "|" + model;
  auto it = models_.find(key);
  if (it != models_.end()) return it->second;
  auto loaded = load_sr_model(model, settings);
  models_.emplace(key, loaded);
  return loaded;
}

size_t ModelCache::size() const {
  std::lock_guard lock(mutex_);
  return models_.size();
}

std::string resolve_detector_path(const ModelSettings& settings) {
  const std::string& d = settings.detector;
  if (d.find('/') != std::string::npos) return d;
  const std::string dir = settings.models_dir.empty() ? default_models_dir() : settings.models_dir;
  return (fs::path(dir) / d).string();
}

}  // namespace reelscale::process
