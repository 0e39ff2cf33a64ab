// infer/darknet_cpu.cpp — the parts of the Darknet kernels built without AVX flags: whether this
// CPU can run darknet_kernels.cpp (x86-64 builds compile it for AVX2 + FMA), and the weight
// packing, which uses std::vector and so must not lend AVX code to the rest of the program.
#include <algorithm>

#include "infer/darknet_kernels.h"

namespace reelscale::infer::darknet {

bool kernels_supported() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return true;
#endif
}

std::vector<float> pack_pointwise_weights(const float* weights, int out_ch, int in_ch) {
  std::vector<float> packed(static_cast<size_t>(out_ch) * in_ch);
  for (int block = 0; block < out_ch; block += kOutBlock) {
    const int rows = std::min(kOutBlock, out_ch - block);
    float* dst = packed.data() + static_cast<size_t>(block) * in_ch;
    for (int i = 0; i < in_ch; ++i)
      for (int o = 0; o < rows; ++o) dst[i * rows + o] = weights[static_cast<size_t>(block + o) * in_ch + i];
  }
  return packed;
}

}  // namespace reelscale::infer::darknet
