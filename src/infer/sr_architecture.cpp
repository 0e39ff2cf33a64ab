// infer/sr_architecture.cpp — architecture descriptions and their multiply-add counts.
#include "infer/sr_architecture.h"

#include <map>
#include <sstream>

#include "common/error.h"

namespace reelscale::infer {

namespace {
// A 3x3 convolution from `in` to `out` channels, per pixel it runs at.
double conv3(double in, double out) { return 9.0 * in * out; }
}  // namespace

std::string SrArchitecture::describe() const {
  std::ostringstream os;
  if (kind == Kind::kCompact) {
    os << "SRVGGNetCompact x" << scale << " (" << num_feat << " features, " << num_conv << " body convs)";
  } else {
    os << "RRDBNet x" << scale << " (" << num_feat << " features, " << num_block << " blocks, grow " << num_grow_ch << ")";
  }
  return os.str();
}

double SrArchitecture::macs_per_input_pixel() const {
  const double f = num_feat;
  if (kind == Kind::kCompact) {
    // conv 3 -> F, num_conv x (F -> F), conv F -> 3 s^2, then pixel shuffle.
    return conv3(3, f) + num_conv * conv3(f, f) + conv3(f, 3.0 * scale * scale);
  }
  // RRDBNet. x2 unshuffles its input by 2 first, so its body runs on a quarter of the pixels
  // with 12 input channels; both then upsample x2 twice (convs at 4x and 16x the body's pixels).
  const double g = num_grow_ch;
  const double body_share = scale == 2 ? 0.25 : 1.0;
  const double in_ch = scale == 2 ? 12 : 3;
  const double rdb = conv3(f, g) + conv3(f + g, g) + conv3(f + 2 * g, g) + conv3(f + 3 * g, g) + conv3(f + 4 * g, f);
  const double body = conv3(in_ch, f) + num_block * 3 * rdb + conv3(f, f);
  const double upsampling = 4 * conv3(f, f) + 16 * (conv3(f, f) + conv3(f, f) + conv3(f, 3));
  return body_share * (body + upsampling);
}

namespace {

// The published models: the one list both lookups below read.
const std::map<std::string, SrArchitecture>& published() {
  static const std::map<std::string, SrArchitecture> models = [] {
    std::map<std::string, SrArchitecture> m;
    m["realesr-animevideov3"] = SrArchitecture{};  // compact, 16 convs, x4
    SrArchitecture general;
    general.num_conv = 32;
    m["realesr-general-x4v3"] = general;
    SrArchitecture rrdb;
    rrdb.kind = SrArchitecture::Kind::kRrdb;
    m["RealESRGAN_x4plus"] = rrdb;
    rrdb.scale = 2;
    m["RealESRGAN_x2plus"] = rrdb;
    return m;
  }();
  return models;
}

}  // namespace

bool is_known_architecture(const std::string& name) { return published().count(name) > 0; }

SrArchitecture architecture_by_name(const std::string& name) {
  const auto it = published().find(name);
  if (it != published().end()) return it->second;
  std::string known;
  for (const auto& [n, arch] : published()) known += (known.empty() ? "" : ", ") + n;
  fail(ErrorKind::kBadInput, "unknown model architecture '" + name + "' (known: " + known + ")");
}

}  // namespace reelscale::infer
