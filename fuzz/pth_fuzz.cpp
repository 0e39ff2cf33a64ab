// fuzz/pth_fuzz.cpp — the .pth (torch.save zip + pickle) reader over arbitrary bytes.
#include "fuzz_input.h"
#include "infer/state_dict.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = reelscale::fuzz::write_scratch("weights.pth", reelscale::fuzz::as_text(data, size));
  reelscale::fuzz::refuse_cleanly([&] { (void)reelscale::infer::load_state_dict(path.string()); });
  return 0;
}
