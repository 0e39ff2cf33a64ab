// infer/super_resolution.cpp — SRVGGNetCompact and RRDBNet forward passes on ATen.
// The one translation unit of reelscale that includes libtorch's tensor headers.
#include "infer/super_resolution.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/cuda.h>

#include <cmath>
#include <cstring>
#include <random>
#include <sstream>

#include "common/error.h"

namespace reelscale::infer {

bool cuda_available() { return torch::cuda::is_available(); }

Device resolve_device(Device device) {
  if (device == Device::kAuto) return cuda_available() ? Device::kCuda : Device::kCpu;
  return device;
}

void set_cpu_threads(int threads) {
  if (threads > 0) at::set_num_threads(threads);
}

std::vector<std::pair<std::string, std::vector<int64_t>>> expected_tensors(const SrArchitecture& arch) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> t;
  auto conv = [&](const std::string& name, int64_t out, int64_t in) {
    t.push_back({name + ".weight", {out, in, 3, 3}});
    t.push_back({name + ".bias", {out}});
  };
  const int64_t f = arch.num_feat;
  if (arch.kind == SrArchitecture::Kind::kCompact) {
    conv("body.0", f, 3);
    t.push_back({"body.1.weight", {f}});
    for (int i = 0; i < arch.num_conv; ++i) {
      conv("body." + std::to_string(2 + 2 * i), f, f);
      t.push_back({"body." + std::to_string(3 + 2 * i) + ".weight", {f}});
    }
    conv("body." + std::to_string(2 + 2 * arch.num_conv), 3 * arch.scale * arch.scale, f);
  } else {
    const int64_t in_ch = arch.scale == 4 ? 3 : arch.scale == 2 ? 12 : 48;
    const int64_t g = arch.num_grow_ch;
    conv("conv_first", f, in_ch);
    for (int b = 0; b < arch.num_block; ++b) {
      for (int r = 1; r <= 3; ++r) {
        const std::string p = "body." + std::to_string(b) + ".rdb" + std::to_string(r) + ".conv";
        for (int c = 1; c <= 4; ++c) conv(p + std::to_string(c), g, f + (c - 1) * g);
        conv(p + "5", f, f + 4 * g);
      }
    }
    conv("conv_body", f, f);
    conv("conv_up1", f, f);
    conv("conv_up2", f, f);
    conv("conv_hr", f, f);
    conv("conv_last", 3, f);
  }
  return t;
}

namespace {
std::string shape_text(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}
}  // namespace

SrArchitecture detect_architecture(const StateDict& w, const std::string& name) {
  SrArchitecture a;
  if (auto it = w.find("conv_first.weight"); it != w.end() && it->second.shape.size() == 4) {
    a.kind = SrArchitecture::Kind::kRrdb;
    a.num_feat = static_cast<int>(it->second.shape[0]);
    const int64_t in_ch = it->second.shape[1];
    a.scale = in_ch == 3 ? 4 : in_ch == 12 ? 2 : in_ch == 48 ? 1 : 0;
    if (!a.scale) fail(ErrorKind::kBadInput, name + ": conv_first takes " + std::to_string(in_ch) + " channels (expected 3, 12 or 48)");
    a.num_block = 0;
    while (w.count("body." + std::to_string(a.num_block) + ".rdb1.conv1.weight")) ++a.num_block;
    if (a.num_block == 0) fail(ErrorKind::kBadInput, name + ": an RRDBNet without RRDB blocks (body.0.rdb1.*)");
    a.num_grow_ch = static_cast<int>(w.at("body.0.rdb1.conv1.weight").shape[0]);
    return a;
  }
  if (auto it = w.find("body.0.weight"); it != w.end() && it->second.shape.size() == 4) {
    a.kind = SrArchitecture::Kind::kCompact;
    a.num_feat = static_cast<int>(it->second.shape[0]);
    int last = 0;
    while (w.count("body." + std::to_string(last + 2) + ".weight")) last += 2;
    if (last < 2) fail(ErrorKind::kBadInput, name + ": an SRVGGNetCompact needs at least two convolutions");
    a.num_conv = (last - 2) / 2;
    const auto& out = w.at("body." + std::to_string(last) + ".weight").shape;
    const int s = static_cast<int>(std::lround(std::sqrt(out[0] / 3.0)));
    if (s < 1 || 3 * s * s != out[0]) {
      fail(ErrorKind::kBadInput, name + ": the last convolution has " + std::to_string(out[0]) +
                                     " outputs, not 3 x scale^2");
    }
    a.scale = s;
    return a;
  }
  fail(ErrorKind::kBadInput, name + " is not a Real-ESRGAN state dict: expected conv_first.* (RRDBNet) or "
                                     "body.N.* (SRVGGNetCompact) tensors");
}


