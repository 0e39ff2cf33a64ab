// exec/chunk_runner.h — one chunk task: read the source frames for output frames
// [a, b) by the timeline, run them through a processor in batches, and encode exactly
// b - a frames into a chunk file. Reports where the time went.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "media/encoder.h"
#include "media/frame_reader.h"
#include "media/probe.h"
#include "media/timeline.h"
#include "process/processor.h"

namespace reelscale::exec {

// Sees every processed frame before it is encoded (tests hash them).
using FrameObserver = std::function<void(int64_t output_index, const AVFrame& frame)>;
// Called after each encoded frame with the number done in this chunk.
using ProgressCallback = std::function<void(int64_t frames_done)>;

struct ChunkTask {
  media::MediaSource source;
  const media::VideoProbe* probe = nullptr;
  const media::Timeline* timeline = nullptr;
  media::FrameRange range;
  std::string output_path;              // the chunk file to write
  media::EncoderSettings encoder;       // width/height are the processor's
  int decoder_threads = 1;
};

struct ChunkStats {
  int64_t frames = 0;
  int64_t bytes = 0;
  media::ReaderStats reader;
  double open_seconds = 0;      // opening the input and the encoder
  double preroll_seconds = 0;   // reaching the first wanted frame (seek + decode + drop)
  double decode_seconds = 0;    // the remaining reading
  double process_seconds = 0;
  double encode_seconds = 0;
  double total_seconds = 0;
  std::string encoder;        // the encoder that wrote the chunk
  std::string encoder_note;   // why it is not the one the job asked for ("" when it is)
};

// Runs a chunk. `cancel`, when set, stops it with Error(kCancelled).
ChunkStats run_chunk(const ChunkTask& task, process::FrameProcessor& processor, const FrameObserver& observer = {},
                     const ProgressCallback& progress = {}, const std::atomic<bool>* cancel = nullptr);

}  // namespace reelscale::exec
