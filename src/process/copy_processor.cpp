// process/copy_processor.cpp — the identity processor.
#include "process/copy_processor.h"

extern "C" {
#include <libavutil/imgutils.h>
}

namespace reelscale::process {

CopyProcessor::CopyProcessor(const media::VideoProbe& probe)
    : upright_(probe), width_(upright_.width() & ~1), height_(upright_.height() & ~1),
      scaler_(media::ScaleQuality::kBicubic) {
  if (width_ <= 0 || height_ <= 0) {
    fail(ErrorKind::kBadInput, "the source is too small to encode (" + std::to_string(upright_.width()) + "x" +
                                   std::to_string(upright_.height()) + ")");
  }
}

void CopyProcessor::process(std::span<FrameJob> jobs) {
  for (FrameJob& job : jobs) {
    const AVFrame& src = upright_.get(*job.source);
    if (src.format == AV_PIX_FMT_YUV420P || src.format == AV_PIX_FMT_YUVJ420P) {
      // Same layout: copy the planes (cropping an odd edge), no resampling.
      const uint8_t* planes[4] = {src.data[0], src.data[1], src.data[2], nullptr};
      av_image_copy(job.output->data, job.output->linesize, planes, src.linesize, AV_PIX_FMT_YUV420P, width_,
                    height_);
    } else {
      scaler_.scale(src, media::CropRect{0, 0, width_, height_}, *job.output);
    }
  }
}

}  // namespace reelscale::process
