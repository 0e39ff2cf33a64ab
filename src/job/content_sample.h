// job/content_sample.h — a job's own pictures timed before it is planned. What x264 and
// the decoder spend per pixel depends on what is in the picture (about 2x between real
// clips of one size), which no profile can know. So a few frames at the start of the
// job's first segment are decoded on one thread, cropped and scaled as the job does,
// and encoded with x264 veryfast on one thread, in this thread's CPU time (jobs running
// beside it do not count). The planner divides this by the same sample of the
// profiler's clip (plan::ContentReference) to scale the decode and encode stages.
#pragma once

#include <cstdint>
#include <string>

#include "media/input.h"
#include "media/probe.h"
#include "media/scaler.h"
#include "plan/frame_stages.h"
#include "process/job_spec.h"

namespace reelscale::job {

// Frames timed per sample: enough to smooth x264's frame types, few enough to cost
// well under a second at 1080p.
inline constexpr int kContentSampleFrames = 8;

// Decodes source frame `first_frame` (untimed: it may need a seek), then times decoding
// the next frames, and encoding them as `crop` of the upright picture scaled to
// out_width x out_height. Unknown when the source has too few frames left.
plan::ContentSample sample_content(const media::MediaSource& source, const media::VideoProbe& probe,
                                   int64_t first_frame, const media::CropRect& crop, int out_width, int out_height,
                                   int frames = kContentSampleFrames);

// The sample for a job: its first segment's start, its first crop (framing and
// framing_ai) or the whole picture (overlay), its output size. Unknown for detect.
plan::ContentSample sample_job_content(const process::JobSpec& spec, const media::MediaSource& source,
                                       const media::VideoProbe& probe);

}  // namespace reelscale::job
