// infer/darknet_network.cpp — cfg parsing, weight loading, per-size buffer planning and the
// layer loop of the Darknet CPU engine. The semantics follow Darknet's own definitions: `pad=1`
// means size/2, max pooling pads size-1 in total, batch norm divides by sqrt(var) + 1e-6, leaky
// slope 0.1, yolo boxes are (cell + sigmoid) / grid and exp(t) * anchor / input size.
#include "infer/darknet_network.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "common/error.h"
#include "infer/darknet_kernels.h"

namespace reelscale::infer {
namespace {

using darknet::Activation;

struct Section {
  std::string type;
  int line = 0;
  std::map<std::string, std::string> options;
};

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

std::vector<Section> read_cfg(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(ErrorKind::kNotFound, "cannot open detector cfg " + path);
  std::vector<Section> sections;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    line = trim(line.substr(0, line.find_first_of("#;")));
    if (line.empty()) continue;
    if (line.front() == '[') {
      if (line.back() != ']') fail(ErrorKind::kBadInput, path + ":" + std::to_string(number) + ": unterminated section");
      sections.push_back({line.substr(1, line.size() - 2), number, {}});
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string::npos || sections.empty())
      fail(ErrorKind::kBadInput, path + ":" + std::to_string(number) + ": expected key=value inside a section");
    sections.back().options[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  if (sections.empty() || (sections.front().type != "net" && sections.front().type != "network"))
    fail(ErrorKind::kBadInput, path + ": the first section must be [net]");
  return sections;
}

// Typed access to one section's options, with errors that name the section and its line.
class Options {
 public:
  Options(const Section& s, const std::string& path) : s_(s), where_(path + ":" + std::to_string(s.line) + " [" + s.type + "]") {}
  bool has(const std::string& key) const { return s_.options.count(key) > 0; }
  int integer(const std::string& key, int fallback) const {
    const auto it = s_.options.find(key);
    if (it == s_.options.end()) return fallback;
    try {
      size_t used = 0;
      const int v = std::stoi(it->second, &used);
      if (used == it->second.size()) return v;
    } catch (const std::exception&) {
    }
    bad(key + " = " + it->second + " is not an integer");
  }
  float number(const std::string& key, float fallback) const {
    const auto it = s_.options.find(key);
    if (it == s_.options.end()) return fallback;
    try {
      return std::stof(it->second);
    } catch (const std::exception&) {
      bad(key + " = " + it->second + " is not a number");
    }
  }
  std::string text(const std::string& key, const std::string& fallback) const {
    const auto it = s_.options.find(key);
    return it == s_.options.end() ? fallback : it->second;
  }
  std::vector<float> list(const std::string& key) const {
    std::vector<float> values;
    std::stringstream items(text(key, ""));
    std::string item;
    while (std::getline(items, item, ',')) {
      item = trim(item);
      if (item.empty()) continue;
      try {
        values.push_back(std::stof(item));
      } catch (const std::exception&) {
        bad(key + " has a non-number entry '" + item + "'");
      }
    }
    return values;
  }
  // A list of integers (layer indices, anchor masks): a fraction or a value beyond an
  // int is a bad file, not a cast.
  std::vector<int> integers(const std::string& key, const std::string& refusal) const {
    std::vector<int> out;
    for (float v : list(key)) {
      if (!(std::fabs(v) < 1e6f) || v != std::floor(v)) bad(refusal);
      out.push_back(static_cast<int>(v));
    }
    return out;
  }
  [[noreturn]] void bad(const std::string& what) const { fail(ErrorKind::kBadInput, where_ + ": " + what); }

 private:
  const Section& s_;
  std::string where_;
};

Activation parse_activation(const Options& o) {
  const std::string name = o.text("activation", "logistic");
  if (name == "leaky") return Activation::kLeaky;
  if (name == "linear") return Activation::kLinear;
  if (name == "relu") return Activation::kRelu;
  o.bad("activation " + name + " is not supported (leaky, linear, relu)");
}

// Bounds that keep every size computation far from overflow; real detectors are far inside them.
constexpr int kMaxChannels = 65536;
constexpr int kMaxKernel = 31;
constexpr int kMaxInputSide = 8192;

enum class Kind { kConvolution, kShortcut, kRoute, kUpsample, kMaxPool, kDropout, kYolo };

struct Layer {
  Kind kind = Kind::kDropout;
  int channels = 0;          // output channels
  std::vector<int> sources;  // absolute layer indices read; -1 is the network input
  // convolution
  int filters = 0, kernel = 1, stride = 1, pad = 0, in_channels = 0;
  bool depthwise = false, batch_norm = false;
  Activation activation = Activation::kLinear;
  std::vector<float> weights, bias;  // batch norm folded; packed for pointwise unless depthwise
  // upsample factor; max pool total padding
  int factor = 2, pool_padding = 0;
  // yolo
  std::vector<int> mask;
  std::vector<float> anchors;
  int classes = 0;
  float scale_xy = 1;
  // A 1x1 convolution over every pixel: a plain matrix product, no im2col.
  bool is_pointwise() const { return !depthwise && kernel == 1 && stride == 1 && pad == 0; }
};

int resolve_index(const Options& o, int here, int index) {
  const int absolute = index < 0 ? here + index : index;
  if (absolute < 0 || absolute >= here) o.bad("layer index " + std::to_string(index) + " does not name an earlier layer");
  return absolute;
}

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

}  // namespace

struct DarknetNetwork::Impl {
  int net_width = 0, net_height = 0, net_channels = 3;
  std::vector<Layer> layers;

