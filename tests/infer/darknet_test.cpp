// tests/infer/darknet_test.cpp — the Darknet CPU engine: each kernel against a plain loop
// written from the definition, the yolo head against hand-computed values, the whole network
// against OpenCV dnn on the same input, and bad cfg/weights files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <opencv2/dnn.hpp>
#include <random>
#include <vector>

#include "common/error.h"
#include "common/files.h"
#include "infer/darknet_kernels.h"
#include "infer/darknet_network.h"

using namespace reelscale;
using namespace reelscale::infer;
namespace dk = reelscale::infer::darknet;

namespace {

const std::string kCfg = std::string(REELSCALE_MODELS_DIR) + "/yolo-fastest-1.1_body.cfg";
const std::string kWeights = std::string(REELSCALE_MODELS_DIR) + "/yolo-fastest-1.1_body.weights";

#define REQUIRE_KERNELS() \
  if (!dk::kernels_supported()) GTEST_SKIP() << "this CPU lacks AVX2/FMA"

std::vector<float> random_values(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Tight planes (h*w apart) to the engine's padded planes and back.
std::vector<float> to_padded(const std::vector<float>& tight, int channels, size_t plane) {
  std::vector<float> padded(channels * dk::padded_plane(plane), 0.0f);
  for (int c = 0; c < channels; ++c)
    std::memcpy(&padded[c * dk::padded_plane(plane)], &tight[c * plane], plane * sizeof(float));
  return padded;
}
std::vector<float> from_padded(const std::vector<float>& padded, int channels, size_t plane) {
  std::vector<float> tight(channels * plane);
  for (int c = 0; c < channels; ++c)
    std::memcpy(&tight[c * plane], &padded[c * dk::padded_plane(plane)], plane * sizeof(float));
  return tight;
}

float leaky(float v) { return v > 0 ? v : 0.1f * v; }

// Convolution straight from its definition: weights [out][in / groups][k][k], zero padding.
std::vector<float> reference_conv(const std::vector<float>& in, int in_ch, int h, int w, const std::vector<float>& weights,
                                  const std::vector<float>& bias, int out_ch, int k, int stride, int pad, int groups,
                                  int out_h, int out_w) {
  std::vector<float> out(static_cast<size_t>(out_ch) * out_h * out_w);
  const int per_group_in = in_ch / groups, per_group_out = out_ch / groups;
  for (int o = 0; o < out_ch; ++o) {
    const int group = o / per_group_out;
    for (int oy = 0; oy < out_h; ++oy)
      for (int ox = 0; ox < out_w; ++ox) {
        double acc = bias[o];
        for (int i = 0; i < per_group_in; ++i)
          for (int ky = 0; ky < k; ++ky)
            for (int kx = 0; kx < k; ++kx) {
              const int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              acc += weights[((static_cast<size_t>(o) * per_group_in + i) * k + ky) * k + kx] *
                     in[(static_cast<size_t>(group * per_group_in + i) * h + iy) * w + ix];
            }
        out[(static_cast<size_t>(o) * out_h + oy) * out_w + ox] = leaky(static_cast<float>(acc));
      }
  }
  return out;
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, float tolerance) {
  ASSERT_EQ(got.size(), want.size());
  float worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (std::abs(got[i] - want[i]) > worst) worst = std::abs(got[i] - want[i]), at = i;
  EXPECT_LE(worst, tolerance) << "at " << at << ": " << got[at] << " vs " << want[at];
}

}  // namespace

TEST(DarknetKernels, PointwiseEqualsTheDefinitionForEveryTileRemainder) {
  REQUIRE_KERNELS();
  for (int out_ch : {1, 2, 5, 6, 7, 13}) {
    for (int in_ch : {1, 3, 17}) {
      for (size_t plane : {1, 15, 16, 37, 300}) {
        SCOPED_TRACE(std::to_string(out_ch) + " x " + std::to_string(in_ch) + " plane " + std::to_string(plane));
        const auto in = random_values(in_ch * plane, 1);
        const auto w = random_values(static_cast<size_t>(out_ch) * in_ch, 2);
        const auto b = random_values(out_ch, 3);
        const auto packed = dk::pack_pointwise_weights(w.data(), out_ch, in_ch);
        const auto in_padded = to_padded(in, in_ch, plane);
        std::vector<float> out(out_ch * dk::padded_plane(plane));
        dk::pointwise(packed.data(), b.data(), out_ch, in_ch, in_padded.data(), dk::padded_plane(plane), out.data(),
                      dk::padded_plane(plane), plane, dk::Activation::kLeaky);
        const auto want = reference_conv(in, in_ch, 1, static_cast<int>(plane), w, b, out_ch, 1, 1, 0, 1, 1,
                                         static_cast<int>(plane));
        expect_close(from_padded(out, out_ch, plane), want, 1e-5f);
      }
    }
  }
}

TEST(DarknetKernels, DepthwiseEqualsTheDefinitionForEveryKernelStrideAndWidth) {
  REQUIRE_KERNELS();
  const int channels = 3;
  for (int k : {3, 5, 7}) {
    for (int stride : {1, 2}) {
      for (int pad : {0, 1, k / 2}) {
        for (auto [h, w] : std::vector<std::pair<int, int>>{{7, 7}, {9, 13}, {12, 40}, {21, 37}, {5, 70}}) {
          if (h + 2 * pad < k || w + 2 * pad < k) continue;
          SCOPED_TRACE("k" + std::to_string(k) + " s" + std::to_string(stride) + " pad" + std::to_string(pad) + " " +
                       std::to_string(w) + "x" + std::to_string(h));
          const dk::Geometry g{h, w, (h + 2 * pad - k) / stride + 1, (w + 2 * pad - k) / stride + 1, k, stride, pad};
          const size_t in_plane = static_cast<size_t>(h) * w, out_plane = static_cast<size_t>(g.out_h) * g.out_w;
          const auto in = random_values(channels * in_plane, 4);
          const auto weights = random_values(static_cast<size_t>(channels) * k * k, 5);
          const auto bias = random_values(channels, 6);
          const auto in_padded = to_padded(in, channels, in_plane);
          std::vector<float> out(channels * dk::padded_plane(out_plane));
          std::vector<float> scratch(dk::depthwise_scratch_size(g));
          dk::depthwise(weights.data(), bias.data(), channels, in_padded.data(), dk::padded_plane(in_plane), g,
                        out.data(), dk::padded_plane(out_plane), dk::Activation::kLeaky, scratch.data());
          const auto want =
              reference_conv(in, channels, h, w, weights, bias, channels, k, stride, pad, channels, g.out_h, g.out_w);
          expect_close(from_padded(out, channels, out_plane), want, 1e-5f);
        }
      }
    }
  }
}

TEST(DarknetKernels, Im2colThenPointwiseEqualsAFullConvolution) {
  REQUIRE_KERNELS();
  const int in_ch = 3, out_ch = 8, h = 19, w = 23, k = 3, stride = 2, pad = 1;
  const dk::Geometry g{h, w, (h + 2 * pad - k) / stride + 1, (w + 2 * pad - k) / stride + 1, k, stride, pad};
  const size_t in_plane = static_cast<size_t>(h) * w, out_plane = static_cast<size_t>(g.out_h) * g.out_w;
  const auto in = random_values(in_ch * in_plane, 7);
  const auto weights = random_values(static_cast<size_t>(out_ch) * in_ch * k * k, 8);
  const auto bias = random_values(out_ch, 9);
  const auto in_padded = to_padded(in, in_ch, in_plane);
  std::vector<float> columns(in_ch * k * k * dk::padded_plane(out_plane), -1.0f);
  dk::im2col(in_padded.data(), dk::padded_plane(in_plane), in_ch, g, columns.data(), dk::padded_plane(out_plane));
  const auto packed = dk::pack_pointwise_weights(weights.data(), out_ch, in_ch * k * k);
  std::vector<float> out(out_ch * dk::padded_plane(out_plane));
  dk::pointwise(packed.data(), bias.data(), out_ch, in_ch * k * k, columns.data(), dk::padded_plane(out_plane), out.data(),
                dk::padded_plane(out_plane), out_plane, dk::Activation::kLeaky);
  const auto want = reference_conv(in, in_ch, h, w, weights, bias, out_ch, k, stride, pad, 1, g.out_h, g.out_w);
  expect_close(from_padded(out, out_ch, out_plane), want, 1e-5f);
}

TEST(DarknetKernels, MaxPoolUpsampleAndAddFollowTheirDefinitions) {
  REQUIRE_KERNELS();
  const int channels = 2, h = 10, w = 13;
  const size_t plane = static_cast<size_t>(h) * w;
  const auto in = random_values(channels * plane, 10);
  const auto in_padded = to_padded(in, channels, plane);
  for (int k : {2, 3, 5, 9}) {
    for (int stride : {1, 2}) {
      const int padding = k - 1;  // Darknet's default: size - 1 in total, half before
      const dk::Geometry g{h, w, (h + padding - k) / stride + 1, (w + padding - k) / stride + 1, k, stride, padding / 2};
      const size_t out_plane = static_cast<size_t>(g.out_h) * g.out_w;
      std::vector<float> out(channels * dk::padded_plane(out_plane));
      dk::max_pool(in_padded.data(), dk::padded_plane(plane), channels, g, out.data(), dk::padded_plane(out_plane));
      std::vector<float> want;
      for (int c = 0; c < channels; ++c)
        for (int oy = 0; oy < g.out_h; ++oy)
          for (int ox = 0; ox < g.out_w; ++ox) {
            float best = -1e30f;
            for (int y = oy * stride - g.pad; y < oy * stride - g.pad + k; ++y)
              for (int x = ox * stride - g.pad; x < ox * stride - g.pad + k; ++x)
                if (y >= 0 && y < h && x >= 0 && x < w) best = std::max(best, in[(c * h + y) * w + x]);
            want.push_back(best);
          }
      SCOPED_TRACE("pool k" + std::to_string(k) + " s" + std::to_string(stride));
      expect_close(from_padded(out, channels, out_plane), want, 0.0f);
    }
  }
  std::vector<float> up(channels * dk::padded_plane(plane * 4));
  dk::upsample(in_padded.data(), dk::padded_plane(plane), channels, h, w, 2, up.data(), dk::padded_plane(plane * 4));
  const auto up_tight = from_padded(up, channels, plane * 4);
  for (int c = 0; c < channels; ++c)
    for (int y = 0; y < 2 * h; ++y)
      for (int x = 0; x < 2 * w; ++x)
        ASSERT_EQ(up_tight[(c * 2 * h + y) * 2 * w + x], in[(c * h + y / 2) * w + x / 2]);
  std::vector<float> sum(in_padded.size());
  dk::add(in_padded.data(), in_padded.data(), dk::padded_plane(plane), channels, plane, sum.data());
  const auto sum_tight = from_padded(sum, channels, plane);
  for (size_t i = 0; i < in.size(); ++i) ASSERT_EQ(sum_tight[i], 2 * in[i]);
}

namespace {

// A one-convolution network with a yolo head, written to a temporary folder.
struct TinyNetwork {
  ScopedTempDir dir{std::filesystem::temp_directory_path(), "reelscale-darknet-"};
  std::string cfg = (dir.path() / "tiny.cfg").string();
  std::string weights = (dir.path() / "tiny.weights").string();

