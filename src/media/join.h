// media/join.h — joins encoded chunks into the final file by stream copy, adds the
// audio track, verifies every chunk's frame count and the total, and writes the result
// atomically (temporary name beside the destination, then rename).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "media/audio.h"
#include "media/rational.h"

namespace reelscale::media {

struct ChunkFile {
  std::string path;
  int64_t first_frame = 0;  // output index of its first frame
  int64_t frames = 0;       // how many it must hold
};

struct JoinResult {
  int64_t frames = 0;
  int64_t bytes = 0;
  bool audio = false;
  bool audio_copied = false;
  StreamDamage audio_damage;  // what decoding the audio concealed (re-encoded audio only)
};

// Throws Error(kInternal) on any frame-count, ordering or codec-parameter mismatch;
// nothing is written to `output` then.
// The chunks are opened within `limits` (the job's).
JoinResult join_chunks(const std::vector<ChunkFile>& chunks, Rational fps, const std::string& output,
                       const AudioRequest* audio = nullptr, const MediaLimits& limits = {});

// Checks that the output's extension names a container that can hold H.264 video;
// throws Error(kBadInput) otherwise (call before any work).
void check_output_container(const std::string& output);

// Counts the video packets of a file (no decoding).
int64_t count_video_packets(const std::string& path);

}  // namespace reelscale::media
