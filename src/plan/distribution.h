// plan/distribution.h — a random quantity the cost model reasons about (a cold start,
// a download): constant, uniform, normal, lognormal, or an empirical sample set, with
// its CDF, quantiles, mean and sampling, and where the figure came from.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <random>
#include <string>
#include <vector>

namespace reelscale::plan {

// Where a figure came from, shown in reports beside it.
struct Provenance {
  std::string source;  // e.g. "old system: 180 frames in 122 s on T4"
  std::string date;    // e.g. "2025-06" or "2026-11-27"
  bool measured_by_us = false;
};

class Distribution {
 public:
  enum class Kind { kConstant, kUniform, kNormal, kLognormal, kSamples };

  static Distribution constant(double v);
  static Distribution uniform(double lo, double hi);
  static Distribution normal(double mean, double sd);
  // From the median and the 90th percentile (both > 0, p90 >= median).
  static Distribution lognormal(double median, double p90);
  static Distribution samples(std::vector<double> values);

  Kind kind() const { return kind_; }
  double mean() const;
  double cdf(double x) const;
  double quantile(double u) const;  // u in [0, 1]
  double sample(std::mt19937_64& rng) const;
  double lower() const;  // a value the quantity is (almost) never below
  double upper() const;  // a value it is (almost) never above
  // A copy with every value multiplied by k (k > 0).
  Distribution scaled(double k) const;
  std::string describe() const;
  const std::vector<double>& sample_values() const { return values_; }

  Provenance provenance;

 private:
  Kind kind_ = Kind::kConstant;
  double a_ = 0, b_ = 0;          // constant: a; uniform: [a, b]; normal: mean a, sd b; lognormal: mu a, sigma b
  std::vector<double> values_;    // samples, sorted
};

// JSON forms: a number (constant), {"constant": v}, {"uniform": [lo, hi]},
// {"normal": {"mean": m, "sd": s}}, {"lognormal": {"median": m, "p90": q}}, {"samples": [...]},
// each optionally with "source", "date", "measured": true. `field` names it in errors.
Distribution parse_distribution(const nlohmann::json& j, const std::string& field);
nlohmann::json to_json(const Distribution& d);

// Of n independent draws: the q-quantile and the mean of the largest, for draws of
// `a` (count na) and `b` (count nb) mixed — e.g. warm and cold container starts.
double max_quantile(const Distribution& a, int na, const Distribution& b, int nb, double q);
double max_mean(const Distribution& a, int na, const Distribution& b, int nb);

// The same for many counts at once, fast: the two CDFs are tabulated once on a grid and
// the maximum's CDF for (na, nb) is a product of powers built by repeated
// multiplication. The planner uses one per hardware type.
class MaxOfDraws {
 public:
  MaxOfDraws(const Distribution& a, const Distribution& b, int max_count);
  double mean(int na, int nb) const;
  double quantile(int na, int nb, double q) const;
  double p90(int na, int nb) const;
  int max_count() const { return max_count_; }

 private:
  const Distribution* a_;
  const Distribution* b_;
  int max_count_;
  double lo_ = 0, step_ = 0;
  std::vector<std::vector<double>> pow_a_, pow_b_;  // [k][i] = F(x_i)^k
  std::vector<double> means_;                        // [na * (max_count + 1) + nb], na + nb <= max_count
  std::vector<double> p90s_;                         // the same layout
};

}  // namespace reelscale::plan