  void write(const std::string& extra_sections, const std::vector<float>& values, const std::string& conv_extra = "") {
    std::ofstream(cfg) << "[net]\nwidth=64\nheight=32\nchannels=3\n\n[convolutional]\nfilters=18\nsize=1\nstride=1\n"
                          "pad=0\nactivation=linear\n"
                       << conv_extra << extra_sections
                       << "\n[yolo]\nmask = 0,1,2\nanchors = 10,14, 23,27, 37,58\nclasses=1\nnum=3\n";
    std::ofstream out(weights, std::ios::binary);
    const int32_t version[3] = {0, 2, 5};
    const uint64_t seen = 0;
    out.write(reinterpret_cast<const char*>(version), sizeof version);
    out.write(reinterpret_cast<const char*>(&seen), sizeof seen);
    out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * 4));
  }
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(DarknetNetwork, YoloHeadDecodesBoxesAsDarknetDefinesThem) {
  REQUIRE_KERNELS();
  TinyNetwork tiny;
  // 18 biases (per anchor: x, y, w, h, objectness, class) then 18 x 3 zero weights, so the head
  // sees its biases everywhere.
  std::vector<float> values(18 + 18 * 3, 0.0f);
  const float biases[6] = {0.5f, -1.0f, 0.2f, -0.3f, 2.0f, -0.5f};
  for (int a = 0; a < 3; ++a)
    for (int e = 0; e < 6; ++e) values[a * 6 + e] = biases[e] + a * 0.1f;
  tiny.write("", values);
  DarknetNetwork net(tiny.cfg, tiny.weights);
  EXPECT_EQ(net.input_width(), 64);
  const int w = 8, h = 4;
  std::vector<float> image(3 * w * h, 0.3f);
  const auto& heads = net.forward(image.data(), w, h);
  ASSERT_EQ(heads.size(), 1u);
  const YoloHeadOutput& head = heads[0];
  EXPECT_EQ(net.multiply_adds(w, h).pointwise, 18 * 3 * w * h);  // one 1x1 convolution, 3 -> 18 channels
  EXPECT_EQ(head.grid_w, w);
  EXPECT_EQ(head.grid_h, h);
  ASSERT_EQ(head.row_count(), static_cast<size_t>(w * h * 3));
  auto sigmoid = [](double v) { return 1 / (1 + std::exp(-v)); };
  const double anchors[3][2] = {{10, 14}, {23, 27}, {37, 58}};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int a = 0; a < 3; ++a) {
        const float* row = head.rows.data() + ((y * w + x) * 3 + a) * head.row_size();
        const double t = a * 0.1;
        EXPECT_NEAR(row[0], (x + sigmoid(0.5 + t)) / w, 1e-6);
        EXPECT_NEAR(row[1], (y + sigmoid(-1.0 + t)) / h, 1e-6);
        EXPECT_NEAR(row[2], std::exp(0.2 + t) * anchors[a][0] / w, 1e-5);
        EXPECT_NEAR(row[3], std::exp(-0.3 + t) * anchors[a][1] / h, 1e-5);
        EXPECT_NEAR(row[4], sigmoid(2.0 + t), 1e-6);
        EXPECT_NEAR(row[5], sigmoid(2.0 + t) * sigmoid(-0.5 + t), 1e-6);
      }
}

