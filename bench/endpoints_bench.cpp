// bench/endpoints_bench.cpp — milliseconds per frame of the pixel endpoints on one
// core at 810x1440 output: framing (crop 608x1080 of a 1920x1080 frame, bicubic scale),
// overlay (the highlight painter, with a naive per-pixel float blend measured beside it
// as the reference), and detect (Yolo-Fastest body, 320x320, on our engine with OpenCV dnn
// measured beside it as the reference). Prints Markdown rows.
// Usage: endpoints_bench MODELS_DIR
#include <opencv2/core.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "infer/person_detector.h"
#include "media/ffmpeg_handles.h"
#include "media/scaler.h"
#include "process/overlay.h"

using namespace reelscale;
using Clock = std::chrono::steady_clock;

namespace {
template <typename F>
double best_ms(int reps, F&& f) {
  double best = 1e9;
  for (int r = 0; r < reps; ++r) {
    const auto t = Clock::now();
    f();
    best = std::min(best, std::chrono::duration<double, std::milli>(Clock::now() - t).count());
  }
  return best;
}

void fill(AVFrame& f) {
  for (int p = 0; p < 3; ++p) {
    const int w = p ? f.width / 2 : f.width, h = p ? f.height / 2 : f.height;
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) f.data[p][y * f.linesize[p] + x] = static_cast<uint8_t>((x * 7 + y * 3) ^ (x >> 3));
    }
  }
}

// The naive reference: per pixel, float distance to the ellipse, float blend of every
// channel of every pixel (what a straightforward NumPy/OpenCV port does).
void naive_overlay(const AVFrame& src, AVFrame& dst, const process::Spotlight& s, double dim, double feather) {
  for (int p = 0; p < 3; ++p) {
    const int sub = p ? 2 : 1;
    const int w = dst.width / sub, h = dst.height / sub;
    const float base = p ? 128.f : 16.f;
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const float dx = (x * sub - static_cast<float>(s.cx)) / static_cast<float>(s.rx);
        const float dy = (y * sub - static_cast<float>(s.cy)) / static_cast<float>(s.ry);
        const float d = std::sqrt(dx * dx + dy * dy);
        const float edge = (d - 1.f) * static_cast<float>(0.5 * (s.rx + s.ry));
        float a = std::clamp((edge + static_cast<float>(feather) / 2) / static_cast<float>(feather), 0.f, 1.f);
        a = a * a * (3 - 2 * a);
        const float v = src.data[p][y * src.linesize[p] + x];
        const float dimmed = base + (v - base) * static_cast<float>(1 - dim);
        dst.data[p][y * dst.linesize[p] + x] = static_cast<uint8_t>(std::lround(v + (dimmed - v) * a));
      }
    }
  }
}
}  // namespace

int main(int argc, char** argv) {
  const std::string models = argc > 1 ? argv[1] : "models";
  cv::setNumThreads(1);
  media::FramePtr hd = media::make_frame(1920, 1080, AV_PIX_FMT_YUV420P);
  fill(*hd);
  media::FramePtr out = media::make_frame(810, 1440, AV_PIX_FMT_YUV420P);
  fill(*out);

  std::printf("| endpoint | work per frame | ms per frame (best of 20, one core) |\n|---|---|---|\n");
  media::FrameScaler scaler(media::ScaleQuality::kBicubic);
  const double framing = best_ms(20, [&] { scaler.scale(*hd, media::CropRect{656, 0, 608, 1080}, *out); });
  std::printf("| framing | crop 608x1080 of 1920x1080, bicubic scale to 810x1440 | %.2f |\n", framing);

  media::FramePtr src = media::make_frame(810, 1440, AV_PIX_FMT_YUV420P);
  fill(*src);
  process::OverlayStyle style;
  process::HighlightPainter painter(style);
  const process::Spotlight spot{405, 700, 180, 260};
  const double overlay = best_ms(20, [&] { painter.paint(*src, *out, spot); });
  std::printf("| overlay | highlight (dim %.2f, feather %.0f px, ring %.0f px) on 810x1440 | %.2f |\n", style.dim,
              style.feather, style.ring_width, overlay);
  const double naive = best_ms(5, [&] { naive_overlay(*src, *out, spot, style.dim, style.feather); });
  std::printf("| overlay, naive float reference | per-pixel float blend of the same frame | %.2f (%.0fx slower) |\n", naive,
              naive / overlay);
  media::FramePtr hd_out = media::make_frame(1920, 1080, AV_PIX_FMT_YUV420P);
  media::FramePtr hd_src = media::make_frame(1920, 1080, AV_PIX_FMT_YUV420P);
  fill(*hd_src);
  const process::Spotlight hd_spot{960, 540, 200, 300};
  const double overlay_hd = best_ms(20, [&] { painter.paint(*hd_src, *hd_out, hd_spot); });
  const double naive_hd = best_ms(3, [&] { naive_overlay(*hd_src, *hd_out, hd_spot, style.dim, style.feather); });
  std::printf("| overlay at 1920x1080 | ours / naive float | %.2f / %.2f |\n", overlay_hd, naive_hd);

  infer::DetectorOptions dopt;
  dopt.threads = 1;
  media::FramePtr bgr = media::make_frame(1920, 1080, AV_PIX_FMT_BGR24);
  media::FrameScaler to_bgr(media::ScaleQuality::kBilinear);
  to_bgr.scale(*hd, media::CropRect{}, *bgr);
  // The same model and input on our Darknet engine and on OpenCV dnn, measured alternately.
  auto detect_ms = [&](infer::DetectorEngine engine) {
    infer::DetectorOptions options = dopt;
    options.engine = engine;
    infer::PersonDetector detector(models + "/yolo-fastest-1.1_body.cfg", options);
    detector.detect(bgr->data[0], 1920, 1080, bgr->linesize[0]);  // warm-up
    return best_ms(20, [&] { detector.detect(bgr->data[0], 1920, 1080, bgr->linesize[0]); });
  };
  double ours = 1e9, opencv = 1e9;
  for (int round = 0; round < 3; ++round) {
    ours = std::min(ours, detect_ms(infer::DetectorEngine::kNative));
    opencv = std::min(opencv, detect_ms(infer::DetectorEngine::kOpenCv));
  }
  std::printf("| detect | Yolo-Fastest 1.1 body on our Darknet engine, 1920x1080 BGR frame resized to 320x320 | %.2f |\n",
              ours);
  std::printf("| detect, OpenCV dnn reference | the same model and frame on OpenCV dnn 4.6 | %.2f (ours %.2fx faster) |\n",
              opencv, opencv / ours);
  infer::PersonDetector fastestdet(models + "/FastestDet.onnx", dopt);
  fastestdet.detect(bgr->data[0], 1920, 1080, bgr->linesize[0]);
  const double detect2 = best_ms(20, [&] { fastestdet.detect(bgr->data[0], 1920, 1080, bgr->linesize[0]); });
  std::printf("| detect (FastestDet) | FastestDet, 352x352 | %.2f |\n", detect2);
  return 0;
}