  // Per input size: the shape of each layer's output, where it lives, and scratch space.
  struct Shape {
    int channels = 0, height = 0, width = 0;
    size_t plane() const { return static_cast<size_t>(height) * width; }
    size_t stride() const { return darknet::padded_plane(plane()); }
  };
  int planned_width = 0, planned_height = 0;
  Shape input_shape;
  std::vector<Shape> shapes;   // per layer
  std::vector<int> buffer_of;  // per layer; input uses input_buffer
  int input_buffer = 0;
  std::vector<std::vector<float>> buffers;
  std::vector<float> scratch;
  std::vector<YoloHeadOutput> heads;

  const Shape& shape_of(int layer) const { return layer < 0 ? input_shape : shapes[layer]; }
  float* data_of(int layer) { return buffers[layer < 0 ? input_buffer : buffer_of[layer]].data(); }

  void build(const std::vector<Section>& sections, const std::string& path);
  void load_weights(const std::string& path);
  void plan(int width, int height);
  // A layer's input and output sizes with its kernel, stride and padding.
  darknet::Geometry geometry(int index) const {
    const Layer& l = layers[index];
    const Shape &in = shape_of(l.sources.front()), &out = shapes[index];
    return {in.height, in.width, out.height, out.width, l.kernel, l.stride, l.pad};
  }
  void run_layer(int index);
  void decode_yolo(int index, YoloHeadOutput& head);
};

// A [yolo] section: its anchors, mask and classes, checked against the layer before it.
Layer yolo_head(const Options& o, int previous, int previous_channels) {
  Layer layer;
  layer.kind = Kind::kYolo;
  layer.sources = {previous};
  layer.classes = o.integer("classes", 20);
  if (layer.classes > kMaxChannels) o.bad("too many classes");
  layer.anchors = o.list("anchors");
  layer.mask = o.integers("mask", "mask values must be anchor indices");
  layer.scale_xy = o.number("scale_x_y", 1);
  if (o.has("new_coords") && o.integer("new_coords", 0) != 0) o.bad("new_coords is not supported");
  if (layer.mask.empty()) {
    for (int a = 0; a < static_cast<int>(layer.anchors.size() / 2); ++a) layer.mask.push_back(a);
  }
  for (int m : layer.mask)
    if (m < 0 || 2 * m + 1 >= static_cast<int>(layer.anchors.size())) o.bad("mask entry " + std::to_string(m) + " has no anchor");
  const int expected = static_cast<int>(layer.mask.size()) * (5 + layer.classes);
  if (layer.classes < 1 || previous_channels != expected)
    o.bad("the layer before has " + std::to_string(previous_channels) + " channels, a head of " +
          std::to_string(layer.mask.size()) + " anchors and " + std::to_string(layer.classes) + " classes needs " +
          std::to_string(expected));
  layer.channels = previous_channels;
  return layer;
}

void DarknetNetwork::Impl::build(const std::vector<Section>& sections, const std::string& path) {
  const Options net(sections.front(), path);
  net_width = net.integer("width", 0);
  net_height = net.integer("height", 0);
  net_channels = net.integer("channels", 3);
  if (net_channels != 3) net.bad("channels must be 3");
  if (net_width < 0 || net_width > kMaxInputSide || net_height < 0 || net_height > kMaxInputSide)
    net.bad("width and height must be within 0.." + std::to_string(kMaxInputSide));
  auto channels_of = [&](int layer) { return layer < 0 ? net_channels : layers[layer].channels; };
  for (size_t s = 1; s < sections.size(); ++s) {
    const Options o(sections[s], path);
    const std::string& type = sections[s].type;
    const int here = static_cast<int>(layers.size());
    Layer layer;
    const int previous = here - 1;
    if (type == "convolutional") {
      layer.kind = Kind::kConvolution;
      layer.sources = {previous};
      layer.in_channels = channels_of(previous);
      layer.filters = o.integer("filters", 1);
      layer.kernel = o.integer("size", 1);
      layer.stride = o.integer("stride", 1);
      layer.pad = o.integer("pad", 0) ? layer.kernel / 2 : o.integer("padding", 0);
      layer.batch_norm = o.integer("batch_normalize", 0) != 0;
      layer.activation = parse_activation(o);
      const int groups = o.integer("groups", 1);
      if (layer.filters < 1 || layer.kernel < 1 || layer.stride < 1 || layer.pad < 0)
        o.bad("filters, size and stride must be positive");
      if (layer.filters > kMaxChannels || layer.kernel > kMaxKernel || layer.stride > kMaxKernel || layer.pad > kMaxKernel)
        o.bad("filters must be at most " + std::to_string(kMaxChannels) + ", size, stride and padding at most " +
              std::to_string(kMaxKernel));
      if (o.has("stride_x") || o.has("stride_y") || o.has("dilation")) o.bad("stride_x, stride_y and dilation are not supported");
      if (groups == layer.in_channels && layer.filters == layer.in_channels && groups > 1) {
        layer.depthwise = true;
        if (layer.kernel > 7 || layer.stride > 2) o.bad("depthwise convolutions need size <= 7 and stride 1 or 2");
      } else if (groups != 1) {
        o.bad("groups = " + std::to_string(groups) + " is neither 1 nor depthwise (" + std::to_string(layer.in_channels) +
              " channels)");
      }
      layer.channels = layer.filters;
    } else if (type == "shortcut") {
      layer.kind = Kind::kShortcut;
      layer.sources = {previous, resolve_index(o, here, o.integer("from", 0))};
      if (o.text("activation", "linear") != "linear") o.bad("only activation = linear is supported");
      if (o.has("weights_type")) o.bad("weighted shortcuts are not supported");
      if (channels_of(layer.sources[0]) != channels_of(layer.sources[1])) o.bad("the two inputs differ in channels");
      layer.channels = channels_of(previous);
    } else if (type == "route") {
      layer.kind = Kind::kRoute;
      for (int index : o.integers("layers", "layers must hold layer indices")) layer.sources.push_back(resolve_index(o, here, index));
      if (layer.sources.empty()) o.bad("layers is empty");
      if (o.integer("groups", 1) != 1) o.bad("grouped routes are not supported");
      for (int source : layer.sources) layer.channels += channels_of(source);
      if (layer.channels > kMaxChannels) o.bad("more than " + std::to_string(kMaxChannels) + " channels");
    } else if (type == "upsample") {
      layer.kind = Kind::kUpsample;
      layer.sources = {previous};
      layer.factor = o.integer("stride", 2);
      if (layer.factor < 1 || layer.factor > kMaxKernel) o.bad("only upsampling by an integer 1.." + std::to_string(kMaxKernel) + " is supported");
      if (o.number("scale", 1) != 1) o.bad("scale is not supported");
      layer.channels = channels_of(previous);
    } else if (type == "maxpool") {
      layer.kind = Kind::kMaxPool;
      layer.sources = {previous};
      layer.stride = o.integer("stride", 1);
      layer.kernel = o.integer("size", layer.stride);
      layer.pool_padding = o.integer("padding", layer.kernel - 1);
      if (layer.stride < 1 || layer.kernel < 1 || layer.kernel > kMaxKernel || layer.stride > kMaxKernel ||
          layer.pool_padding < 0 || (layer.pool_padding + 1) / 2 >= layer.kernel)  // every window meets the image
        o.bad("size, stride and padding do not make a valid pooling window");
      layer.channels = channels_of(previous);
    } else if (type == "dropout") {
      layer.kind = Kind::kDropout;
      layer.sources = {previous};
      layer.channels = channels_of(previous);
    } else if (type == "yolo") {
      layer = yolo_head(o, previous, channels_of(previous));
    } else {
      o.bad("section type is not supported");
    }
    layers.push_back(std::move(layer));
  }
  if (std::none_of(layers.begin(), layers.end(), [](const Layer& l) { return l.kind == Kind::kYolo; }))
    fail(ErrorKind::kBadInput, path + ": the network has no [yolo] head");
}

void DarknetNetwork::Impl::load_weights(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::kNotFound, "cannot open detector weights " + path);
  int32_t version[3] = {0, 0, 0};
  in.read(reinterpret_cast<char*>(version), sizeof version);
  uint64_t seen = 0;
  const bool wide_seen = static_cast<int64_t>(version[0]) * 10 + version[1] >= 2 && version[0] < 1000 && version[1] < 1000;
  in.read(reinterpret_cast<char*>(&seen), wide_seen ? 8 : 4);
  if (!in) fail(ErrorKind::kBadInput, "detector weights " + path + " are shorter than their header");
  const std::streampos body = in.tellg();
  in.seekg(0, std::ios::end);
  const int64_t available = (static_cast<int64_t>(in.tellg()) - body) / 4;
  in.seekg(body);
  int64_t needed = 0;
  for (const Layer& l : layers) {
    if (l.kind != Kind::kConvolution) continue;
    const int64_t per_filter = (l.depthwise ? 1 : l.in_channels) * static_cast<int64_t>(l.kernel) * l.kernel;
    needed += l.filters * ((l.batch_norm ? 4 : 1) + per_filter);
  }
  if (available != needed)
    fail(ErrorKind::kBadInput, "detector weights " + path + " hold " + std::to_string(available) +
                                   " values after the header; the cfg needs " + std::to_string(needed));
  auto read = [&](size_t n) {
    std::vector<float> values(n);
    in.read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(n * sizeof(float)));
    if (!in) fail(ErrorKind::kIo, "cannot read detector weights " + path);
    return values;
  };
  for (Layer& l : layers) {
    if (l.kind != Kind::kConvolution) continue;
    const size_t per_filter = (l.depthwise ? 1 : l.in_channels) * static_cast<size_t>(l.kernel) * l.kernel;
    l.bias = read(l.filters);
    std::vector<float> scale(l.filters, 1.0f), mean(l.filters, 0.0f), variance;
    if (l.batch_norm) {
      scale = read(l.filters);
      mean = read(l.filters);
      variance = read(l.filters);
    }
    std::vector<float> weights = read(l.filters * per_filter);
    if (l.batch_norm) {
      for (int f = 0; f < l.filters; ++f) {
        const float k = scale[f] / (std::sqrt(variance[f]) + 0.000001f);
        for (size_t i = 0; i < per_filter; ++i) weights[f * per_filter + i] *= k;
        l.bias[f] -= mean[f] * k;
      }
    }
    l.weights = l.depthwise ? std::move(weights)
                            : darknet::pack_pointwise_weights(weights.data(), l.filters, static_cast<int>(per_filter));
  }
}

