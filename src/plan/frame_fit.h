// plan/frame_fit.h — a whole-frame figure refit from timed chunks: per-frame ms as
// fixed + per_size x size factor + per_source x source megapixels decoded per frame, each
// term kept >= 0. Fitted for relative error (a 20 ms frame off by 5 ms counts as much as a
// 200 ms frame off by 50), and robust: samples far off the fit (a chunk that shared its
// cores with something else) count less.
#pragma once

#include <optional>
#include <vector>

namespace reelscale::plan {

struct FrameSample {
  double size_factor = 0;    // the cell's output-size factor ((pixels / reference)^exponent)
  double source_mpixels = 0; // source megapixels decoded per output frame
  double ms = 0;             // measured steady per-frame time
  double weight = 1;         // frames behind it
};

struct FrameLine {
  double fixed_ms = 0;
  double per_size_ms = 0;
  double per_source_mpixel_ms = 0;
  double ms(const FrameSample& s) const {
    return fixed_ms + per_size_ms * s.size_factor + per_source_mpixel_ms * s.source_mpixels;
  }
};

// The fit, or nullopt when there is nothing to fit a line through (no timed samples, or
// all at one size: a correction by one factor keeps the cell's measured shape then).
// A term whose variable does not spread (its largest value under 1.5x its smallest) is
// left out: it cannot be told apart from the fixed part.
std::optional<FrameLine> fit_frame_line(const std::vector<FrameSample>& samples);

// The weighted median of values (weights > 0); 1 for none.
double weighted_median(std::vector<std::pair<double, double>> value_weight);

}  // namespace reelscale::plan