TEST(DarknetNetwork, BadFilesAreClearErrors) {
  TinyNetwork tiny;
  const std::vector<float> good(18 + 18 * 3, 0.0f);
  tiny.write("", std::vector<float>(good.size() - 1, 0.0f));
  EXPECT_NE(error_of([&] { DarknetNetwork(tiny.cfg, tiny.weights); }).find("hold 71 values after the header; the cfg needs 72"),
            std::string::npos);
  tiny.write("\n[crop]\ncrop_width=3\n", good);
  EXPECT_NE(error_of([&] { DarknetNetwork(tiny.cfg, tiny.weights); }).find("[crop]: section type is not supported"),
            std::string::npos);
  tiny.write("", good, "groups=3\n");  // 3 input channels into 18 filters: not depthwise
  EXPECT_NE(error_of([&] { DarknetNetwork(tiny.cfg, tiny.weights); }).find("groups = 3 is neither 1 nor depthwise"),
            std::string::npos);
  tiny.write("", good, "size=100000\n");
  EXPECT_NE(error_of([&] { DarknetNetwork(tiny.cfg, tiny.weights); }).find("size, stride and padding at most 31"),
            std::string::npos);
  tiny.write("", good, "activation=mish\n");
  EXPECT_NE(error_of([&] { DarknetNetwork(tiny.cfg, tiny.weights); }).find("activation mish is not supported"),
            std::string::npos);
  tiny.write("", good);
  std::string missing = tiny.weights + ".missing";
  try {
    DarknetNetwork(tiny.cfg, missing);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos);
  }
  // The real model joins a 2x upsampled layer with an earlier one: sizes must halve evenly.
  DarknetNetwork real(kCfg, kWeights);
  std::vector<float> image(3 * 100 * 100, 0.5f);
  EXPECT_NE(error_of([&] { real.forward(image.data(), 100, 100); }).find("a 100x100 input does not fit layer"),
            std::string::npos);
}

