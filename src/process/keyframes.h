// process/keyframes.h — keyframed values over the output timeline: linear or eased
// interpolation between neighbours, holding the first value before the first keyframe
// and the last after the last. Pure arithmetic, no FFmpeg.
#pragma once

#include <array>
#include <string>
#include <vector>

namespace reelscale::process {

enum class Easing { kLinear, kEased };
Easing parse_easing(const std::string& text);  // "linear", "eased" (smoothstep in-out)
const char* easing_name(Easing e);

// A keyframe of N channels at a time in seconds.
template <size_t N>
struct Keyframe {
  double time = 0;
  std::array<double, N> values{};
};

// Interpolated channels at time t. `keys` must be non-empty and sorted by time.
template <size_t N>
std::array<double, N> interpolate(const std::vector<Keyframe<N>>& keys, double t, Easing easing) {
  if (t <= keys.front().time) return keys.front().values;
  if (t >= keys.back().time) return keys.back().values;
  size_t i = 1;
  while (keys[i].time < t) ++i;  // keys[i-1].time < t <= keys[i].time
  const Keyframe<N>& a = keys[i - 1];
  const Keyframe<N>& b = keys[i];
  const double span = b.time - a.time;
  double u = span > 0 ? (t - a.time) / span : 1.0;
  if (easing == Easing::kEased) u = u * u * (3.0 - 2.0 * u);
  std::array<double, N> out{};
  for (size_t c = 0; c < N; ++c) out[c] = a.values[c] + (b.values[c] - a.values[c]) * u;
  return out;
}

}  // namespace reelscale::process
