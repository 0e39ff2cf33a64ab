// media/scaler.cpp — cached swscale contexts and chroma-aligned cropping.
#include "media/scaler.h"

extern "C" {
#include <libavutil/pixdesc.h>
}

namespace reelscale::media {

namespace {
int sws_flags(ScaleQuality q) {
  switch (q) {
    case ScaleQuality::kFastBilinear: return SWS_FAST_BILINEAR;
    case ScaleQuality::kBilinear: return SWS_BILINEAR;
    case ScaleQuality::kBicubic: return SWS_BICUBIC;
    case ScaleQuality::kLanczos: return SWS_LANCZOS;
  }
  return SWS_BICUBIC;
}
}  // namespace

CropRect FrameScaler::snapped(const CropRect& crop, int source_width, int source_height, AVPixelFormat format) {
  CropRect r = crop;
  if (r.width <= 0 || r.height <= 0) r = CropRect{0, 0, source_width, source_height};
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(format);
  if (d) {
    r.x &= ~((1 << d->log2_chroma_w) - 1);
    r.y &= ~((1 << d->log2_chroma_h) - 1);
  }
  return r;
}

SwsContext* FrameScaler::context_for(int src_w, int src_h, int src_fmt, int dst_w, int dst_h, int dst_fmt) {
  ++uses_;
  for (Entry& e : cache_) {
    if (e.src_w == src_w && e.src_h == src_h && e.src_fmt == src_fmt && e.dst_w == dst_w && e.dst_h == dst_h &&
        e.dst_fmt == dst_fmt) {
      e.last_use = uses_;
      return e.context.get();
    }
  }
  Entry e;
  e.context.reset(sws_getContext(src_w, src_h, static_cast<AVPixelFormat>(src_fmt), dst_w, dst_h,
                                 static_cast<AVPixelFormat>(dst_fmt), sws_flags(quality_), nullptr, nullptr, nullptr));
  if (!e.context) fail(ErrorKind::kInternal, "cannot create a scaler for this frame format");
  e.src_w = src_w;
  e.src_h = src_h;
  e.src_fmt = src_fmt;
  e.dst_w = dst_w;
  e.dst_h = dst_h;
  e.dst_fmt = dst_fmt;
  e.last_use = uses_;
  if (cache_.size() < kCacheSize) {
    cache_.push_back(std::move(e));
    return cache_.back().context.get();
  }
  Entry* oldest = &cache_.front();
  for (Entry& c : cache_) {
    if (c.last_use < oldest->last_use) oldest = &c;
  }
  *oldest = std::move(e);
  return oldest->context.get();
}

void rotate_frame(const AVFrame& src, int degrees, AVFrame& dst) {
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(src.format));
  if (!d || (d->flags & AV_PIX_FMT_FLAG_RGB) || d->nb_components < 3 || d->comp[0].depth != 8 ||
      !(d->flags & AV_PIX_FMT_FLAG_PLANAR) || d->log2_chroma_w != d->log2_chroma_h) {
    fail(ErrorKind::kInternal, "rotation needs planar 8-bit YUV with equal chroma subsampling");
  }
  for (int p = 0; p < 3; ++p) {
    const int shift = p ? d->log2_chroma_w : 0;
    const int sw = AV_CEIL_RSHIFT(src.width, shift), sh = AV_CEIL_RSHIFT(src.height, shift);
    const int dw = AV_CEIL_RSHIFT(dst.width, shift), dh = AV_CEIL_RSHIFT(dst.height, shift);
    const uint8_t* s = src.data[p];
    uint8_t* t = dst.data[p];
    const int sl = src.linesize[p], tl = dst.linesize[p];
    for (int y = 0; y < dh; ++y) {
      uint8_t* row = t + static_cast<ptrdiff_t>(y) * tl;
      for (int x = 0; x < dw; ++x) {
        int sx, sy;
        if (degrees == 90) {
          sx = y;
          sy = sh - 1 - x;
        } else if (degrees == 180) {
          sx = sw - 1 - x;
          sy = sh - 1 - y;
        } else {  // 270
          sx = sw - 1 - y;
          sy = x;
        }
        row[x] = s[static_cast<ptrdiff_t>(sy) * sl + sx];
      }
    }
  }
}

void FrameScaler::scale(const AVFrame& source, const CropRect& crop, AVFrame& target) {
  const auto src_format = static_cast<AVPixelFormat>(source.format);
  const CropRect r = snapped(crop, source.width, source.height, src_format);
  if (r.x < 0 || r.y < 0 || r.width <= 0 || r.height <= 0 || r.x + r.width > source.width ||
      r.y + r.height > source.height) {
    fail(ErrorKind::kInternal, "crop " + std::to_string(r.width) + "x" + std::to_string(r.height) + "+" +
                                   std::to_string(r.x) + "+" + std::to_string(r.y) + " is outside the " +
                                   std::to_string(source.width) + "x" + std::to_string(source.height) + " source");
  }
  SwsContext* ctx = context_for(r.width, r.height, source.format, target.width, target.height, target.format);
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(src_format);
  const uint8_t* planes[4] = {nullptr, nullptr, nullptr, nullptr};
  for (int p = 0; p < 4 && source.data[p]; ++p) {
    int x = r.x;
    int y = r.y;
    if (d && (p == 1 || p == 2) && !(d->flags & AV_PIX_FMT_FLAG_RGB)) {
      x >>= d->log2_chroma_w;
      y >>= d->log2_chroma_h;
    }
    // Bytes per pixel of this plane, from the descriptor's step for packed or planar formats.
    int step = 1;
    if (d) {
      for (int c = 0; c < d->nb_components; ++c) {
        if (d->comp[c].plane == p) step = std::max(step, d->comp[c].step);
      }
    }
    planes[p] = source.data[p] + static_cast<ptrdiff_t>(y) * source.linesize[p] + static_cast<ptrdiff_t>(x) * step;
  }
  sws_scale(ctx, planes, source.linesize, 0, r.height, target.data, target.linesize);
}

}  // namespace reelscale::media
