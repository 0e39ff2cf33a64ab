// exec/task.h — one chunk task as it travels from the orchestrator to an executor or a
// remote worker (JSON over HTTP): the job spec, where the input is and what the probe
// found (so workers never re-read the whole input), the output-frame range, where the
// chunk goes, and the encoder settings; and the result that comes back.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "exec/chunk_runner.h"
#include "media/encoder.h"
#include "media/probe.h"
#include "process/job_spec.h"

namespace reelscale::exec {

struct ChunkTaskSpec {
  std::string task_id;
  int index = 0;                 // chunk number in the job
  process::JobSpec job;          // what to do to each frame (its input/output are the job's)
  std::string input;             // URL of the source video
  media::VideoProbe probe;
  media::Rational fps;
  media::FrameRange range;       // output frames [begin, end)
  std::string output;            // URL of the chunk object to write
  media::EncoderSettings encoder;
  double deadline_s = 600;       // the orchestrator gives up on an attempt after this
};

struct ChunkResult {
  int index = 0;
  std::string worker;            // "local:N" or the worker URL that produced it
  std::string output;            // URL of the chunk that won
  int attempts = 0;
  bool speculative = false;      // a second run of a straggler produced it
  ChunkStats stats;
  double upload_seconds = 0;
  double task_seconds = 0;       // on the worker, open to uploaded
  double round_trip_seconds = 0; // at the orchestrator: dispatch to reply
  int64_t input_bytes_read = 0;
  int64_t input_bytes = 0;
};

nlohmann::json to_json(const media::VideoProbe& probe);
media::VideoProbe probe_from_json(const nlohmann::json& j);
nlohmann::json to_json(const ChunkTaskSpec& task);
ChunkTaskSpec task_from_json(const nlohmann::json& j);  // Error(kBadInput) naming the problem
nlohmann::json to_json(const ChunkResult& r);
ChunkResult result_from_json(const nlohmann::json& j);

}  // namespace reelscale::exec
