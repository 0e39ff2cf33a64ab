// process/ai_plugin.cpp — the entry point of libreelscale_ai.so, the loadable module that
// holds framing_ai and detect (and with them libtorch and OpenCV). Only this symbol is
// looked up; everything else is reached through the table it returns.

#include "common/stopwatch.h"
#include "process/endpoints.h"
#include "process/framing_ai.h"
#include "process/processors.h"

namespace reelscale::process {
namespace {

SlotProcessorFactory make_factory(const JobSpec& spec, const ModelSettings& settings, void* cache) {
  return make_processor_factory(spec, settings, static_cast<ModelCache*>(cache));
}

void* new_cache() { return new ModelCache(); }
void delete_cache(void* cache) { delete static_cast<ModelCache*>(cache); }
size_t cache_size(void* cache) { return static_cast<ModelCache*>(cache)->size(); }

double load_model(void* cache, const std::string& model, const ModelSettings& settings) {
  const Stopwatch clock;
  auto m = static_cast<ModelCache*>(cache)->get(model, settings);
  { infer::SuperResolver net(m->weights, m->arch, settings.sr); }  // the network built once
  return clock.seconds();
}

const AiApi kApi{kAiAbiVersion, make_factory, detect_people, new_cache, delete_cache, cache_size, load_model,
                 infer::set_cpu_threads};

}  // namespace
}  // namespace reelscale::process

extern "C" __attribute__((visibility("default"))) const reelscale::process::AiApi* reelscale_ai_api() {
  return &reelscale::process::kApi;
}
