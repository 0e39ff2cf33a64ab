// infer/darknet_kernels.h — the arithmetic of the Darknet CPU engine (darknet_network.h):
// pointwise convolution as a register-blocked matrix product (also used after im2col for
// full convolutions), depthwise convolution, max pooling, nearest upsampling, residual add.
// Tensors are channel planes, one after another, `stride` floats apart; strides are multiples of
// kPlaneAlign so the pointwise kernel may run over a whole padded plane. The kernels are compiled
// for AVX2 + FMA: call kernels_supported() before any other function here.
#pragma once

#include <cstddef>
#include <vector>

namespace reelscale::infer::darknet {

inline constexpr size_t kPlaneAlign = 16;  // floats; the pointwise kernel's column block
inline constexpr int kOutBlock = 6;        // output channels per pointwise register tile

inline size_t padded_plane(size_t plane) { return (plane + kPlaneAlign - 1) / kPlaneAlign * kPlaneAlign; }

enum class Activation { kLinear, kLeaky, kRelu };

// True when this CPU runs the AVX2 + FMA code (defined in a file built without those flags).
bool kernels_supported();

// Reorders row-major weights [out_ch][in_ch] into the tile order pointwise() reads.
std::vector<float> pack_pointwise_weights(const float* weights, int out_ch, int in_ch);

// out[o][p] = act(bias[o] + sum_i w[o][i] * in[i][p]) for every p of the padded plane `stride`.
// `packed`: from pack_pointwise_weights. `in_stride`, `out_stride`: multiples of kPlaneAlign,
// at least `plane`.
void pointwise(const float* packed, const float* bias, int out_ch, int in_ch, const float* in, size_t in_stride,
               float* out, size_t out_stride, size_t plane, Activation act);

struct Geometry {
  int in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int kernel = 1, stride = 1, pad = 0;
};

// Unfolds a convolution's input into [in_ch * k * k][out plane] so that pointwise() computes it.
void im2col(const float* in, size_t in_stride, int in_ch, const Geometry& g, float* columns, size_t columns_stride);

// One k x k filter per channel, stride 1 or 2. `scratch`: depthwise_scratch_size(g) floats.
size_t depthwise_scratch_size(const Geometry& g);
void depthwise(const float* weights, const float* bias, int channels, const float* in, size_t in_stride,
               const Geometry& g, float* out, size_t out_stride, Activation act, float* scratch);

// Max over k x k windows; windows reaching outside the image use only the pixels inside it.
void max_pool(const float* in, size_t in_stride, int channels, const Geometry& g, float* out, size_t out_stride);

// Nearest-neighbour upsampling by an integer factor.
void upsample(const float* in, size_t in_stride, int channels, int in_h, int in_w, int factor, float* out,
              size_t out_stride);

// out = a + b over `channels` planes of `plane` floats.
void add(const float* a, const float* b, size_t stride, int channels, size_t plane, float* out);

}  // namespace reelscale::infer::darknet
