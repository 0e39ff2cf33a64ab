// job/content_sample.h — a job's own pictures timed before it is planned. What x264 and
// the decoder spend per pixel depends on what is in the picture (about 2x between real
// clips of one size), which no profile can know. So a few frames at the start of the
// job's first segment are decoded on one thread, cropped at three points of the job's
// crop track and scaled as the job does, and encoded with x264 veryfast at the job's crf
// on one thread, in this thread's CPU time (jobs running beside it do not count). The planner divides this by the same sample of the
// profiler's clip (plan::ContentReference) to scale the decode and encode stages.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "media/input.h"
#include "media/probe.h"
#include "media/scaler.h"
#include "plan/frame_stages.h"
#include "process/job_spec.h"

namespace reelscale::job {

// Frames timed per sample, and the positions along the job's crop track each is
// encoded at (a panning crop sees different parts of the picture): enough to smooth
// x264's frame types and the picture's regions, few enough to cost well under a second
// at 1080p.
inline constexpr int kContentSampleFrames = 4;
inline constexpr int kContentSamplePositions = 3;

// The profiler samples its clip at the jobs' default quality: a job at another crf has
// its cost in its factor (x264's work grows with the bits it writes).
inline constexpr int kReferenceCrf = 20;  // process::JobSpec{}.crf (checked by a test)

// The crops of consecutive sampled frames at one position (the last repeats when short).
using CropPath = std::vector<media::CropRect>;

// Decodes source frame `first_frame` (untimed: it may need a seek), then times decoding
// the next frames, and encoding them cropped along each path (repeated to
// kContentSamplePositions) of the upright picture and scaled to out_width x out_height
// at `crf`, with the encoder tuned as the job's is for `source_upscale`
// (media::EncoderSettings). Unknown when the source has too few frames left.
plan::ContentSample sample_content(const media::MediaSource& source, const media::VideoProbe& probe,
                                   int64_t first_frame, std::vector<CropPath> paths, int out_width, int out_height,
                                   int crf = kReferenceCrf, double source_upscale = 1.0);

// The crop paths a job is sampled along: its crop track over consecutive output frames
// at the start, middle and end of its `output_frames` (framing, framing_ai: a panning
// crop moves the whole picture, which costs x264 more than a still one), or the whole
// picture (overlay).
std::vector<CropPath> crop_paths(const process::JobSpec& spec, int64_t output_frames, int source_width,
                                 int source_height);

// The sample for a job of `output_frames`: its first segment's start, its crop
// positions, its output size and crf. Unknown for detect.
plan::ContentSample sample_job_content(const process::JobSpec& spec, const media::MediaSource& source,
                                       const media::VideoProbe& probe, int64_t output_frames);

}  // namespace reelscale::job
