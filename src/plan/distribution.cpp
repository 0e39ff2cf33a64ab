// plan/distribution.cpp — distributions and order statistics of their maxima.
#include "plan/distribution.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.h"

namespace reelscale::plan {

namespace {
constexpr double kZ90 = 1.2815515655446004;  // standard normal 90th percentile

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

// Acklam's rational approximation of the standard normal quantile (|error| < 1.2e-9).
double normal_quantile(double p) {
  p = std::clamp(p, 1e-12, 1 - 1e-12);
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  const double lo = 0.02425, hi = 1 - lo;
  if (p < lo) {
    const double q = std::sqrt(-2 * std::log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > hi) {
    const double q = std::sqrt(-2 * std::log(1 - p));
    return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const double q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}
}  // namespace

Distribution Distribution::constant(double v) {
  Distribution d;
  d.kind_ = Kind::kConstant;
  d.a_ = v;
  return d;
}
Distribution Distribution::uniform(double lo, double hi) {
  Distribution d;
  d.kind_ = Kind::kUniform;
  d.a_ = std::min(lo, hi);
  d.b_ = std::max(lo, hi);
  return d;
}
Distribution Distribution::normal(double mean, double sd) {
  Distribution d;
  d.kind_ = Kind::kNormal;
  d.a_ = mean;
  d.b_ = std::max(0.0, sd);
  return d;
}
Distribution Distribution::lognormal(double median, double p90) {
  Distribution d;
  d.kind_ = Kind::kLognormal;
  d.a_ = std::log(median);
  d.b_ = std::max(0.0, std::log(p90 / median) / kZ90);
  return d;
}
Distribution Distribution::samples(std::vector<double> values) {
  Distribution d;
  d.kind_ = Kind::kSamples;
  std::sort(values.begin(), values.end());
  d.values_ = std::move(values);
  return d;
}

double Distribution::mean() const {
  switch (kind_) {
    case Kind::kConstant: return a_;
    case Kind::kUniform: return 0.5 * (a_ + b_);
    case Kind::kNormal: return a_;
    case Kind::kLognormal: return std::exp(a_ + 0.5 * b_ * b_);
    case Kind::kSamples: {
      double s = 0;
      for (double v : values_) s += v;
      return values_.empty() ? 0 : s / values_.size();
    }
  }
  return 0;
}

double Distribution::cdf(double x) const {
  switch (kind_) {
    case Kind::kConstant: return x >= a_ ? 1.0 : 0.0;
    case Kind::kUniform: return b_ > a_ ? std::clamp((x - a_) / (b_ - a_), 0.0, 1.0) : (x >= a_ ? 1.0 : 0.0);
    case Kind::kNormal: return b_ > 0 ? normal_cdf((x - a_) / b_) : (x >= a_ ? 1.0 : 0.0);
    case Kind::kLognormal:
      if (x <= 0) return 0;
      return b_ > 0 ? normal_cdf((std::log(x) - a_) / b_) : (std::log(x) >= a_ ? 1.0 : 0.0);
    case Kind::kSamples: {
      if (values_.empty()) return 1;
      return static_cast<double>(std::upper_bound(values_.begin(), values_.end(), x) - values_.begin()) / values_.size();
    }
  }
  return 1;
}

double Distribution::quantile(double u) const {
  u = std::clamp(u, 0.0, 1.0);
  switch (kind_) {
    case Kind::kConstant: return a_;
    case Kind::kUniform: return a_ + (b_ - a_) * u;
    case Kind::kNormal: return a_ + b_ * normal_quantile(u);
    case Kind::kLognormal: return std::exp(a_ + b_ * normal_quantile(u));
    case Kind::kSamples: {
      if (values_.empty()) return 0;
      const size_t i = std::min(values_.size() - 1, static_cast<size_t>(u * values_.size()));
      return values_[i];
    }
  }
  return 0;
}

double Distribution::sample(std::mt19937_64& rng) const {
  switch (kind_) {
    case Kind::kConstant: return a_;
    case Kind::kSamples: {
      if (values_.empty()) return 0;
      std::uniform_int_distribution<size_t> pick(0, values_.size() - 1);
      return values_[pick(rng)];
    }
    default: {
      std::uniform_real_distribution<double> u(0.0, 1.0);
      return quantile(u(rng));
    }
  }
}

double Distribution::lower() const { return kind_ == Kind::kConstant ? a_ : quantile(1e-6); }
double Distribution::upper() const { return kind_ == Kind::kConstant ? a_ : quantile(1 - 1e-6); }

Distribution Distribution::scaled(double k) const {
  Distribution d = *this;
  switch (kind_) {
    case Kind::kConstant: d.a_ *= k; break;
    case Kind::kUniform:
    case Kind::kNormal:
      d.a_ *= k;
      d.b_ *= k;
      break;
    case Kind::kLognormal: d.a_ += std::log(k); break;
    case Kind::kSamples:
      for (double& v : d.values_) v *= k;
      break;
  }
  return d;
}

std::string Distribution::describe() const {
  std::ostringstream os;
  os.precision(3);
  switch (kind_) {
    case Kind::kConstant: os << a_; break;
    case Kind::kUniform: os << "uniform " << a_ << ".." << b_; break;
    case Kind::kNormal: os << "normal mean " << a_ << " sd " << b_; break;
    case Kind::kLognormal: os << "lognormal median " << quantile(0.5) << " p90 " << quantile(0.9); break;
    case Kind::kSamples: os << values_.size() << " samples, median " << quantile(0.5) << " p90 " << quantile(0.9); break;
  }
  return os.str();
}

Distribution parse_distribution(const nlohmann::json& j, const std::string& field) {
  auto bad = [&](const std::string& what) -> Distribution {
    fail(ErrorKind::kBadInput, field + " " + what);
  };
  auto nonneg = [&](const nlohmann::json& v, const std::string& name) {
    if (!v.is_number() || v.get<double>() < 0 || !std::isfinite(v.get<double>())) {
      fail(ErrorKind::kBadInput, field + "." + name + " must be a number >= 0");
    }
    return v.get<double>();
  };
  Distribution d;
  if (j.is_number()) return Distribution::constant(nonneg(j, "value"));
  if (!j.is_object()) return bad("must be a number or an object such as {\"uniform\": [1, 3]}");
  int kinds = 0;
  for (const char* k : {"constant", "uniform", "normal", "lognormal", "samples"}) kinds += j.contains(k);
  if (kinds != 1) return bad("must have exactly one of constant, uniform, normal, lognormal, samples");
  for (const auto& item : j.items()) {
    static const char* known[] = {"constant", "uniform", "normal", "lognormal", "samples", "source", "date", "measured"};
    const std::string& key = item.key();
    if (std::find_if(std::begin(known), std::end(known), [&](const char* k) { return key == k; }) == std::end(known)) {
      fail(ErrorKind::kBadInput, "unknown field '" + field + "." + key + "'");
    }
  }
  if (j.contains("constant")) {
    d = Distribution::constant(nonneg(j["constant"], "constant"));
  } else if (j.contains("uniform")) {
    const auto& u = j["uniform"];
    if (!u.is_array() || u.size() != 2) return bad("uniform must be [min, max]");
    d = Distribution::uniform(nonneg(u[0], "uniform[0]"), nonneg(u[1], "uniform[1]"));
  } else if (j.contains("normal")) {
    const auto& n = j["normal"];
    if (!n.is_object() || !n.contains("mean") || !n.contains("sd")) return bad("normal needs mean and sd");
    d = Distribution::normal(nonneg(n["mean"], "normal.mean"), nonneg(n["sd"], "normal.sd"));
  } else if (j.contains("lognormal")) {
    const auto& l = j["lognormal"];
    if (!l.is_object() || !l.contains("median") || !l.contains("p90")) return bad("lognormal needs median and p90");
    const double m = nonneg(l["median"], "lognormal.median"), q = nonneg(l["p90"], "lognormal.p90");
    if (m <= 0 || q < m) return bad("lognormal needs 0 < median <= p90");
    d = Distribution::lognormal(m, q);
  } else {
    const auto& s = j["samples"];
    if (!s.is_array() || s.empty()) return bad("samples must be a non-empty array");
    std::vector<double> v;
    for (size_t i = 0; i < s.size(); ++i) v.push_back(nonneg(s[i], "samples[" + std::to_string(i) + "]"));
    d = Distribution::samples(std::move(v));
  }
  if (j.contains("source")) d.provenance.source = j["source"].get<std::string>();
  if (j.contains("date")) d.provenance.date = j["date"].get<std::string>();
  if (j.contains("measured")) d.provenance.measured_by_us = j["measured"].get<bool>();
  return d;
}

nlohmann::json to_json(const Distribution& d) {
  nlohmann::json j;
  switch (d.kind()) {
    case Distribution::Kind::kConstant: j["constant"] = d.mean(); break;
    case Distribution::Kind::kUniform: j["uniform"] = {d.quantile(0), d.quantile(1)}; break;
    case Distribution::Kind::kNormal: j["normal"] = {{"mean", d.mean()}, {"sd", d.quantile(0.8413447460685429) - d.mean()}}; break;
    case Distribution::Kind::kLognormal: j["lognormal"] = {{"median", d.quantile(0.5)}, {"p90", d.quantile(0.9)}}; break;
    case Distribution::Kind::kSamples: j["samples"] = d.sample_values(); break;
  }
  if (!d.provenance.source.empty()) j["source"] = d.provenance.source;
  if (!d.provenance.date.empty()) j["date"] = d.provenance.date;
  if (d.provenance.measured_by_us) j["measured"] = true;
  return j;
}

namespace {
double max_cdf(const Distribution& a, int na, const Distribution& b, int nb, double x) {
  double p = 1;
  if (na > 0) p *= std::pow(a.cdf(x), na);
  if (nb > 0) p *= std::pow(b.cdf(x), nb);
  return p;
}
}  // namespace

double max_quantile(const Distribution& a, int na, const Distribution& b, int nb, double q) {
  if (na <= 0 && nb <= 0) return 0;
  if (nb <= 0) return a.quantile(std::pow(q, 1.0 / na));
  if (na <= 0) return b.quantile(std::pow(q, 1.0 / nb));
  double lo = std::min(a.lower(), b.lower()), hi = std::max(a.upper(), b.upper());
  for (int i = 0; i < 50; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (max_cdf(a, na, b, nb, mid) < q) lo = mid;
    else hi = mid;
  }
  return hi;
}

double max_mean(const Distribution& a, int na, const Distribution& b, int nb) {
  if (na <= 0 && nb <= 0) return 0;
  if (nb <= 0 && a.kind() == Distribution::Kind::kConstant) return a.mean();
  if (na <= 0 && b.kind() == Distribution::Kind::kConstant) return b.mean();
  // E[max] = lo + integral over [lo, hi] of (1 - F_max(x)) dx, midpoint rule.
  double lo = std::min(na > 0 ? a.lower() : b.lower(), nb > 0 ? b.lower() : a.lower());
  double hi = std::max(na > 0 ? a.upper() : b.upper(), nb > 0 ? b.upper() : a.upper());
  if (hi <= lo) return lo;
  // The far tail of a lognormal is long: integrate to a high quantile of the maximum instead.
  hi = std::min(hi, max_quantile(a, na, b, nb, 1 - 1e-5));
  constexpr int kSteps = 96;
  const double h = (hi - lo) / kSteps;
  double area = 0;
  for (int i = 0; i < kSteps; ++i) area += 1 - max_cdf(a, na, b, nb, lo + (i + 0.5) * h);
  return lo + area * h;
}

MaxOfDraws::MaxOfDraws(const Distribution& a, const Distribution& b, int max_count)
    : a_(&a), b_(&b), max_count_(max_count) {
  constexpr int kPoints = 256;
  lo_ = std::min(a.lower(), b.lower());
  const double hi = std::max(a.quantile(std::pow(1 - 1e-5, 1.0 / max_count)), b.quantile(std::pow(1 - 1e-5, 1.0 / max_count)));
  step_ = std::max(hi - lo_, 1e-9) / kPoints;
  std::vector<double> fa(kPoints), fb(kPoints);
  for (int i = 0; i < kPoints; ++i) {
    const double x = lo_ + (i + 0.5) * step_;
    fa[i] = a.cdf(x);
    fb[i] = b.cdf(x);
  }
  pow_a_.assign(max_count + 1, std::vector<double>(kPoints, 1.0));
  pow_b_.assign(max_count + 1, std::vector<double>(kPoints, 1.0));
  for (int k = 1; k <= max_count; ++k) {
    for (int i = 0; i < kPoints; ++i) {
      pow_a_[k][i] = pow_a_[k - 1][i] * fa[i];
      pow_b_[k][i] = pow_b_[k - 1][i] * fb[i];
    }
  }
  // Every mean the planner can ask for, once.
  means_.assign(static_cast<size_t>(max_count + 1) * (max_count + 1), 0.0);
  for (int na = 0; na <= max_count; ++na) {
    for (int nb = 0; na + nb <= max_count; ++nb) {
      double v = 0;
      if (na + nb > 0) {
        if (nb == 0 && a.kind() == Distribution::Kind::kConstant) {
          v = a.mean();
        } else if (na == 0 && b.kind() == Distribution::Kind::kConstant) {
          v = b.mean();
        } else {
          double area = 0;
          for (int i = 0; i < kPoints; ++i) area += 1 - pow_a_[na][i] * pow_b_[nb][i];
          v = lo_ + area * step_;
        }
      }
      means_[static_cast<size_t>(na) * (max_count + 1) + nb] = v;
    }
  }
  p90s_.assign(means_.size(), 0.0);
  for (int na = 0; na <= max_count; ++na) {
    for (int nb = 0; na + nb <= max_count; ++nb) {
      p90s_[static_cast<size_t>(na) * (max_count + 1) + nb] = max_quantile(a, na, b, nb, 0.9);
    }
  }
}

double MaxOfDraws::p90(int na, int nb) const {
  if (na < 0 || nb < 0 || na + nb > max_count_) return max_quantile(*a_, na, *b_, nb, 0.9);
  return p90s_[static_cast<size_t>(na) * (max_count_ + 1) + nb];
}

double MaxOfDraws::mean(int na, int nb) const {
  if (na + nb <= 0) return 0;
  if (na < 0 || nb < 0 || na + nb > max_count_) return max_mean(*a_, na, *b_, nb);
  return means_[static_cast<size_t>(na) * (max_count_ + 1) + nb];
}

double MaxOfDraws::quantile(int na, int nb, double q) const { return max_quantile(*a_, na, *b_, nb, q); }

}  // namespace reelscale::plan
