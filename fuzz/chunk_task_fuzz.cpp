// fuzz/chunk_task_fuzz.cpp — the chunk-task parser a worker runs on every POST body.
#include <nlohmann/json.hpp>

#include "exec/task.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j = nlohmann::json::parse(reelscale::fuzz::as_text(data, size), nullptr, false);
  if (j.is_discarded()) return 0;  // the worker answers 400 before parsing a task
  reelscale::fuzz::refuse_cleanly([&] {
    const reelscale::exec::ChunkTaskSpec task = reelscale::exec::task_from_json(j);
    (void)reelscale::exec::to_json(task);
  });
  return 0;
}
