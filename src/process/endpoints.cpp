// process/endpoints.cpp — processor factories per endpoint, and detect.
#include "process/endpoints.h"

#include <nlohmann/json.hpp>

#include "common/stopwatch.h"
#include "infer/person_detector.h"
#include "media/frame_reader.h"
#include "process/framing_ai.h"
#include "process/processors.h"
#include "process/upright.h"

namespace reelscale::process {

SlotProcessorFactory make_processor_factory(const JobSpec& spec, const ModelSettings& settings, ModelCache* cache) {
  switch (spec.endpoint) {
    case Endpoint::kCopy:
    case Endpoint::kFraming:
    case Endpoint::kOverlay: return make_basic_factory(spec);
    case Endpoint::kFramingAi: {
      std::shared_ptr<const SrModel> model = cache ? cache->get(spec.model, settings) : load_sr_model(spec.model, settings);
      return [spec, model, settings](const media::VideoProbe& p) -> std::unique_ptr<FrameProcessor> {
        return std::make_unique<FramingAiProcessor>(spec, p, model, settings);
      };
    }
    case Endpoint::kDetect: break;
  }
  fail(ErrorKind::kBadInput, "the detect endpoint does not produce a video");
}

nlohmann::json detect_people(const JobSpec& spec, const media::MediaSource& source, const media::VideoProbe& probe,
                             const ModelSettings& settings) {
  const Stopwatch total;
  infer::DetectorOptions options;
  options.engine = settings.detector_engine;
  infer::PersonDetector detector(resolve_detector_path(settings), options);
  int64_t k = spec.detect_frame.value_or(0);
  if (spec.detect_time) {
    const auto times = probe.relative_times_ns();
    const int64_t t = std::llround(*spec.detect_time * 1e9) + 1000000;  // same 1 ms epsilon as the timeline
    k = std::max<int64_t>(0, (std::upper_bound(times.begin(), times.end(), t) - times.begin()) - 1);
  }
  if (k >= probe.frame_count()) fail(ErrorKind::kBadInput, "job field frame is past the end of the source");
  media::FrameReader reader(source, probe, 1);
  UprightFrames upright(probe);
  const AVFrame& frame = upright.get(reader.frame(k));
  media::FramePtr bgr = media::make_frame(frame.width, frame.height, AV_PIX_FMT_BGR24);
  media::FrameScaler scaler(media::ScaleQuality::kBilinear);
  scaler.scale(frame, media::CropRect{}, *bgr);
  const Stopwatch inference;
  const auto people = detector.detect(bgr->data[0], bgr->width, bgr->height, bgr->linesize[0]);
  const double inference_ms = 1000 * inference.seconds();
  nlohmann::json list = nlohmann::json::array();
  // Tenths of a pixel and thousandths of a score, rounded in double so the JSON shows them as such.
  auto tenths = [](float v) { return std::round(static_cast<double>(v) * 10) / 10; };
  for (const auto& b : people) {
    list.push_back({{"x", tenths(b.x)}, {"y", tenths(b.y)}, {"width", tenths(b.width)}, {"height", tenths(b.height)},
                    {"score", std::round(static_cast<double>(b.score) * 1000) / 1000}});
  }
  return {{"frame", k},
          {"time", static_cast<double>(probe.relative_ns(probe.pts[k])) / 1e9},
          {"width", frame.width},
          {"height", frame.height},
          {"model", detector.model_name()},
          {"engine", detector.engine_name()},
          {"people", list},
          {"inference_ms", inference_ms},
          {"total_ms", 1000 * total.seconds()}};
}

}  // namespace reelscale::process