void DarknetNetwork::Impl::plan(int width, int height) {
  input_shape = {net_channels, height, width};
  shapes.assign(layers.size(), {});
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    const Shape& in = shape_of(l.sources.front());
    Shape out{l.channels, in.height, in.width};
    auto mismatch = [&](const std::string& what) {
      fail(ErrorKind::kBadInput, "a " + std::to_string(width) + "x" + std::to_string(height) + " input does not fit layer " +
                                     std::to_string(i) + ": " + what);
    };
    switch (l.kind) {
      case Kind::kConvolution:
        out.height = (in.height + 2 * l.pad - l.kernel) / l.stride + 1;
        out.width = (in.width + 2 * l.pad - l.kernel) / l.stride + 1;
        break;
      case Kind::kMaxPool:
        out.height = (in.height + l.pool_padding - l.kernel) / l.stride + 1;
        out.width = (in.width + l.pool_padding - l.kernel) / l.stride + 1;
        break;
      case Kind::kUpsample:
        out.height = in.height * l.factor;
        out.width = in.width * l.factor;
        break;
      case Kind::kShortcut:
      case Kind::kRoute:
        for (int s : l.sources)
          if (shape_of(s).height != in.height || shape_of(s).width != in.width) mismatch("its inputs differ in size");
        break;
      case Kind::kDropout:
      case Kind::kYolo: break;
    }
    if (out.height < 1 || out.width < 1) mismatch("the image is too small");
    shapes[i] = out;
  }

  // Buffers: a layer that only passes its input on (dropout, a one-input route, yolo) shares its
  // input's buffer; every other output takes the smallest free buffer that fits and frees its
  // inputs' buffers after their last reader.
  auto passes_through = [&](const Layer& l) {
    return l.kind == Kind::kDropout || l.kind == Kind::kYolo || (l.kind == Kind::kRoute && l.sources.size() == 1);
  };
  std::vector<int> owner(layers.size());  // the layer whose output buffer a layer's output is
  std::vector<int> last_read(layers.size() + 1, -1);  // by owner + 1 (0: the input)
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    owner[i] = passes_through(l) ? (l.sources.front() < 0 ? -1 : owner[l.sources.front()]) : static_cast<int>(i);
    for (int s : l.sources) last_read[(s < 0 ? -1 : owner[s]) + 1] = static_cast<int>(i);
  }
  std::vector<size_t> capacity;
  std::vector<int> free_buffers;
  auto take = [&](size_t size) {
    int best = -1;
    for (size_t f = 0; f < free_buffers.size(); ++f) {
      const int b = free_buffers[f];
      if (capacity[b] >= size && (best < 0 || capacity[b] < capacity[free_buffers[best]])) best = static_cast<int>(f);
    }
    if (best >= 0) {
      const int b = free_buffers[best];
      free_buffers.erase(free_buffers.begin() + best);
      return b;
    }
    capacity.push_back(size);
    return static_cast<int>(capacity.size()) - 1;
  };
  input_buffer = take(input_shape.channels * input_shape.stride());
  buffer_of.assign(layers.size(), -1);
  size_t scratch_size = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    if (owner[i] != static_cast<int>(i)) {
      buffer_of[i] = l.sources.front() < 0 ? input_buffer : buffer_of[l.sources.front()];
    } else {
      buffer_of[i] = take(shapes[i].channels * shapes[i].stride());
    }
    if (l.kind == Kind::kConvolution) {
      if (l.depthwise) {
        scratch_size = std::max(scratch_size, darknet::depthwise_scratch_size(geometry(static_cast<int>(i))));
      } else if (!l.is_pointwise()) {  // unfolded by im2col into the scratch
        scratch_size = std::max(scratch_size, static_cast<size_t>(l.in_channels) * l.kernel * l.kernel * shapes[i].stride());
      }
    }
    std::vector<int> done;
    for (int s : l.sources) done.push_back(s < 0 ? -1 : owner[s]);
    if (owner[i] == static_cast<int>(i)) done.push_back(static_cast<int>(i));  // never read: free at once
    for (int o : done) {
      const int reader = last_read[o + 1];
      if (reader > static_cast<int>(i)) continue;
      const int b = o < 0 ? input_buffer : buffer_of[o];
      if (std::find(free_buffers.begin(), free_buffers.end(), b) == free_buffers.end()) free_buffers.push_back(b);
    }
  }
  buffers.assign(capacity.size(), {});
  for (size_t b = 0; b < capacity.size(); ++b) buffers[b].assign(capacity[b], 0.0f);
  scratch.assign(scratch_size, 0.0f);
  planned_width = width;
  planned_height = height;
}

