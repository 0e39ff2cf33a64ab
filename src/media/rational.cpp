// media/rational.cpp — parsing frame rates.
#include "media/rational.h"

#include <cmath>

#include "common/error.h"

namespace reelscale::media {

namespace {
constexpr double kMaxDecimalRate = 1e9;
}  // namespace

Rational parse_rational(const std::string& text) {
  try {
    const auto slash = text.find('/');
    if (slash != std::string::npos) {
      size_t used = 0;
      const int64_t num = std::stoll(text.substr(0, slash), &used);
      if (used != slash) throw std::invalid_argument(text);
      const std::string den_text = text.substr(slash + 1);
      const int64_t den = std::stoll(den_text, &used);
      if (used != den_text.size()) throw std::invalid_argument(text);
      Rational r{num, den};
      if (!r.valid()) throw std::invalid_argument(text);
      return r.reduced();
    }
    size_t used = 0;
    const double value = std::stod(text, &used);
    // Bounded before rounding: llround of a value beyond int64 is undefined (fuzzing found "3e115").
    if (used != text.size() || !(value > 0) || !(value <= kMaxDecimalRate)) throw std::invalid_argument(text);
    return Rational{std::llround(value * 1000), 1000}.reduced();
  } catch (const std::logic_error&) {
    fail(ErrorKind::kBadInput, "not a positive rate: '" + text + "' (use 30, 30000/1001 or 29.97)");
  }
}

}  // namespace reelscale::media
