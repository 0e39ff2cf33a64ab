// process/processors.h — the processors a job needs, for every command. copy, framing
// and overlay are built here; framing_ai and detect live in a module loaded on first use
// (libreelscale_ai.so beside the executable, or $REELSCALE_AI_MODULE), so commands that
// run no network start without loading libtorch and OpenCV (about 0.8 s here).
#pragma once

#include <functional>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "media/input.h"
#include "media/probe.h"
#include "process/job_spec.h"
#include "process/model_settings.h"
#include "process/processor.h"

namespace reelscale::process {

// The network module's entry points (the module and the binary come from one build).
struct AiApi {
  int abi_version;
  SlotProcessorFactory (*make_factory)(const JobSpec& spec, const ModelSettings& settings, void* cache);
  nlohmann::json (*detect)(const JobSpec& spec, const media::MediaSource& source, const media::VideoProbe& probe,
                           const ModelSettings& settings);
  void* (*new_cache)();
  void (*delete_cache)(void* cache);
  size_t (*cache_size)(void* cache);
  // Loads a model into the cache and builds its network once; returns the seconds spent.
  double (*load_model)(void* cache, const std::string& model, const ModelSettings& settings);
  void (*set_cpu_threads)(int threads);
};
inline constexpr int kAiAbiVersion = 1;
inline constexpr const char* kAiEntryPoint = "reelscale_ai_api";

// copy, framing and overlay (no network).
SlotProcessorFactory make_basic_factory(const JobSpec& spec);

// Builds processor factories for jobs; loads the network module (and keeps its models)
// on the first job that needs one. Thread-safe.
class Processors {
 public:
  explicit Processors(ModelSettings settings);
  ~Processors();
  Processors(const Processors&) = delete;
  Processors& operator=(const Processors&) = delete;

  SlotProcessorFactory make(const JobSpec& spec);
  // make() and set_cpu_threads() as callables for executors and workers (which must not
  // outlive this object).
  std::function<SlotProcessorFactory(const JobSpec&)> maker() {
    return [this](const JobSpec& spec) { return make(spec); };
  }
  std::function<void(int)> thread_setter() {
    return [this](int threads) { set_cpu_threads(threads); };
  }
  nlohmann::json detect(const JobSpec& spec, const media::MediaSource& source, const media::VideoProbe& probe);
  double load_model(const std::string& model);
  size_t models_loaded();
  // Threads the networks use on the CPU; applied now if the module is loaded, else on load.
  void set_cpu_threads(int threads);
  bool module_loaded();

 private:
  const AiApi& ai();

  ModelSettings settings_;
  std::mutex mutex_;
  void* handle_ = nullptr;
  const AiApi* api_ = nullptr;
  void* cache_ = nullptr;
  int threads_ = 0;
};

}  // namespace reelscale::process
