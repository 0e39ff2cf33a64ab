// process/processors.cpp — basic factories and the network module loader.
#include "process/processors.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "process/copy_processor.h"
#include "process/framing.h"
#include "process/overlay.h"

namespace reelscale::process {

SlotProcessorFactory make_basic_factory(const JobSpec& spec) {
  switch (spec.endpoint) {
    case Endpoint::kCopy:
      return [](const media::VideoProbe& p) -> std::unique_ptr<FrameProcessor> {
        return std::make_unique<CopyProcessor>(p);
      };
    case Endpoint::kFraming:
      return [spec](const media::VideoProbe& p) -> std::unique_ptr<FrameProcessor> {
        return std::make_unique<FramingProcessor>(spec, p);
      };
    case Endpoint::kOverlay:
      return [spec](const media::VideoProbe& p) -> std::unique_ptr<FrameProcessor> {
        return std::make_unique<OverlayProcessor>(spec, p);
      };
    default: break;
  }
  fail(ErrorKind::kInternal, std::string("the ") + endpoint_name(spec.endpoint) + " endpoint needs the network module");
}

namespace {
std::string module_path() {
  if (const char* env = std::getenv("REELSCALE_AI_MODULE"); env && *env) return env;
  return (this_executable().parent_path() / "libreelscale_ai.so").string();
}
}  // namespace

Processors::Processors(ModelSettings settings) : settings_(std::move(settings)) {}

Processors::~Processors() {
  if (api_ && cache_) api_->delete_cache(cache_);
  // The module stays mapped: objects it created (processors, factories) may outlive us.
}

const AiApi& Processors::ai() {
  std::lock_guard lock(mutex_);
  if (api_) return *api_;
  const std::string path = module_path();
  handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle_) {
    const char* why = dlerror();
    fail(ErrorKind::kUnavailable, "cannot load the network module " + path + ": " + (why ? why : "unknown error"));
  }
  using Entry = const AiApi* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(handle_, kAiEntryPoint));
  if (!entry) fail(ErrorKind::kUnavailable, path + " is not a reelscale network module");
  const AiApi* api = entry();
  if (!api || api->abi_version != kAiAbiVersion) {
    fail(ErrorKind::kUnavailable, path + " was built for another reelscale version");
  }
  api_ = api;
  cache_ = api_->new_cache();
  if (threads_ > 0) api_->set_cpu_threads(threads_);
  return *api_;
}

SlotProcessorFactory Processors::make(const JobSpec& spec) {
  if (spec.endpoint == Endpoint::kFramingAi) return ai().make_factory(spec, settings_, cache_);
  return make_basic_factory(spec);
}

nlohmann::json Processors::detect(const JobSpec& spec, const media::MediaSource& source, const media::VideoProbe& probe) {
  return ai().detect(spec, source, probe, settings_);
}

double Processors::load_model(const std::string& model) { return ai().load_model(cache_, model, settings_); }

size_t Processors::models_loaded() {
  std::lock_guard lock(mutex_);
  return api_ ? api_->cache_size(cache_) : 0;
}

void Processors::set_cpu_threads(int threads) {
  std::lock_guard lock(mutex_);
  threads_ = threads;
  if (api_ && threads > 0) api_->set_cpu_threads(threads);
}

bool Processors::module_loaded() {
  std::lock_guard lock(mutex_);
  return api_ != nullptr;
}

}  // namespace reelscale::process
