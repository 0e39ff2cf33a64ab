// tests/infer/detector_test.cpp — person detection on a real clip and a blank frame, and our
// Darknet engine against OpenCV dnn on the same frames.
#include "infer/person_detector.h"

#include <gtest/gtest.h>

#include <vector>

#include "infer/darknet_kernels.h"
#include "test_media.h"

namespace rt = reelscale::testing;
using namespace reelscale::infer;

namespace {
// Frame k of a clip as packed BGR, decoded by the ffmpeg CLI.
std::vector<uint8_t> bgr_frame(const std::string& path, int k, int w, int h) {
  const std::string cmd = "ffmpeg -v error -i " + rt::shell_quote(path) + " -vf select='eq(n\\," + std::to_string(k) +
                          ")' -frames:v 1 -f rawvideo -pix_fmt bgr24 -";
  FILE* pipe = popen(cmd.c_str(), "r");
  std::vector<uint8_t> data(static_cast<size_t>(w) * h * 3);
  const size_t got = fread(data.data(), 1, data.size(), pipe);
  pclose(pipe);
  EXPECT_EQ(got, data.size());
  return data;
}
const std::string kClip = std::string(REELSCALE_SAMPLES_DIR) + "/one-by-one-person-8s_derived.mp4";
}  // namespace

TEST(PersonDetector, FindsThePersonWhereOneIsVisibleAndNothingInABlankFrame) {
  for (const char* model : {"yolo-fastest-1.1_body.cfg", "FastestDet.onnx"}) {
    SCOPED_TRACE(model);
    PersonDetector detector(std::string(REELSCALE_MODELS_DIR) + "/" + model);
    // The clip (768x432, 10 fps) shows a person walking in: visible in the later frames.
    int frames_with_person = 0;
    for (int k : {40, 50, 60, 70}) {
      const auto bgr = bgr_frame(kClip, k, 768, 432);
      const auto people = detector.detect(bgr.data(), 768, 432, 768 * 3);
      if (!people.empty()) {
        ++frames_with_person;
        EXPECT_GT(people[0].score, 0.35f);
        EXPECT_GT(people[0].height, 40.0f);  // a person, not a speck
        EXPECT_GT(people[0].height, people[0].width * 0.8f);  // standing: taller than wide
      }
    }
    EXPECT_GE(frames_with_person, 3);
    std::vector<uint8_t> blank(320 * 240 * 3, 128);
    EXPECT_TRUE(detector.detect(blank.data(), 320, 240, 320 * 3).empty());
  }
}

TEST(PersonDetector, MissingModelIsAClearError) {
  try {
    PersonDetector d("/nonexistent/model.cfg");
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("detector model not found"), std::string::npos);
  }
}

TEST(PersonDetector, OurDarknetEngineFindsWhatOpenCvDnnFinds) {
  if (!darknet::kernels_supported()) GTEST_SKIP() << "this CPU lacks AVX2/FMA: our engine does not run here";
  const std::string model = std::string(REELSCALE_MODELS_DIR) + "/yolo-fastest-1.1_body.cfg";
  DetectorOptions ours_options, opencv_options;
  ours_options.engine = DetectorEngine::kNative;
  opencv_options.engine = DetectorEngine::kOpenCv;
  ours_options.score_threshold = opencv_options.score_threshold = 0.2f;
  PersonDetector ours(model, ours_options), opencv(model, opencv_options);
  EXPECT_EQ(ours.engine_name(), "reelscale");
  EXPECT_EQ(opencv.engine_name(), "opencv-dnn");
  int compared = 0;
  for (int k = 0; k < 81; k += 4) {
    SCOPED_TRACE("frame " + std::to_string(k));
    const auto bgr = bgr_frame(kClip, k, 768, 432);
    const auto a = ours.detect(bgr.data(), 768, 432, 768 * 3);
    const auto b = opencv.detect(bgr.data(), 768, 432, 768 * 3);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i, ++compared) {
      EXPECT_NEAR(a[i].x, b[i].x, 0.5);
      EXPECT_NEAR(a[i].y, b[i].y, 0.5);
      EXPECT_NEAR(a[i].width, b[i].width, 0.5);
      EXPECT_NEAR(a[i].height, b[i].height, 0.5);
      EXPECT_NEAR(a[i].score, b[i].score, 1e-3);
    }
  }
  EXPECT_GE(compared, 10);
}
