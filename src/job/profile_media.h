// job/profile_media.h — the profiler's own media: synthetic clips drawn and encoded here,
// and each stage of the chunk runner measured alone (its CPU work and wall time per
// frame): decoding a clip on the pipeline's one decoder thread, encoding drawn frames
// with x264 at a size and preset.
#pragma once

#include <string>

namespace reelscale::job {

// Gradients and a moving block, compressing about like camera footage, `seconds` at 30
// fps, encoded with x264 `preset` (CABAC and B-frames from veryfast up, as phones write).
void make_synthetic_clip(const std::string& path, int seconds, int width, int height,
                         const std::string& preset = "veryfast");
// The same, `frames` frames long.
void make_synthetic_frames(const std::string& path, int frames, int width, int height,
                           const std::string& preset = "veryfast");

struct StageCost {
  double cpu_ms = 0;   // core-ms per frame (every thread of the process)
  double wall_ms = 0;  // per frame
  double threads() const { return wall_ms > 0 ? cpu_ms / wall_ms : 1.0; }
};

// Every frame of `clip` through the FrameReader the chunk runner uses.
StageCost measure_decode(const std::string& clip);
// One decoder's CPU ms per frame of `clip` while `threads` decode it at once (each in
// its own thread's CPU time): with SMT siblings or shared memory bandwidth, more than
// alone.
double measure_shared_decode_ms(const std::string& clip, int threads);
// `frames` drawn frames of width x height through the chunk encoder, into `scratch_mp4`.
StageCost measure_encode(int width, int height, const std::string& preset, int frames, const std::string& scratch_mp4);

}  // namespace reelscale::job
