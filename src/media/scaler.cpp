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

void FrameScaler::scale(const AVFrame& source, const CropRect& crop, AVFrame& target) {
  const auto src_format = static_cast<AVPixelFormat>(source.format);
  const CropRect r = snapped(crop, source.width, source.height, src_format);
  if (r.x < 0 || r.y < 0 || r.width <= 0 || r.height <= 0 || r.x + r.width > source.width ||
      r.y + r.height > source.height) {
    fail(ErrorKind::kInternal, "crop " + std::to_string(r.width) + "x" + std::to_string(r.height) + "+" +
                                   std::to_string(r.x) + "+" + std::to_string(r.y) + " is outside the " +
                                   std::to_string(source.width) + "x" + std::to_string(source.height) + " source");
  }
  if (!context_ || src_w_ != r.width || src_h_ != r.height || src_fmt_ != source.format ||
      dst_w_ != target.width || dst_h_ != target.height || dst_fmt_ != target.format) {
    context_.reset(sws_getContext(r.width, r.height, src_format, target.width, target.height,
                                  static_cast<AVPixelFormat>(target.format), sws_flags(quality_), nullptr,
                                  nullptr, nullptr));
    if (!context_) fail(ErrorKind::kInternal, "cannot create a scaler for this frame format");
    src_w_ = r.width;
    src_h_ = r.height;
    src_fmt_ = source.format;
    dst_w_ = target.width;
    dst_h_ = target.height;
    dst_fmt_ = target.format;
  }
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
  sws_scale(context_.get(), planes, source.linesize, 0, r.height, target.data, target.linesize);
}

}  // namespace reelscale::media