StateDict random_weights(const SrArchitecture& arch, uint64_t seed) {
  std::mt19937_64 rng(seed);
  StateDict w;
  for (const auto& [name, shape] : expected_tensors(arch)) {
    TensorData t;
    t.shape = shape;
    const int64_t n = t.numel();
    t.values.resize(n);
    // Kaiming-like scale for conv weights keeps activations bounded through deep nets;
    // biases small; PReLU slopes near 0.25.
    double stddev = 0.01;
    if (shape.size() == 4) stddev = 0.1 * std::sqrt(2.0 / (shape[1] * 9));
    std::normal_distribution<float> dist(0.0f, static_cast<float>(stddev));
    const bool prelu = shape.size() == 1 && arch.kind == SrArchitecture::Kind::kCompact &&
                       name.find(".weight") != std::string::npos;
    for (auto& v : t.values) v = prelu ? 0.25f : dist(rng);
    w.emplace(name, std::move(t));
  }
  return w;
}

struct SuperResolver::Impl {
  SrArchitecture arch;
  SrOptions options;
  at::Device device{at::kCPU};
  at::ScalarType dtype = at::kFloat;
  std::map<std::string, at::Tensor> w;

  const at::Tensor& get(const std::string& name) const { return w.at(name); }

  at::Tensor conv(const at::Tensor& x, const std::string& name) const {
    return at::conv2d(x, get(name + ".weight"), get(name + ".bias"), 1, 1);
  }

  at::Tensor forward_compact(const at::Tensor& x) const {
    at::Tensor y = at::prelu(conv(x, "body.0"), get("body.1.weight"));
    for (int i = 0; i < arch.num_conv; ++i) {
      y = at::prelu(conv(y, "body." + std::to_string(2 + 2 * i)), get("body." + std::to_string(3 + 2 * i) + ".weight"));
    }
    y = conv(y, "body." + std::to_string(2 + 2 * arch.num_conv));
    y = at::pixel_shuffle(y, arch.scale);
    const int64_t h = x.size(2) * arch.scale, wd = x.size(3) * arch.scale;
    return y + at::upsample_nearest2d(x, {h, wd});
  }

  at::Tensor rdb(const at::Tensor& x, const std::string& p) const {
    const at::Tensor x1 = at::leaky_relu(conv(x, p + "conv1"), 0.2);
    const at::Tensor x2 = at::leaky_relu(conv(at::cat({x, x1}, 1), p + "conv2"), 0.2);
    const at::Tensor x3 = at::leaky_relu(conv(at::cat({x, x1, x2}, 1), p + "conv3"), 0.2);
    const at::Tensor x4 = at::leaky_relu(conv(at::cat({x, x1, x2, x3}, 1), p + "conv4"), 0.2);
    const at::Tensor x5 = conv(at::cat({x, x1, x2, x3, x4}, 1), p + "conv5");
    return x5 * 0.2 + x;
  }

  at::Tensor forward_rrdb(const at::Tensor& x) const {
    at::Tensor in = x;
    if (arch.scale == 2) in = at::pixel_unshuffle(x, 2);
    if (arch.scale == 1) in = at::pixel_unshuffle(x, 4);
    const at::Tensor feat = conv(in, "conv_first");
    at::Tensor body = feat;
    for (int b = 0; b < arch.num_block; ++b) {
      const std::string p = "body." + std::to_string(b) + ".";
      body = rdb(rdb(rdb(body, p + "rdb1."), p + "rdb2."), p + "rdb3.") * 0.2 + body;
    }
    at::Tensor f = feat + conv(body, "conv_body");
    f = at::leaky_relu(conv(at::upsample_nearest2d(f, {f.size(2) * 2, f.size(3) * 2}), "conv_up1"), 0.2);
    f = at::leaky_relu(conv(at::upsample_nearest2d(f, {f.size(2) * 2, f.size(3) * 2}), "conv_up2"), 0.2);
    return conv(at::leaky_relu(conv(f, "conv_hr"), 0.2), "conv_last");
  }

  at::Tensor forward(const at::Tensor& x) const {
    return arch.kind == SrArchitecture::Kind::kCompact ? forward_compact(x) : forward_rrdb(x);
  }

  // Runs x (N3HW on device) whole or in overlapping tiles; returns float32 on device.
  at::Tensor run(const at::Tensor& x) const {
    const int64_t h = x.size(2), wd = x.size(3), s = arch.scale;
    const int tile = options.tile;
    if (tile <= 0 || (h <= tile && wd <= tile)) return forward(x).to(at::kFloat);
    at::Tensor out = at::empty({x.size(0), 3, h * s, wd * s}, x.options().dtype(at::kFloat));
    const int64_t ov = options.tile_overlap;
    for (int64_t y0 = 0; y0 < h; y0 += tile) {
      for (int64_t x0 = 0; x0 < wd; x0 += tile) {
        const int64_t y1 = std::min(h, y0 + tile), x1 = std::min(wd, x0 + tile);
        const int64_t py0 = std::max<int64_t>(0, y0 - ov), px0 = std::max<int64_t>(0, x0 - ov);
        const int64_t py1 = std::min(h, y1 + ov), px1 = std::min(wd, x1 + ov);
        const at::Tensor part = x.slice(2, py0, py1).slice(3, px0, px1).contiguous(
            options.channels_last && device.is_cuda() ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous);
        const at::Tensor r = forward(part).to(at::kFloat);
        out.slice(2, y0 * s, y1 * s)
            .slice(3, x0 * s, x1 * s)
            .copy_(r.slice(2, (y0 - py0) * s, (y0 - py0 + (y1 - y0)) * s)
                       .slice(3, (x0 - px0) * s, (x0 - px0 + (x1 - x0)) * s));
      }
    }
    return out;
  }
};

