// infer/darknet_kernels.cpp — the loops of the Darknet CPU engine, written with GCC/Clang
// vector extensions (8 floats) so the same source builds everywhere; on x86-64 CMake compiles
// this file for AVX2 + FMA and kernels_supported() (darknet_cpu.cpp) guards its use. No standard
// containers here: their out-of-line copies could carry AVX code into the rest of the program.
#include "infer/darknet_kernels.h"

#include <algorithm>
#include <cstring>

namespace reelscale::infer::darknet {
namespace {

typedef float Vec8 __attribute__((vector_size(32)));

inline Vec8 load(const float* p) {
  Vec8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, Vec8 v) { std::memcpy(p, &v, sizeof v); }
inline Vec8 splat(float x) { return Vec8{} + x; }

// Elements 0, 2, ..., 14 of p[0..15].
inline Vec8 load_even(const float* p) {
  const Vec8 a = load(p), b = load(p + 8);
  return __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
}
// Elements 1, 3, ..., 15 of p[0..15].
inline Vec8 load_odd(const float* p) {
  const Vec8 a = load(p), b = load(p + 8);
  return __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
}

inline Vec8 activate(Vec8 v, Activation act) {
  switch (act) {
    case Activation::kLeaky: {
      const Vec8 scaled = v * 0.1f;
      return v > scaled ? v : scaled;
    }
    case Activation::kRelu: return v > 0.0f ? v : Vec8{};
    case Activation::kLinear: break;
  }
  return v;
}

inline float activate(float v, Activation act) {
  switch (act) {
    case Activation::kLeaky: return v > 0 ? v : 0.1f * v;
    case Activation::kRelu: return v > 0 ? v : 0.0f;
    case Activation::kLinear: break;
  }
  return v;
}

// R output channels x 16 columns per step: 2R accumulators stay in registers while the input
// channels stream past; each input value is loaded once per tile and used R times.
template <int R>
void pointwise_tile(const float* w, const float* bias, int in_ch, const float* in, size_t in_stride, float* out,
                    size_t out_stride, size_t first, size_t last, Activation act) {
  for (size_t p = first; p < last; p += kPlaneAlign) {
    Vec8 lo[R], hi[R];
    for (int o = 0; o < R; ++o) lo[o] = hi[o] = splat(bias[o]);
    const float* src = in + p;
    const float* wi = w;
    for (int i = 0; i < in_ch; ++i, src += in_stride, wi += R) {
      const Vec8 a = load(src), b = load(src + 8);
      for (int o = 0; o < R; ++o) {
        lo[o] += a * wi[o];
        hi[o] += b * wi[o];
      }
    }
    for (int o = 0; o < R; ++o) {
      store(out + o * out_stride + p, activate(lo[o], act));
      store(out + o * out_stride + p + 8, activate(hi[o], act));
    }
  }
}

}  // namespace

void pointwise(const float* packed, const float* bias, int out_ch, int in_ch, const float* in, size_t in_stride,
               float* out, size_t out_stride, size_t plane, Activation act) {
  const size_t columns = padded_plane(plane);
  // Column panels small enough that their input rows stay in the L1/L2 cache across all
  // output-channel blocks.
  const size_t panel = 256;
  for (size_t first = 0; first < columns; first += panel) {
    const size_t last = std::min(columns, first + panel);
    for (int block = 0; block < out_ch; block += kOutBlock) {
      const float* w = packed + static_cast<size_t>(block) * in_ch;
      float* dst = out + block * out_stride;
      const float* b = bias + block;
      switch (std::min(kOutBlock, out_ch - block)) {
        case 6: pointwise_tile<6>(w, b, in_ch, in, in_stride, dst, out_stride, first, last, act); break;
        case 5: pointwise_tile<5>(w, b, in_ch, in, in_stride, dst, out_stride, first, last, act); break;
        case 4: pointwise_tile<4>(w, b, in_ch, in, in_stride, dst, out_stride, first, last, act); break;
        case 3: pointwise_tile<3>(w, b, in_ch, in, in_stride, dst, out_stride, first, last, act); break;
        case 2: pointwise_tile<2>(w, b, in_ch, in, in_stride, dst, out_stride, first, last, act); break;
        default: pointwise_tile<1>(w, b, in_ch, in, in_stride, dst, out_stride, first, last, act); break;
      }
    }
  }
}

void im2col(const float* in, size_t in_stride, int in_ch, const Geometry& g, float* columns, size_t columns_stride) {
  const size_t plane = static_cast<size_t>(g.out_h) * g.out_w;
  float* row = columns;
  for (int c = 0; c < in_ch; ++c) {
    const float* src = in + c * in_stride;
    for (int ky = 0; ky < g.kernel; ++ky) {
      for (int kx = 0; kx < g.kernel; ++kx, row += columns_stride) {
        float* dst = row;
        for (int oy = 0; oy < g.out_h; ++oy) {
          const int iy = oy * g.stride - g.pad + ky;
          if (iy < 0 || iy >= g.in_h) {
            std::memset(dst, 0, sizeof(float) * g.out_w);
            dst += g.out_w;
            continue;
          }
          const float* line = src + static_cast<size_t>(iy) * g.in_w;
          for (int ox = 0; ox < g.out_w; ++ox) {
            const int ix = ox * g.stride - g.pad + kx;
            *dst++ = (ix >= 0 && ix < g.in_w) ? line[ix] : 0.0f;
          }
        }
        std::memset(row + plane, 0, sizeof(float) * (columns_stride - plane));
      }
    }
  }
}

namespace {

// Where the scratch copy of one input channel keeps its pixels. Rows carry a zero border of `pad`
// and slack for vector loads past the right edge. For stride 2 each row is stored as its even
// columns followed by its odd columns, so that every tap of a stride-2 filter reads 8 adjacent
// values (column 2*ox + kx is entry ox + kx/2 of half kx % 2).
struct PaddedLayout {
  int stride = 1;
  size_t half = 0;  // stride 2: where the odd columns start
  size_t row = 0;
  PaddedLayout(const Geometry& g) : stride(g.stride) {
    const size_t width = g.in_w + 2 * g.pad;
    half = stride == 2 ? (width + 1) / 2 + 16 : 0;
    row = stride == 2 ? 2 * half : width + 16;
  }
  size_t rows(const Geometry& g) const { return g.in_h + 2 * g.pad + 1; }
  // Offset within a row of the value tap kx reads for output column 0.
  size_t tap(int kx) const { return stride == 1 ? kx : (kx & 1) * half + kx / 2; }
};

// Copies one input row into its place: x = j + pad for stride 1, split by parity for stride 2.
void place_row(const float* src, int width, int pad, const PaddedLayout& layout, float* dst) {
  if (layout.stride == 1) {
    std::memcpy(dst + pad, src, sizeof(float) * width);
    return;
  }
  // Input column j sits at padded column x = j + pad: entry x / 2 of half x % 2.
  float* even_half = dst + (pad % 2 == 0 ? 0 : layout.half);  // where even j go
  float* odd_half = dst + (pad % 2 == 0 ? layout.half : 0);
  const int even_shift = pad / 2, odd_shift = (pad + 1) / 2;
  int j = 0;
  for (; j + 16 <= width; j += 16) {
    store(even_half + j / 2 + even_shift, load_even(src + j));
    store(odd_half + j / 2 + odd_shift, load_odd(src + j));
  }
  for (; j < width; ++j) (j % 2 == 0 ? even_half[j / 2 + even_shift] : odd_half[j / 2 + odd_shift]) = src[j];
}

// N vectors of 8 adjacent outputs of one row of a K x K filter. Two partial sums per vector
// (even and odd filter rows) keep 2N independent multiply-add chains in flight.
template <int K, int N>
inline void depthwise_span(const float* top, const PaddedLayout& layout, const Vec8* taps, float bias, float* dst,
                           Activation act) {
  Vec8 even[N], odd[N];
  for (int n = 0; n < N; ++n) {
    even[n] = splat(bias);
    odd[n] = Vec8{};
  }
  for (int ky = 0; ky < K; ++ky) {
    const float* line = top + ky * layout.row;
    for (int kx = 0; kx < K; ++kx) {
      const Vec8 w = taps[ky * K + kx];
      const float* at = line + layout.tap(kx);
      for (int n = 0; n < N; ++n) {
        if (ky % 2 == 0) {
          even[n] += w * load(at + n * 8);
        } else {
          odd[n] += w * load(at + n * 8);
        }
      }
    }
  }
  for (int n = 0; n < N; ++n) store(dst + n * 8, activate(even[n] + odd[n], act));
}

template <int K>
void depthwise_rows(const float* padded, const PaddedLayout& layout, const Vec8* taps, float bias,
                    const Geometry& g, float* dst, Activation act) {
  for (int oy = 0; oy < g.out_h; ++oy, dst += g.out_w) {
    const float* top = padded + static_cast<size_t>(oy) * g.stride * layout.row;
    int ox = 0;
    for (; ox + 32 <= g.out_w; ox += 32) depthwise_span<K, 4>(top + ox, layout, taps, bias, dst + ox, act);
    switch ((g.out_w - ox) / 8) {
      case 3: depthwise_span<K, 3>(top + ox, layout, taps, bias, dst + ox, act); break;
      case 2: depthwise_span<K, 2>(top + ox, layout, taps, bias, dst + ox, act); break;
      case 1: depthwise_span<K, 1>(top + ox, layout, taps, bias, dst + ox, act); break;
      default: break;
    }
    ox += (g.out_w - ox) / 8 * 8;
    if (ox < g.out_w) {  // the last few columns: a whole vector into a side buffer (the loads stay in the slack)
      float tail[8];
      depthwise_span<K, 1>(top + ox, layout, taps, bias, tail, act);
      std::memcpy(dst + ox, tail, sizeof(float) * (g.out_w - ox));
    }
  }
}

// Any other kernel size (stride 1 or 2): one output at a time.
void depthwise_rows_generic(const float* padded, const PaddedLayout& layout, const float* w, float bias,
                            const Geometry& g, float* dst, Activation act) {
  for (int oy = 0; oy < g.out_h; ++oy, dst += g.out_w) {
    const float* top = padded + static_cast<size_t>(oy) * g.stride * layout.row;
    for (int ox = 0; ox < g.out_w; ++ox) {
      float acc = bias;
      for (int ky = 0; ky < g.kernel; ++ky)
        for (int kx = 0; kx < g.kernel; ++kx) acc += w[ky * g.kernel + kx] * top[ky * layout.row + layout.tap(kx) + ox];
      dst[ox] = activate(acc, act);
    }
  }
}

}  // namespace

size_t depthwise_scratch_size(const Geometry& g) {
  const PaddedLayout layout(g);
  return layout.rows(g) * layout.row;
}

void depthwise(const float* weights, const float* bias, int channels, const float* in, size_t in_stride,
               const Geometry& g, float* out, size_t out_stride, Activation act, float* scratch) {
  const int k = g.kernel;
  const PaddedLayout layout(g);
  Vec8 taps[49];
  // The zero border never changes: clear the scratch once, then copy each channel's pixels in.
  std::memset(scratch, 0, sizeof(float) * depthwise_scratch_size(g));
  for (int c = 0; c < channels; ++c) {
    const float* src = in + c * in_stride;
    for (int y = 0; y < g.in_h; ++y)
      place_row(src + static_cast<size_t>(y) * g.in_w, g.in_w, g.pad, layout, scratch + (y + g.pad) * layout.row);
    const float* w = weights + static_cast<size_t>(c) * k * k;
    for (int t = 0; t < k * k; ++t) taps[t] = splat(w[t]);
    float* dst = out + c * out_stride;
    if (k == 3) {
      depthwise_rows<3>(scratch, layout, taps, bias[c], g, dst, act);
    } else if (k == 5) {
      depthwise_rows<5>(scratch, layout, taps, bias[c], g, dst, act);
    } else {
      depthwise_rows_generic(scratch, layout, w, bias[c], g, dst, act);
    }
  }
}

void max_pool(const float* in, size_t in_stride, int channels, const Geometry& g, float* out, size_t out_stride) {
  for (int c = 0; c < channels; ++c) {
    const float* src = in + c * in_stride;
    float* dst = out + c * out_stride;
    for (int oy = 0; oy < g.out_h; ++oy) {
      const int y0 = std::max(0, oy * g.stride - g.pad), y1 = std::min(g.in_h, oy * g.stride - g.pad + g.kernel);
      for (int ox = 0; ox < g.out_w; ++ox) {
        const int x0 = std::max(0, ox * g.stride - g.pad), x1 = std::min(g.in_w, ox * g.stride - g.pad + g.kernel);
        float best = src[static_cast<size_t>(y0) * g.in_w + x0];
        for (int y = y0; y < y1; ++y)
          for (int x = x0; x < x1; ++x) best = std::max(best, src[static_cast<size_t>(y) * g.in_w + x]);
        *dst++ = best;
      }
    }
  }
}

void upsample(const float* in, size_t in_stride, int channels, int in_h, int in_w, int factor, float* out,
              size_t out_stride) {
  const int out_w = in_w * factor;
  for (int c = 0; c < channels; ++c) {
    const float* src = in + c * in_stride;
    float* dst = out + c * out_stride;
    for (int y = 0; y < in_h; ++y) {
      float* first = dst;
      for (int x = 0; x < in_w; ++x)
        for (int f = 0; f < factor; ++f) *dst++ = src[static_cast<size_t>(y) * in_w + x];
      for (int f = 1; f < factor; ++f, dst += out_w) std::memcpy(dst, first, sizeof(float) * out_w);
    }
  }
}

void add(const float* a, const float* b, size_t stride, int channels, size_t plane, float* out) {
  for (int c = 0; c < channels; ++c) {
    const size_t base = c * stride;
    for (size_t i = 0; i < plane; ++i) out[base + i] = a[base + i] + b[base + i];
  }
}

}  // namespace reelscale::infer::darknet
