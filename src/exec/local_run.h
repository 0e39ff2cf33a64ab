// exec/local_run.h — a whole job on this machine: probe, build the timeline, split
// the output into chunks, run them on in-process slots (threads, each with its own
// processor), join by stream copy with the audio, and leave nothing behind but the
// finished output. The skeleton `reelscale process` and the orchestrator stand on.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include "exec/chunk_runner.h"
#include "media/audio.h"
#include "media/join.h"

namespace reelscale::exec {

struct LocalRunRequest {
  media::MediaSource input;                // a local file (remote inputs go through the orchestrator)
  const media::VideoProbe* probe = nullptr;  // already probed input (else run_local probes)
  std::string output;                     // local path, written atomically
  int chunks = 1;
  int slots = 0;                          // chunk tasks at once; 0: min(chunks, cores)
  media::Rational fps{0, 0};              // 0: the source's own rate
  std::vector<media::Segment> segments;
  media::EncoderSettings encoder;         // size comes from the processor
  media::AudioMode audio = media::AudioMode::kAuto;
  // Makes a processor for a slot; receives the probe of the input.
  process::SlotProcessorFactory make_processor;
  FrameObserver observer;                 // optional: sees every processed frame (thread-safe use required)
  std::function<void(int64_t done, int64_t total)> progress;  // optional
  const std::atomic<bool>* cancel = nullptr;
  std::filesystem::path scratch_parent;   // where chunk files go; default: the output's directory
};

struct ChunkReport {
  media::FrameRange range;
  ChunkStats stats;
};

struct LocalRunResult {
  media::VideoProbe probe;
  int64_t frames = 0;
  media::Rational fps;
  std::vector<ChunkReport> chunks;
  media::JoinResult join;
  int64_t frames_skipped = 0;
  double probe_seconds = 0;
  double chunks_seconds = 0;  // wall time of the parallel part
  double join_seconds = 0;
  double total_seconds = 0;
};

// The output rate a job gets when it names none: the source's nominal rate when it is
// a sane constant, else its average, else 30.
media::Rational default_output_fps(const media::VideoProbe& probe);

LocalRunResult run_local(const LocalRunRequest& request);

}  // namespace reelscale::exec
