// process/upright.h — decoded frames as the viewer sees them: the display-matrix
// rotation applied, in a planar YUV layout the processors can work on. Keyframe
// coordinates in a job refer to this upright picture.
#pragma once

#include "media/ffmpeg_handles.h"
#include "media/probe.h"
#include "media/scaler.h"

namespace reelscale::process {

class UprightFrames {
 public:
  explicit UprightFrames(const media::VideoProbe& probe);
  int width() const { return width_; }
  int height() const { return height_; }
  // The source itself when it needs no rotation; otherwise a rotated copy (valid until
  // the next call).
  const AVFrame& get(const AVFrame& decoded);

 private:
  int rotation_;
  int width_;
  int height_;
  media::FrameScaler converter_;
  media::FramePtr converted_;  // yuv420p copy when the decoded format cannot be rotated directly
  media::FramePtr rotated_;
};

// The largest rectangle with the output's aspect ratio centred in the source: the crop
// a framing job without crop_keyframes uses.
media::CropRect centred_crop(int source_width, int source_height, int output_width, int output_height);

}  // namespace reelscale::process