void DarknetNetwork::Impl::run_layer(int index) {
  const Layer& l = layers[index];
  const Shape& out = shapes[index];
  const Shape& in = shape_of(l.sources.front());
  float* dst = data_of(index);
  const float* src = data_of(l.sources.front());
  darknet::Geometry g = geometry(index);
  switch (l.kind) {
    case Kind::kConvolution:
      if (l.depthwise) {
        darknet::depthwise(l.weights.data(), l.bias.data(), l.filters, src, in.stride(), g, dst, out.stride(), l.activation,
                           scratch.data());
      } else if (l.is_pointwise()) {
        darknet::pointwise(l.weights.data(), l.bias.data(), l.filters, l.in_channels, src, in.stride(), dst, out.stride(),
                           out.plane(), l.activation);
      } else {
        darknet::im2col(src, in.stride(), l.in_channels, g, scratch.data(), out.stride());
        darknet::pointwise(l.weights.data(), l.bias.data(), l.filters, l.in_channels * l.kernel * l.kernel, scratch.data(),
                           out.stride(), dst, out.stride(), out.plane(), l.activation);
      }
      break;
    case Kind::kShortcut:
      darknet::add(src, data_of(l.sources[1]), out.stride(), out.channels, out.plane(), dst);
      break;
    case Kind::kRoute:
      if (l.sources.size() > 1) {
        float* at = dst;
        for (int s : l.sources) {
          const size_t n = shape_of(s).channels * shape_of(s).stride();
          std::memcpy(at, data_of(s), n * sizeof(float));
          at += n;
        }
      }
      break;
    case Kind::kUpsample:
      darknet::upsample(src, in.stride(), in.channels, in.height, in.width, l.factor, dst, out.stride());
      break;
    case Kind::kMaxPool:
      g.pad = l.pool_padding / 2;
      darknet::max_pool(src, in.stride(), in.channels, g, dst, out.stride());
      break;
    case Kind::kDropout:
    case Kind::kYolo: break;
  }
}

