// process/overlay.cpp — the highlight painter and the overlay processor.
#include "process/overlay.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace reelscale::process {

namespace {
constexpr int kLutSize = 1024;

// out = (src * keep + base * (256 - keep)) >> 8 over a run of pixels: the dimmed
// background. Written as a plain loop the compiler vectorises.
void dim_run(const uint8_t* __restrict src, uint8_t* __restrict dst, int n, int keep, int base) {
  const int offset = base * (256 - keep) + 128;
  for (int i = 0; i < n; ++i) dst[i] = static_cast<uint8_t>((src[i] * keep + offset) >> 8);
}
}  // namespace

HighlightPainter::HighlightPainter(const OverlayStyle& style) : style_(style) {
  keep_ = static_cast<int>(std::lround(256 * (1.0 - style.dim)));
  const double r = style.ring_color[0], g = style.ring_color[1], b = style.ring_color[2];
  // BT.601 limited range.
  ring_ = {static_cast<int>(std::lround(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255)),
           static_cast<int>(std::lround(128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255)),
           static_cast<int>(std::lround(128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255))};
}

void HighlightPainter::paint(const AVFrame& src, AVFrame& dst, const Spotlight& spot) const {
  for (int p = 0; p < 3; ++p) {
    const int sub = p ? 2 : 1;
    paint_plane(src.data[p], src.linesize[p], dst.data[p], dst.linesize[p], (dst.width + sub - 1) / sub,
                (dst.height + sub - 1) / sub, sub, spot, p);
  }
}