SuperResolver::SuperResolver(const StateDict& weights, const SrArchitecture& arch, const SrOptions& options)
    : impl_(std::make_unique<Impl>()) {
  impl_->arch = arch;
  impl_->options = options;
  impl_->options.device = resolve_device(options.device);
  if (impl_->options.device == Device::kCuda) {
    if (!cuda_available()) fail(ErrorKind::kBadInput, "device cuda was asked for but no CUDA device is available");
    impl_->device = at::Device(at::kCUDA, 0);
  }
  if (options.precision != Precision::kFloat32) {
    if (impl_->options.device != Device::kCuda) {
      fail(ErrorKind::kBadInput, "fp16/bf16 inference needs the cuda device; use fp32 on cpu");
    }
    impl_->dtype = options.precision == Precision::kFloat16 ? at::kHalf : at::kBFloat16;
  }
  c10::InferenceMode guard;
  for (const auto& [name, shape] : expected_tensors(arch)) {
    auto it = weights.find(name);
    if (it == weights.end()) {
      fail(ErrorKind::kBadInput, "the weights do not fit " + arch.describe() + ": tensor " + name + " is missing");
    }
    if (it->second.shape != shape) {
      fail(ErrorKind::kBadInput, "the weights do not fit " + arch.describe() + ": tensor " + name + " has shape " +
                                     shape_text(it->second.shape) + ", expected " + shape_text(shape));
    }
    at::Tensor t = at::from_blob(const_cast<float*>(it->second.values.data()), shape, at::kFloat).clone();
    t = t.to(impl_->device, impl_->dtype);
    if (shape.size() == 4 && impl_->device.is_cuda() && options.channels_last) {
      t = t.contiguous(at::MemoryFormat::ChannelsLast);
    }
    impl_->w.emplace(name, t);
  }
}

SuperResolver::~SuperResolver() = default;

const SrArchitecture& SuperResolver::architecture() const { return impl_->arch; }
int SuperResolver::scale() const { return impl_->arch.scale; }
std::string SuperResolver::device_name() const { return impl_->device.str(); }

std::vector<float> SuperResolver::run(const float* input, int n, int h, int w) {
  c10::InferenceMode guard;
  at::Tensor x = at::from_blob(const_cast<float*>(input), {n, 3, h, w}, at::kFloat).to(impl_->device, impl_->dtype);
  if (impl_->device.is_cuda() && impl_->options.channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
  const at::Tensor y = impl_->run(x).to(at::kCPU).contiguous();
  return std::vector<float>(y.data_ptr<float>(), y.data_ptr<float>() + y.numel());
}

void SuperResolver::run_rgb24(const std::vector<const uint8_t*>& inputs, int h, int w, int in_stride,
                              const std::vector<uint8_t*>& outputs, int out_stride) {
  c10::InferenceMode guard;
  const int64_t n = static_cast<int64_t>(inputs.size());
  // Pack the batch as N x H x W x 3 bytes, then convert on the device.
  at::Tensor packed = at::empty({n, h, w, 3}, at::kByte);
  for (int64_t i = 0; i < n; ++i) {
    uint8_t* dst = packed[i].data_ptr<uint8_t>();
    for (int y = 0; y < h; ++y) std::memcpy(dst + static_cast<size_t>(y) * w * 3, inputs[i] + static_cast<size_t>(y) * in_stride, w * 3);
  }
  at::Tensor x = packed.to(impl_->device).permute({0, 3, 1, 2}).to(impl_->dtype).div_(255.0);
  x = x.contiguous(impl_->device.is_cuda() && impl_->options.channels_last ? at::MemoryFormat::ChannelsLast
                                                                          : at::MemoryFormat::Contiguous);
  const at::Tensor y = impl_->run(x).clamp_(0, 1).mul_(255.0).round_().to(at::kByte).permute({0, 2, 3, 1}).contiguous().to(at::kCPU);
  const int s = impl_->arch.scale;
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* src = y[i].data_ptr<uint8_t>();
    for (int r = 0; r < h * s; ++r) {
      std::memcpy(outputs[i] + static_cast<size_t>(r) * out_stride, src + static_cast<size_t>(r) * w * s * 3, w * s * 3);
    }
  }
}

}  // namespace reelscale::infer
