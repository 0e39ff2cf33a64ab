// process/endpoints.h — from a job spec to the work: the processor factory for the
// video endpoints (each execution slot gets its own processor; model weights are read
// once and shared), and the detect endpoint, which answers with JSON.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>

#include "media/input.h"
#include "media/probe.h"
#include "process/job_spec.h"
#include "process/models.h"
#include "process/processor.h"
#include "process/processors.h"

namespace reelscale::process {

// Loads what the endpoint needs (throws for a missing or bad model before any work).
// With a cache, model weights are read once per process and shared by every job.
SlotProcessorFactory make_processor_factory(const JobSpec& spec, const ModelSettings& settings,
                                            ModelCache* cache = nullptr);

// The people in one frame of the source (spec.time or spec.frame; frame 0 by default):
// {"frame", "time", "width", "height", "model", "people": [{"x","y","width","height","score"}], "ms"}.
nlohmann::json detect_people(const JobSpec& spec, const media::MediaSource& source, const media::VideoProbe& probe,
                             const ModelSettings& settings);

}  // namespace reelscale::process