void DarknetNetwork::Impl::decode_yolo(int index, YoloHeadOutput& head) {
  const Layer& l = layers[index];
  const Shape& s = shapes[index];
  const float* data = data_of(index);
  head.grid_h = s.height;
  head.grid_w = s.width;
  head.anchors = static_cast<int>(l.mask.size());
  head.classes = l.classes;
  const int row_size = head.row_size();
  head.rows.resize(static_cast<size_t>(s.height) * s.width * head.anchors * row_size);
  const size_t stride = s.stride();
  const float shift = (l.scale_xy - 1) / 2;
  float* row = head.rows.data();
  for (int y = 0; y < s.height; ++y) {
    for (int x = 0; x < s.width; ++x) {
      const size_t cell = static_cast<size_t>(y) * s.width + x;
      for (int a = 0; a < head.anchors; ++a, row += row_size) {
        auto at = [&](int entry) { return data[(a * row_size + entry) * stride + cell]; };
        row[0] = (x + sigmoid(at(0)) * l.scale_xy - shift) / s.width;
        row[1] = (y + sigmoid(at(1)) * l.scale_xy - shift) / s.height;
        row[2] = std::exp(at(2)) * l.anchors[2 * l.mask[a]] / planned_width;
        row[3] = std::exp(at(3)) * l.anchors[2 * l.mask[a] + 1] / planned_height;
        row[4] = sigmoid(at(4));
        for (int c = 0; c < l.classes; ++c) row[5 + c] = row[4] * sigmoid(at(5 + c));
      }
    }
  }
}

