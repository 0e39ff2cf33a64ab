// fuzz/job_spec_fuzz.cpp — the job-spec parser over arbitrary bytes (JSON text).
#include <nlohmann/json.hpp>

#include "fuzz_input.h"
#include "process/job_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  reelscale::fuzz::refuse_cleanly([&] {
    const reelscale::process::JobSpec spec = reelscale::process::parse_job_spec_text(reelscale::fuzz::as_text(data, size));
    (void)reelscale::process::to_json(spec);  // what parses must also write back
  });
  return 0;
}
