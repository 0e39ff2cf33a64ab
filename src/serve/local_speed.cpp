// serve/local_speed.cpp — the machine's current speed from its latest jobs, and its judge.
#include "serve/local_speed.h"

#include <algorithm>
#include <cmath>

#include <cstdio>

namespace reelscale::serve {

namespace {

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  const auto mid = v.begin() + static_cast<long>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  if (v.size() % 2 == 1) return *mid;
  return (*mid + *std::max_element(v.begin(), mid)) / 2;
}

}  // namespace

LocalSpeed::LocalSpeed(LocalSpeedPolicy policy) : policy_(policy) {}

void LocalSpeed::add(double ratio) {
  if (policy_.window <= 0 || !(ratio > 0) || !std::isfinite(ratio)) return;
  judged_.push_back({ratio, candidate()});
  while (static_cast<int>(judged_.size()) > policy_.judged) judged_.pop_front();
  window_.push_back(ratio);
  while (static_cast<int>(window_.size()) > policy_.window) window_.pop_front();
}

void LocalSpeed::restart(const std::vector<double>& ratios) {
  window_.clear();
  for (double r : ratios) {
    if (r > 0 && std::isfinite(r)) window_.push_back(r);
  }
  while (static_cast<int>(window_.size()) > policy_.window) window_.pop_front();
}

double LocalSpeed::candidate() const {
  if (policy_.window <= 0 || static_cast<int>(window_.size()) < policy_.window) return 1.0;
  const double m = median_of({window_.begin(), window_.end()});
  return std::clamp(m, policy_.min_factor, policy_.max_factor);
}

std::pair<double, double> LocalSpeed::judged_errors() const {
  std::vector<double> with, without;
  for (const auto& [ratio, factor] : judged_) {
    with.push_back(std::abs(ratio / factor - 1));
    without.push_back(std::abs(ratio - 1));
  }
  return {median_of(with), median_of(without)};
}

double LocalSpeed::factor() const {
  if (policy_.window <= 0 || static_cast<int>(judged_.size()) < policy_.judged) return 1.0;
  const auto [with, without] = judged_errors();
  return with < without ? candidate() : 1.0;
}

std::string LocalSpeed::describe() const {
  if (policy_.window <= 0) return "off";
  char text[200];
  if (static_cast<int>(judged_.size()) < policy_.judged) {
    std::snprintf(text, sizeof text, "learning: %zu of %d jobs judged", judged_.size(), policy_.judged);
    return text;
  }
  const auto [with, without] = judged_errors();
  std::snprintf(text, sizeof text,
                "%.3f x the profile's times%s: over the last %zu jobs, %.1f %% median error with it, %.1f %% without",
                candidate(), with < without ? "" : " (not applied: it has not helped)", judged_.size(), 100 * with,
                100 * without);
  return text;
}

}  // namespace reelscale::serve