DarknetNetwork::DarknetNetwork(const std::string& cfg_path, const std::string& weights_path)
    : impl_(std::make_unique<Impl>()) {
  impl_->build(read_cfg(cfg_path), cfg_path);
  impl_->load_weights(weights_path);
  // Buffers for the size the network was trained at, so the first frame pays no allocation.
  if (impl_->net_width > 0 && impl_->net_height > 0) impl_->plan(impl_->net_width, impl_->net_height);
}

DarknetNetwork::~DarknetNetwork() = default;

DarknetNetwork::Work DarknetNetwork::multiply_adds(int width, int height) {
  Impl& m = *impl_;
  if (width != m.planned_width || height != m.planned_height) m.plan(width, height);
  Work work;
  for (int i = 0; i < static_cast<int>(m.layers.size()); ++i) {
    const Layer& l = m.layers[i];
    if (l.kind != Kind::kConvolution) continue;
    const int64_t per_output = static_cast<int64_t>(l.depthwise ? 1 : l.in_channels) * l.kernel * l.kernel;
    const int64_t n = static_cast<int64_t>(m.shapes[i].channels) * static_cast<int64_t>(m.shapes[i].plane()) * per_output;
    (l.depthwise ? work.depthwise : l.is_pointwise() ? work.pointwise : work.other) += n;
  }
  return work;
}