// The whole Yolo-Fastest network against OpenCV dnn on the same input, square and not.
TEST(DarknetNetwork, MatchesOpenCvDnnOnTheBundledDetector) {
  REQUIRE_KERNELS();
  DarknetNetwork ours(kCfg, kWeights);
  cv::dnn::Net opencv = cv::dnn::readNetFromDarknet(kCfg, kWeights);
  const auto names = opencv.getUnconnectedOutLayersNames();
  for (auto [w, h] : std::vector<std::pair<int, int>>{{320, 320}, {320, 192}, {224, 416}}) {
    SCOPED_TRACE(std::to_string(w) + "x" + std::to_string(h));
    // A smooth image with structure at several scales, so the detector's layers see real signal.
    cv::Mat blob({1, 3, h, w}, CV_32F);
    float* p = blob.ptr<float>();
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
          *p++ = 0.5f + 0.25f * std::sin(x * 0.05f * (c + 1)) * std::cos(y * 0.031f) + 0.2f * ((x / 40 + y / 40) % 2);
    opencv.setInput(blob);
    std::vector<cv::Mat> theirs;
    opencv.forward(theirs, names);
    const auto& heads = ours.forward(blob.ptr<float>(), w, h);
    ASSERT_EQ(heads.size(), theirs.size());
    for (size_t i = 0; i < heads.size(); ++i) {
      const cv::Mat& t = theirs[i];
      ASSERT_EQ(static_cast<size_t>(t.rows), heads[i].row_count());
      ASSERT_EQ(t.cols, heads[i].row_size());
      float worst = 0;
      for (int r = 0; r < t.rows; ++r) {
        const float* a = heads[i].rows.data() + r * heads[i].row_size();
        const float* b = t.ptr<float>(r);
        for (int e = 0; e < 5; ++e) worst = std::max(worst, std::abs(a[e] - b[e]) / std::max(1.0f, std::abs(b[e])));
        if (b[5] > 0) worst = std::max(worst, std::abs(a[5] - b[5]));  // OpenCV zeroes scores under its threshold
      }
      EXPECT_LT(worst, 3e-4f) << "head " << i;
    }
  }
}

