// bench/darknet_bench.cpp — the Darknet engine's network alone (no resizing, no decoding of
// boxes beyond the yolo heads): best and mean ms per forward pass of the bundled Yolo-Fastest at
// a given input size, one core. Also the program to run under `perf record` to see the kernels.
// Usage: darknet_bench MODELS_DIR [WIDTH HEIGHT [PASSES]]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "infer/darknet_kernels.h"
#include "infer/darknet_network.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: darknet_bench MODELS_DIR [WIDTH HEIGHT [PASSES]]\n");
    return 2;
  }
  if (!reelscale::infer::darknet::kernels_supported()) {
    std::fprintf(stderr, "darknet_bench: this CPU lacks AVX2/FMA\n");
    return 1;
  }
  const std::string models = argv[1];
  const int width = argc > 3 ? std::atoi(argv[2]) : 320, height = argc > 3 ? std::atoi(argv[3]) : 320;
  const int passes = argc > 4 ? std::atoi(argv[4]) : 50;
  reelscale::infer::DarknetNetwork net(models + "/yolo-fastest-1.1_body.cfg", models + "/yolo-fastest-1.1_body.weights");
  std::vector<float> image(3 * static_cast<size_t>(width) * height);
  std::mt19937 rng(1);
  for (float& v : image) v = static_cast<float>(rng() % 256) / 255.0f;
  net.forward(image.data(), width, height);  // warm-up
  double best = 1e9, total = 0;
  for (int i = 0; i < passes; ++i) {
    const auto t = std::chrono::steady_clock::now();
    net.forward(image.data(), width, height);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
    best = std::min(best, ms);
    total += ms;
  }
  std::printf("| Yolo-Fastest forward pass, %dx%d, our engine | best %.2f ms, mean %.2f ms over %d |\n", width, height, best,
              total / passes, passes);
  const auto work = net.multiply_adds(width, height);
  std::printf("| multiply-adds per pass | pointwise %.1f M, depthwise %.1f M, other convolutions %.1f M |\n",
              work.pointwise / 1e6, work.depthwise / 1e6, work.other / 1e6);
  return 0;
}