int DarknetNetwork::input_width() const { return impl_->net_width; }
int DarknetNetwork::input_height() const { return impl_->net_height; }
int DarknetNetwork::input_channels() const { return impl_->net_channels; }

const std::vector<YoloHeadOutput>& DarknetNetwork::forward(const float* planes, int width, int height) {
  Impl& m = *impl_;
  if (width < 1 || height < 1 || width > kMaxInputSide || height > kMaxInputSide)
    fail(ErrorKind::kBadInput, "detector input " + std::to_string(width) + "x" + std::to_string(height) +
                                   " is outside 1.." + std::to_string(kMaxInputSide) + " per side");
  if (width != m.planned_width || height != m.planned_height) m.plan(width, height);
  float* input = m.buffers[m.input_buffer].data();
  const size_t plane = static_cast<size_t>(width) * height;
  for (int c = 0; c < m.net_channels; ++c)
    std::memcpy(input + c * m.input_shape.stride(), planes + c * plane, plane * sizeof(float));
  // The heads keep their row storage from frame to frame (decode_yolo only resizes it).
  size_t head = 0;
  for (int i = 0; i < static_cast<int>(m.layers.size()); ++i) {
    m.run_layer(i);
    if (m.layers[i].kind != Kind::kYolo) continue;
    if (head == m.heads.size()) m.heads.emplace_back();
    m.decode_yolo(i, m.heads[head++]);
  }
  return m.heads;
}

}  // namespace reelscale::infer