// Randomly damaged copies of the bundled cfg (lines dropped, duplicated, numbers changed) either
// load and run or fail with a reelscale error; under the sanitizer build this also checks that no
// damage makes the parser or the buffer plan touch memory it should not.
TEST(DarknetNetwork, DamagedCfgsLoadOrFailCleanly) {
  REQUIRE_KERNELS();
  std::vector<std::string> lines;
  {
    std::ifstream in(kCfg);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  ScopedTempDir dir(std::filesystem::temp_directory_path(), "reelscale-darknet-");
  const std::string cfg = (dir.path() / "damaged.cfg").string();
  std::mt19937 rng(7);
  int loaded = 0, refused = 0;
  for (int attempt = 0; attempt < 150; ++attempt) {
    std::vector<std::string> damaged = lines;
    for (int edit = 0, edits = 1 + static_cast<int>(rng() % 3); edit < edits; ++edit) {
      const size_t i = rng() % damaged.size();
      const size_t eq = damaged[i].find('=');
      switch (rng() % 3) {
        case 0: damaged.erase(damaged.begin() + static_cast<long>(i)); break;
        case 1: damaged.insert(damaged.begin() + static_cast<long>(i), damaged[rng() % damaged.size()]); break;
        default:
          if (eq != std::string::npos) damaged[i] = damaged[i].substr(0, eq + 1) + std::to_string(static_cast<int>(rng() % 40) - 5);
      }
    }
    {
      std::ofstream out(cfg);
      for (const std::string& line : damaged) out << line << "\n";
    }
    try {
      DarknetNetwork net(cfg, kWeights);
      std::vector<float> image(3 * 64 * 64, 0.5f);
      net.forward(image.data(), 64, 64);
      ++loaded;
    } catch (const Error&) {
      ++refused;
    }
  }
  EXPECT_GT(loaded, 0);   // some damage leaves a network the weights still fit
  EXPECT_GT(refused, 0);
}

// Found by fuzz/darknet_fuzz: a weights header whose version fields overflowed `int` when
// combined (undefined behaviour); now a clear error about the file's length.
TEST(DarknetNetwork, FuzzFoundAHugeWeightsVersionIsAClearError) {
  TinyNetwork tiny;
  tiny.write("", std::vector<float>(18 + 18 * 3, 0.0f));
  {
    std::fstream f(tiny.weights, std::ios::binary | std::ios::in | std::ios::out);
    const int32_t version[3] = {587202560, 7, 0};
    f.write(reinterpret_cast<const char*>(version), sizeof version);
  }
  EXPECT_NE(error_of([&] { DarknetNetwork(tiny.cfg, tiny.weights); }).find("values after the header"), std::string::npos);
}

// Found by fuzz/darknet_fuzz: a [yolo] mask value too large for an int was cast anyway
// (undefined behaviour); now a clear error.
TEST(DarknetNetwork, FuzzFoundAHugeMaskIsAClearError) {
  TinyNetwork tiny;
  tiny.write("", std::vector<float>(18 + 18 * 3, 0.0f));
  std::string cfg;
  {
    std::ifstream in(tiny.cfg);
    cfg.assign(std::istreambuf_iterator<char>(in), {});
  }
  const size_t at = cfg.find("mask = 0,1,2");
  ASSERT_NE(at, std::string::npos);
  cfg.replace(at, 12, "mask = 0,1,3e30");
  std::ofstream(tiny.cfg) << cfg;
  EXPECT_NE(error_of([&] { DarknetNetwork(tiny.cfg, tiny.weights); }).find("mask values must be anchor indices"),
            std::string::npos);
}
