// media/rational.h — an exact fraction (frame rates, time bases) without FFmpeg types,
// so headers that describe media stay free of FFmpeg includes.
#pragma once

#include <cstdint>
#include <numeric>
#include <string>

namespace reelscale::media {

// 128-bit intermediates for exact timestamp arithmetic (a GCC/Clang extension).
__extension__ using Int128 = __int128;

struct Rational {
  int64_t num = 0;
  int64_t den = 1;

  double to_double() const { return den == 0 ? 0.0 : static_cast<double>(num) / den; }
  bool valid() const { return num > 0 && den > 0; }
  Rational reduced() const {
    const int64_t g = std::gcd(num, den);
    return g ? Rational{num / g, den / g} : *this;
  }
  std::string to_string() const { return std::to_string(num) + "/" + std::to_string(den); }
  friend bool operator==(const Rational& a, const Rational& b) {
    return static_cast<Int128>(a.num) * b.den == static_cast<Int128>(b.num) * a.den;
  }
};

// Parses "30", "30000/1001" or "29.97" (decimals become a fraction over 1000).
Rational parse_rational(const std::string& text);

}  // namespace reelscale::media
