// process/upright.cpp — rotation to display orientation.
#include "process/upright.h"

extern "C" {
#include <libavutil/pixdesc.h>
}

namespace reelscale::process {

UprightFrames::UprightFrames(const media::VideoProbe& probe)
    : rotation_(probe.rotation), width_(probe.upright_width()), height_(probe.upright_height()) {}

const AVFrame& UprightFrames::get(const AVFrame& decoded) {
  if (rotation_ == 0) return decoded;
  const AVFrame* planar = &decoded;
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(decoded.format));
  const bool rotatable = d && !(d->flags & AV_PIX_FMT_FLAG_RGB) && (d->flags & AV_PIX_FMT_FLAG_PLANAR) &&
                         d->nb_components >= 3 && d->comp[0].depth == 8 && d->log2_chroma_w == d->log2_chroma_h;
  if (!rotatable) {
    if (!converted_ || converted_->width != decoded.width || converted_->height != decoded.height) {
      converted_ = media::make_frame(decoded.width, decoded.height, AV_PIX_FMT_YUV420P);
    }
    converter_.scale(decoded, media::CropRect{}, *converted_);
    planar = converted_.get();
  }
  const bool swap = rotation_ == 90 || rotation_ == 270;
  const int w = swap ? planar->height : planar->width, h = swap ? planar->width : planar->height;
  if (!rotated_ || rotated_->width != w || rotated_->height != h || rotated_->format != planar->format) {
    rotated_ = media::make_frame(w, h, static_cast<AVPixelFormat>(planar->format));
  }
  media::rotate_frame(*planar, rotation_, *rotated_);
  return *rotated_;
}

media::CropRect centred_crop(int sw, int sh, int ow, int oh) {
  // Widest crop of aspect ow:oh that fits.
  int w = sw, h = static_cast<int>(static_cast<int64_t>(sw) * oh / ow);
  if (h > sh) {
    h = sh;
    w = static_cast<int>(static_cast<int64_t>(sh) * ow / oh);
  }
  return media::CropRect{(sw - w) / 2, (sh - h) / 2, std::max(1, w), std::max(1, h)};
}

}  // namespace reelscale::process
