// fuzz/darknet_fuzz.cpp — the Darknet cfg parser and weights reader. The input is a cfg,
// then a line "#weights", then the weights bytes.
#include "fuzz_input.h"
#include "infer/darknet_network.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes = reelscale::fuzz::as_text(data, size);
  const size_t cut = bytes.find("\n#weights\n");
  const std::string cfg = bytes.substr(0, cut);
  const std::string weights = cut == std::string::npos ? "" : bytes.substr(cut + 10);
  const auto cfg_path = reelscale::fuzz::write_scratch("net.cfg", cfg);
  const auto weights_path = reelscale::fuzz::write_scratch("net.weights", weights);
  reelscale::fuzz::refuse_cleanly([&] { reelscale::infer::DarknetNetwork net(cfg_path.string(), weights_path.string()); });
  return 0;
}