void HighlightPainter::paint_plane(const uint8_t* src, int src_stride, uint8_t* dst, int dst_stride, int width,
                                   int height, int sub, const Spotlight& spot, int plane) const {
  const int base = plane == 0 ? 16 : 128;
  const int ring = ring_[plane];
  // Distances in output (luma) pixels from the ellipse edge: the band where anything
  // but a plain copy or a plain dim happens.
  const double rx = std::max(1.0, spot.rx), ry = std::max(1.0, spot.ry);
  const double r_mean = 0.5 * (rx + ry);
  const double half_feather = 0.5 * style_.feather;
  const double half_ring = style_.ring_width > 0 ? 0.5 * style_.ring_width + 1.0 : 0.0;
  const double reach = std::max({half_feather, half_ring, 1.0});
  const double d_in = std::max(0.0, 1.0 - reach / r_mean);
  const double d_out = 1.0 + reach / r_mean;
  // Lookup over s = d^2 / d_out^2 in [0, 1]: dim and ring weights, 0..256.
  std::array<int, kLutSize + 1> dim_w{}, ring_w{};
  for (int i = 0; i <= kLutSize; ++i) {
    const double d = d_out * std::sqrt(static_cast<double>(i) / kLutSize);
    const double edge = (d - 1.0) * r_mean;  // pixels outside the ellipse (negative inside)
    double a = 1.0;
    if (half_feather > 0) {
      const double u = std::clamp((edge + half_feather) / (2 * half_feather), 0.0, 1.0);
      a = u * u * (3 - 2 * u);
    } else {
      a = edge >= 0 ? 1.0 : 0.0;
    }
    const double ring_cov = style_.ring_width > 0 ? std::clamp(0.5 * style_.ring_width + 0.5 - std::fabs(edge), 0.0, 1.0) : 0.0;
    dim_w[i] = static_cast<int>(std::lround(256 * a));
    ring_w[i] = static_cast<int>(std::lround(256 * ring_cov));
  }
  // Fixed point: s_index = (dx^2 * kx + dy^2 * ky) >> 20 with kx = 2^20 * kLutSize / (rx^2 d_out^2).
  const double scale = static_cast<double>(1 << 20) * kLutSize / (d_out * d_out);
  const int64_t kx = static_cast<int64_t>(std::llround(scale / (rx * rx) * sub * sub));
  const int64_t ky = static_cast<int64_t>(std::llround(scale / (ry * ry) * sub * sub));
  // Centre in this plane's pixel units, in halves for exact pixel centres.
  const double cxp = spot.cx / sub - 0.5, cyp = spot.cy / sub - 0.5;

  for (int y = 0; y < height; ++y) {
    const uint8_t* s = src + static_cast<ptrdiff_t>(y) * src_stride;
    uint8_t* t = dst + static_cast<ptrdiff_t>(y) * dst_stride;
    const double dy = (y - cyp) * sub / ry;  // normalised vertical distance
    const double out_span = d_out * d_out - dy * dy;
    if (out_span <= 0) {
      dim_run(s, t, width, keep_, base);
      continue;
    }
    const double half_out = rx * std::sqrt(out_span) / sub;
    const int xo0 = std::clamp(static_cast<int>(std::floor(cxp - half_out)), 0, width);
    const int xo1 = std::clamp(static_cast<int>(std::ceil(cxp + half_out)) + 1, 0, width);
    int xi0 = xo1, xi1 = xo1;  // the plain-copy interior, if the row crosses it
    const double in_span = d_in * d_in - dy * dy;
    if (in_span > 0) {
      const double half_in = rx * std::sqrt(in_span) / sub;
      xi0 = std::clamp(static_cast<int>(std::ceil(cxp - half_in)), xo0, xo1);
      xi1 = std::clamp(static_cast<int>(std::floor(cxp + half_in)) + 1, xi0, xo1);
    }
    dim_run(s, t, xo0, keep_, base);
    dim_run(s + xo1, t + xo1, width - xo1, keep_, base);
    if (xi1 > xi0 && s != t) std::memcpy(t + xi0, s + xi0, xi1 - xi0);
    const int64_t dy_i = static_cast<int64_t>(std::llround((y - cyp) * 2));
    const int64_t dy_term = dy_i * dy_i * ky;
    auto band = [&](int x0, int x1) {
      for (int x = x0; x < x1; ++x) {
        const int64_t dx_i = static_cast<int64_t>(std::llround((x - cxp) * 2));
        const int64_t idx = std::min<int64_t>(kLutSize, (dx_i * dx_i * kx + dy_term) >> 22);
        const int v = s[x];
        const int dimmed = (v * keep_ + base * (256 - keep_) + 128) >> 8;
        int out = v + (((dimmed - v) * dim_w[idx] + 128) >> 8);
        out += ((ring - out) * ring_w[idx] + 128) >> 8;
        t[x] = static_cast<uint8_t>(out);
      }
    };
    band(xo0, xi0);
    band(xi1, xo1);
  }
}

OverlayProcessor::OverlayProcessor(const JobSpec& spec, const media::VideoProbe& probe)
    : upright_(probe), keys_(spec.highlight_keyframes), easing_(spec.highlight_easing), fps_(spec.fps),
      painter_(spec.style) {
  width_ = upright_.width() & ~1;
  height_ = upright_.height() & ~1;
  if (width_ <= 0 || height_ <= 0) fail(ErrorKind::kBadInput, "the source is too small for overlay");
}

Spotlight OverlayProcessor::spotlight_at(int64_t j) const {
  const double t = static_cast<double>(j) * fps_.den / fps_.num;
  const auto v = interpolate(keys_, t, easing_);
  return Spotlight{v[0], v[1], v[2], v[3]};
}

void OverlayProcessor::process(std::span<FrameJob> jobs) {
  for (FrameJob& job : jobs) {
    const AVFrame* src = &upright_.get(*job.source);
    if (src->format != AV_PIX_FMT_YUV420P) {
      // Full-range or other layouts: convert once to limited-range yuv420p, then paint in place.
      if (!converted_) converted_ = media::make_frame(width_, height_, AV_PIX_FMT_YUV420P);
      converter_.scale(*src, media::CropRect{0, 0, width_, height_}, *converted_);
      src = converted_.get();
    }
    painter_.paint(*src, *job.output, spotlight_at(job.output_index));
  }
}

}  // namespace reelscale::process
