// tests/infer/super_resolution_test.cpp — our Real-ESRGAN against an independent
// reference (ONNX Runtime on a third-party export), weight-file reading in all the
// forms the releases use, and clear errors for bad files.
#include "infer/super_resolution.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <cmath>
#include <cstring>
#include <fstream>

#include "common/error.h"
#include "infer/state_dict.h"
#include "test_media.h"

namespace fs = std::filesystem;
namespace rt = reelscale::testing;
using namespace reelscale;
using namespace reelscale::infer;

namespace {
const std::string kWeights = std::string(REELSCALE_MODELS_DIR) + "/realesr-animevideov3.pth";

std::vector<float> read_f32(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

std::string error_of(const std::function<void()>& f) { return reelscale::testing::error_message(f); }
}  // namespace

TEST(SuperResolution, MatchesGoldenReference) {
  const LoadedWeights w = load_state_dict(kWeights);
  EXPECT_EQ(w.source_key, "params");
  const SrArchitecture arch = detect_architecture(w.tensors, kWeights);
  EXPECT_EQ(arch.kind, SrArchitecture::Kind::kCompact);
  EXPECT_EQ(arch.scale, 4);
  EXPECT_EQ(arch.num_conv, 16);
  EXPECT_EQ(arch.num_feat, 64);
  int64_t params = 0;
  for (const auto& [name, t] : w.tensors) params += t.numel();
  EXPECT_EQ(params, 621424);  // as the model manifest states
  SuperResolver net(w.tensors, arch, {});
  struct Case {
    const char* in;
    const char* out;
    int h, w;
  };
  for (const Case& c : {Case{"sr_a_in.f32", "sr_a_out.f32", 36, 64}, Case{"sr_b_in.f32", "sr_b_out.f32", 27, 45}}) {
    const auto in = read_f32(std::string(REELSCALE_TEST_DATA_DIR) + "/golden/" + c.in);
    const auto expected = read_f32(std::string(REELSCALE_TEST_DATA_DIR) + "/golden/" + c.out);
    ASSERT_EQ(in.size(), static_cast<size_t>(3 * c.h * c.w));
    const auto out = net.run(in.data(), 1, c.h, c.w);
    ASSERT_EQ(out.size(), expected.size());
    EXPECT_LE(max_abs_diff(out, expected), 1e-4f) << c.in;
  }
}

TEST(SuperResolution, TilingWithOverlapMatchesWholeImage) {
  const LoadedWeights w = load_state_dict(kWeights);
  const SrArchitecture arch = detect_architecture(w.tensors, kWeights);
  const auto in = read_f32(std::string(REELSCALE_TEST_DATA_DIR) + "/golden/sr_a_in.f32");
  SuperResolver whole(w.tensors, arch, {});
  SrOptions tiled_options;
  tiled_options.tile = 20;
  tiled_options.tile_overlap = 20;  // >= the 18-pixel receptive radius of 18 3x3 convolutions
  SuperResolver tiled(w.tensors, arch, tiled_options);
  EXPECT_LE(max_abs_diff(whole.run(in.data(), 1, 36, 64), tiled.run(in.data(), 1, 36, 64)), 1e-4f);
}

TEST(SuperResolution, BatchEqualsSingleFrames) {
  const SrArchitecture arch = architecture_by_name("realesr-animevideov3");
  SuperResolver net(random_weights(arch, 7), arch, {});
  std::vector<float> batch(2 * 3 * 8 * 10);
  for (size_t i = 0; i < batch.size(); ++i) batch[i] = static_cast<float>((i * 37) % 101) / 100.0f;
  const auto both = net.run(batch.data(), 2, 8, 10);
  const auto second = net.run(batch.data() + 3 * 8 * 10, 1, 8, 10);
  const std::vector<float> second_of_both(both.begin() + both.size() / 2, both.end());
  EXPECT_LE(max_abs_diff(second_of_both, second), 1e-5f);
}

TEST(SuperResolution, ParamsEmaFileLoadsAndMatches) {
  rt::TempDir dir;
  const LoadedWeights w = load_state_dict(kWeights);
  const std::string path = (dir / "ema.pth").string();
  save_state_dict(path, w.tensors, "params_ema");
  const LoadedWeights again = load_state_dict(path);
  EXPECT_EQ(again.source_key, "params_ema");
  ASSERT_EQ(again.tensors.size(), w.tensors.size());
  for (const auto& [name, t] : w.tensors) {
    EXPECT_EQ(again.tensors.at(name).shape, t.shape) << name;
    EXPECT_EQ(again.tensors.at(name).values, t.values) << name;
  }
}

// The writer checked by an independent reader: torch.load from Debian's python3-torch
// reads the file back with the same names, shapes and values.
TEST(SuperResolution, WrittenPthLoadsInTorch) {
  rt::TempDir dir;
  const LoadedWeights w = load_state_dict(kWeights);
  const std::string path = (dir / "w.pth").string();
  save_state_dict(path, w.tensors, "params");
  double sum = 0;
  for (const auto& [name, t] : w.tensors) {
    for (float v : t.values) sum += v;
  }
  const std::string script =
      "import torch,sys\n"
      "d=torch.load(sys.argv[1],map_location='cpu')['params']\n"
      "print(len(d), sum(float(t.double().sum()) for t in d.values()))\n"
      "print(' '.join(k+':'+'x'.join(map(str,t.shape)) for k,t in sorted(d.items())))\n";
  std::ofstream(dir / "read.py") << script;
  const auto r = rt::run_command("/usr/bin/python3 " + (dir / "read.py").string() + " " + path, false);
  ASSERT_EQ(r.status, 0) << r.output;
  std::istringstream out(r.output);
  size_t count = 0;
  double torch_sum = 0;
  out >> count >> torch_sum;
  EXPECT_EQ(count, w.tensors.size());
  EXPECT_NEAR(torch_sum, sum, 1e-6 * std::max(1.0, std::abs(sum)));
  std::string shapes, expected;
  std::getline(out >> std::ws, shapes);
  for (const auto& [name, t] : w.tensors) {
    std::string dims;
    for (int64_t d : t.shape) dims += (dims.empty() ? "" : "x") + std::to_string(d);
    expected += (expected.empty() ? "" : " ") + name + ":" + dims;
  }
  EXPECT_EQ(shapes, expected);
}

TEST(SuperResolution, RrdbNetShapesWithRandomWeights) {
  for (const char* name : {"RealESRGAN_x4plus", "RealESRGAN_x2plus"}) {
    SrArchitecture arch = architecture_by_name(name);
    arch.num_block = 2;  // the full 23 blocks are slow on CPU; shapes do not depend on depth
    const StateDict w = random_weights(arch, 1);
    EXPECT_EQ(detect_architecture(w, name).num_block, 2);
    EXPECT_EQ(detect_architecture(w, name).scale, arch.scale);
    SuperResolver net(w, arch, {});
    std::vector<float> in(2 * 3 * 12 * 16, 0.5f);
    const auto out = net.run(in.data(), 2, 12, 16);
    EXPECT_EQ(out.size(), static_cast<size_t>(2 * 3 * 12 * arch.scale * 16 * arch.scale)) << name;
    for (float v : out) ASSERT_TRUE(std::isfinite(v));
  }
  // The full x4plus has 16.7M parameters (its published size).
  int64_t params = 0;
  for (const auto& [n, shape] : expected_tensors(architecture_by_name("RealESRGAN_x4plus"))) {
    int64_t k = 1;
    for (auto d : shape) k *= d;
    params += k;
  }
  EXPECT_NEAR(params / 1e6, 16.7, 0.05);
}

TEST(SuperResolution, BadWeightFilesGiveClearErrors) {
  rt::TempDir dir;
  EXPECT_NE(error_of([&] { load_state_dict((dir / "none.pth").string()); }).find("not found"), std::string::npos);
  std::ofstream(dir / "text.pth") << "hello, not a model";
  EXPECT_NE(error_of([&] { load_state_dict((dir / "text.pth").string()); }).find("not a torch.save zip"), std::string::npos);
  // A truncated archive.
  {
    std::ifstream in(kWeights, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(dir / "cut.pth", std::ios::binary) << data.substr(0, data.size() / 2);
  }
  EXPECT_NE(error_of([&] { load_state_dict((dir / "cut.pth").string()); }).find("corrupt"), std::string::npos);
  // Mismatched: a tensor missing, a tensor of the wrong shape, another network's weights.
  const LoadedWeights w = load_state_dict(kWeights);
  const SrArchitecture arch = detect_architecture(w.tensors, kWeights);
  StateDict missing = w.tensors;
  missing.erase("body.10.weight");
  EXPECT_NE(error_of([&] { SuperResolver(missing, arch, {}); }).find("tensor body.10.weight is missing"), std::string::npos);
  StateDict wrong = w.tensors;
  wrong["body.4.weight"].shape = {64, 32, 3, 6};
  EXPECT_NE(error_of([&] { SuperResolver(wrong, arch, {}); }).find("body.4.weight has shape [64, 32, 3, 6]"), std::string::npos);
  EXPECT_NE(error_of([&] { SuperResolver(w.tensors, architecture_by_name("realesr-general-x4v3"), {}); }).find("do not fit SRVGGNetCompact x4 (64 features, 32 body convs)"),
            std::string::npos);
  StateDict other{{"fc.weight", TensorData{{2, 2}, {1, 2, 3, 4}}}};
  EXPECT_NE(error_of([&] { detect_architecture(other, "x.pth"); }).find("not a Real-ESRGAN state dict"), std::string::npos);
  EXPECT_NE(error_of([&] { SuperResolver(w.tensors, arch, SrOptions{Device::kCpu, Precision::kFloat16}); }).find("fp16"),
            std::string::npos);
}
