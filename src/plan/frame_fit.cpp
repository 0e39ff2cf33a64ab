// plan/frame_fit.cpp — robust, relative, non-negative least squares for a frame line.
#include "plan/frame_fit.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace reelscale::plan {

namespace {

constexpr int kTerms = 3;          // fixed, per size, per source megapixel
constexpr int kIterations = 8;     // reweighting rounds
constexpr double kOutlierScale = 2.0;  // residuals beyond this many median residuals are down-weighted

using Coefficients = std::array<double, kTerms>;

std::array<double, kTerms> terms(const FrameSample& s) { return {1.0, s.size_factor, s.source_mpixels}; }

FrameLine as_line(const Coefficients& c) { return {c[0], c[1], c[2]}; }

// Weighted least squares over the terms in `use` (a bit mask), by Gaussian elimination
// on the normal equations; nullopt when they are singular or a coefficient is negative.
std::optional<Coefficients> solve(const std::vector<FrameSample>& samples, const std::vector<double>& weights, int use) {
  std::array<int, kTerms> index{};
  int n = 0;
  for (int t = 0; t < kTerms; ++t) {
    if (use & (1 << t)) index[n++] = t;
  }
  double a[kTerms][kTerms + 1] = {};
  for (size_t i = 0; i < samples.size(); ++i) {
    const auto x = terms(samples[i]);
    for (int r = 0; r < n; ++r) {
      for (int c = 0; c < n; ++c) a[r][c] += weights[i] * x[index[r]] * x[index[c]];
      a[r][n] += weights[i] * x[index[r]] * samples[i].ms;
    }
  }
  for (int col = 0; col < n; ++col) {
    int pivot = col;
    for (int r = col + 1; r < n; ++r) {
      if (std::abs(a[r][col]) > std::abs(a[pivot][col])) pivot = r;
    }
    if (std::abs(a[pivot][col]) < 1e-12) return std::nullopt;
    std::swap(a[col], a[pivot]);
    for (int r = 0; r < n; ++r) {
      if (r == col) continue;
      const double f = a[r][col] / a[col][col];
      for (int c = col; c <= n; ++c) a[r][c] -= f * a[col][c];
    }
  }
  Coefficients out{};
  for (int r = 0; r < n; ++r) {
    out[index[r]] = a[r][n] / a[r][r];
    if (out[index[r]] < 0) return std::nullopt;
  }
  return out;
}

double weighted_error(const std::vector<FrameSample>& samples, const std::vector<double>& weights, const Coefficients& c) {
  double sum = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    const double d = as_line(c).ms(samples[i]) - samples[i].ms;
    sum += weights[i] * d * d;
  }
  return sum;
}

// The terms whose variable spreads enough to be fitted apart from the fixed part.
int fittable_terms(const std::vector<FrameSample>& samples) {
  int use = 1;
  for (int t = 1; t < kTerms; ++t) {
    double lo = 1e300, hi = 0;
    for (const FrameSample& s : samples) {
      lo = std::min(lo, terms(s)[t]);
      hi = std::max(hi, terms(s)[t]);
    }
    if (hi > 0 && hi >= 1.5 * lo) use |= 1 << t;
  }
  return use;
}

// The best non-negative fit over every subset of the usable terms.
std::optional<Coefficients> best_subset(const std::vector<FrameSample>& samples, const std::vector<double>& weights,
                                        int usable) {
  std::optional<Coefficients> best;
  double best_error = 0;
  for (int use = 1; use < (1 << kTerms); ++use) {
    if ((use & usable) != use) continue;
    const auto c = solve(samples, weights, use);
    if (!c) continue;
    const double e = weighted_error(samples, weights, *c);
    if (!best || e < best_error) best = c, best_error = e;
  }
  return best;
}

}  // namespace

std::optional<FrameLine> fit_frame_line(const std::vector<FrameSample>& samples) {
  std::vector<FrameSample> timed;
  for (const FrameSample& s : samples) {
    if (s.ms > 0 && s.weight > 0) timed.push_back(s);
  }
  if (timed.empty()) return std::nullopt;
  const int usable = fittable_terms(timed);
  if (usable == 1) return std::nullopt;  // one size: the cell's shape as measured is kept
  // Relative error: each sample weighted by its frames over the square of its size.
  std::vector<double> weights(timed.size());
  for (size_t i = 0; i < timed.size(); ++i) weights[i] = timed[i].weight / (timed[i].ms * timed[i].ms);
  std::optional<Coefficients> fit = best_subset(timed, weights, usable);
  for (int round = 0; fit && round < kIterations; ++round) {
    std::vector<std::pair<double, double>> residuals;
    std::vector<double> relative(timed.size());
    for (size_t i = 0; i < timed.size(); ++i) {
      const double predicted = std::max(1e-9, as_line(*fit).ms(timed[i]));
      relative[i] = std::abs(timed[i].ms - predicted) / predicted;
      residuals.push_back({relative[i], timed[i].weight});
    }
    const double cut = kOutlierScale * std::max(1e-6, weighted_median(residuals));
    for (size_t i = 0; i < timed.size(); ++i) {
      const double predicted = std::max(1e-9, as_line(*fit).ms(timed[i]));
      const double robust = relative[i] <= cut ? 1.0 : cut / relative[i];
      weights[i] = timed[i].weight * robust / (predicted * predicted);
    }
    if (auto next = best_subset(timed, weights, usable)) fit = next;
  }
  if (!fit) return std::nullopt;
  return as_line(*fit);
}

double weighted_median(std::vector<std::pair<double, double>> value_weight) {
  if (value_weight.empty()) return 1.0;
  std::sort(value_weight.begin(), value_weight.end());
  double total = 0;
  for (const auto& [v, w] : value_weight) total += w;
  double seen = 0;
  for (const auto& [v, w] : value_weight) {
    seen += w;
    if (seen >= total / 2) return v;
  }
  return value_weight.back().first;
}

}  // namespace reelscale::plan
