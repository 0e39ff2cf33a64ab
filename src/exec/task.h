// exec/task.h — one chunk task as it travels from the job flow to an executor or a
// remote worker (JSON over HTTP). Each fact is said once: the job spec holds the input
// URL, the output rate and the x264 preset and CRF; the probe says what the input holds
// (so workers never re-read the whole input); the task adds the output-frame range,
// where the chunk goes, and the encoder settings the spec does not give. What comes back
// is a record::ChunkRecord.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "media/encoder.h"
#include "media/probe.h"
#include "media/timeline.h"
#include "process/job_spec.h"

namespace reelscale::exec {

// Encoder settings beyond the job spec's preset and CRF.
struct ChunkEncoding {
  int threads = 0;                // 0: the executor shares the cores between its slots
  int gop = 0;                    // key-frame interval in frames; 0: two seconds of output
  std::string codec = "libx264";
};

struct ChunkTaskSpec {
  std::string task_id;
  int index = 0;                  // chunk number in the job
  process::JobSpec job;           // with the output rate resolved (job.fps)
  media::VideoProbe probe;
  media::FrameRange range;        // output frames [begin, end)
  std::string output;             // URL of the chunk object to write
  ChunkEncoding encoding;
  double deadline_s = 600;        // the dispatcher gives up on an attempt after this
  // The cores the plan gave the container that runs this chunk (0: the place's own). A
  // worker or node gives the chunk's encoder and network that many threads, at most its own.
  int cores = 0;

  // The encoder settings for this chunk (size comes from the processor).
  media::EncoderSettings encoder_settings() const;
};

nlohmann::json to_json(const media::VideoProbe& probe);
media::VideoProbe probe_from_json(const nlohmann::json& j);
nlohmann::json to_json(const ChunkTaskSpec& task);
ChunkTaskSpec task_from_json(const nlohmann::json& j);  // Error(kBadInput) naming the problem

}  // namespace reelscale::exec
