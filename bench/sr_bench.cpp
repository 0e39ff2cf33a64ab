// bench/sr_bench.cpp — Real-ESRGAN milliseconds per frame for a given output size,
// device, precision and batch. Needs only libtorch (and reelscale's infer/common
// sources), so it builds on a GPU machine without FFmpeg (see bench/sr_standalone/).
// Usage: sr_bench [--model NAME|PATH.pth] [--width 810 --height 1440] [--device cpu|cuda]
//                 [--precision fp32|fp16|bf16] [--batch 1,4,8] [--threads N] [--frames N]
//        sr_bench --check-golden DIR --model PATH/realesr-animevideov3.pth [--device cuda]
//                 [--precision P]: the network's output on the golden inputs against the golden
//                 outputs (tests/data/golden); exit 1 beyond the tolerance (1e-4 fp32, 2e-2 else)
#include <malloc.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "infer/state_dict.h"
#include "infer/super_resolution.h"

using namespace reelscale::infer;

namespace {

std::vector<float> read_f32(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<float> v;
  float x;
  while (f.read(reinterpret_cast<char*>(&x), sizeof x)) v.push_back(x);
  return v;
}

// The golden cases of tests/data/golden/README.md through this build's network.
int check_golden(const std::string& dir, SuperResolver& net, const std::string& precision) {
  struct Case {
    const char* in;
    const char* out;
    int h, w;
  };
  const double tolerance = precision == "fp32" ? 1e-4 : 2e-2;
  int failures = 0;
  for (const Case& c : {Case{"sr_a_in.f32", "sr_a_out.f32", 36, 64}, Case{"sr_b_in.f32", "sr_b_out.f32", 27, 45}}) {
    const std::vector<float> in = read_f32(dir + "/" + c.in), want = read_f32(dir + "/" + c.out);
    const std::vector<float> got = net.run(in.data(), 1, c.h, c.w);
    double worst = got.size() == want.size() ? 0 : INFINITY;
    for (size_t i = 0; i < got.size() && i < want.size(); ++i) worst = std::max(worst, std::fabs(double(got[i]) - want[i]));
    std::printf("golden %s: max |difference| %.3g (tolerance %.0e) on %s, %s\n", c.in, worst, tolerance,
                net.device_name().c_str(), precision.c_str());
    failures += worst > tolerance;
  }
  return failures ? 1 : 0;
}

}  // namespace

int run_bench(int argc, char** argv) {
  // As the reelscale binary does: keep glibc from returning each layer's buffers to the OS.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 256 << 20);
  std::string model = "realesr-animevideov3", device = "cpu", precision = "fp32", batches = "1";
  int width = 810, height = 1440, threads = 0, frames = 8;
  std::string golden;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--model") model = v;
    else if (k == "--width") width = std::atoi(v.c_str());
    else if (k == "--height") height = std::atoi(v.c_str());
    else if (k == "--device") device = v;
    else if (k == "--precision") precision = v;
    else if (k == "--batch") batches = v;
    else if (k == "--threads") threads = std::atoi(v.c_str());
    else if (k == "--frames") frames = std::atoi(v.c_str());
    else if (k == "--check-golden") golden = v;
  }
  if (threads > 0) set_cpu_threads(threads);
  SrArchitecture arch;
  StateDict weights;
  if (model.size() > 4 && model.substr(model.size() - 4) == ".pth") {
    weights = load_state_dict(model).tensors;
    arch = detect_architecture(weights, model);
  } else {
    arch = architecture_by_name(model);
    weights = random_weights(arch, 1);
  }
  SrOptions options;
  options.device = parse_device(device);
  options.precision = parse_precision(precision);
  SuperResolver net(weights, arch, options);
  if (!golden.empty()) return check_golden(golden, net, precision);
  // The network input that makes this output (reelscale's framing_ai feeds output/scale).
  const int iw = (width + arch.scale - 1) / arch.scale, ih = (height + arch.scale - 1) / arch.scale;
  std::stringstream bs(batches);
  std::string item;
  while (std::getline(bs, item, ',')) {
    const int batch = std::atoi(item.c_str());
    std::vector<std::vector<uint8_t>> in(batch, std::vector<uint8_t>(static_cast<size_t>(iw) * ih * 3));
    std::vector<std::vector<uint8_t>> out(batch, std::vector<uint8_t>(static_cast<size_t>(iw) * ih * 3 * arch.scale * arch.scale));
    for (auto& f : in) {
      for (size_t i = 0; i < f.size(); ++i) f[i] = static_cast<uint8_t>((i * 7919) % 251);
    }
    std::vector<const uint8_t*> ip;
    std::vector<uint8_t*> op;
    for (int b = 0; b < batch; ++b) {
      ip.push_back(in[b].data());
      op.push_back(out[b].data());
    }
    net.run_rgb24(ip, ih, iw, iw * 3, op, iw * 3 * arch.scale);  // warm-up (allocations, cuDNN choice)
    const int calls = std::max(1, frames / batch);
    const auto t0 = std::chrono::steady_clock::now();
    for (int c = 0; c < calls; ++c) net.run_rgb24(ip, ih, iw, iw * 3, op, iw * 3 * arch.scale);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("| %s | %s | %s | %s | %dx%d -> %dx%d | %d | %.1f |\n", model.c_str(), arch.describe().c_str(),
                net.device_name().c_str(), precision.c_str(), iw, ih, iw * arch.scale, ih * arch.scale, batch,
                1000.0 * s / (calls * batch));
    std::fflush(stdout);
  }
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run_bench(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sr_bench: %s\n", e.what());
    return 2;
  }
}
