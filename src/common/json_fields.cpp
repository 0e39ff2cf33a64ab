// common/json_fields.cpp — field readers with errors naming the field.
#include "common/json_fields.h"

#include <cmath>
#include <set>
#include <sstream>

#include "common/error.h"

namespace reelscale {

std::string format_number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

void JsonFields::bad(const std::string& field, const std::string& problem) const {
  fail(ErrorKind::kBadInput, named(field) + " " + problem);
}

void JsonFields::only(const nlohmann::json& obj, const std::string& where,
                      std::initializer_list<const char*> allowed) const {
  const std::set<std::string> ok(allowed.begin(), allowed.end());
  for (const auto& [key, value] : obj.items()) {
    if (!ok.count(key)) {
      const std::string field = where.empty() ? key : where + "." + key;
      fail(ErrorKind::kBadInput, "unknown " + (what_.empty() ? std::string("field") : what_) + " '" + field + "'");
    }
  }
}

void JsonFields::require_object(const nlohmann::json& value, const std::string& field) const {
  if (!value.is_object()) bad(field, "must be an object");
}

double JsonFields::number(const nlohmann::json& obj, const std::string& key, const std::string& field, double lo,
                          double hi, std::optional<double> fallback) const {
  if (!obj.contains(key)) {
    if (fallback) return *fallback;
    bad(field, "is required");
  }
  const nlohmann::json& v = obj.at(key);
  if (!v.is_number()) bad(field, "must be a number");
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < lo || d > hi) {
    bad(field, "is " + format_number(d) + ", outside [" + format_number(lo) + ", " + format_number(hi) + "]");
  }
  return d;
}

int64_t JsonFields::integer(const nlohmann::json& obj, const std::string& key, const std::string& field, int64_t lo,
                            int64_t hi, std::optional<int64_t> fallback) const {
  if (!obj.contains(key)) {
    if (fallback) return *fallback;
    bad(field, "is required");
  }
  const nlohmann::json& v = obj.at(key);
  if (!v.is_number_integer()) bad(field, "must be an integer");
  const int64_t i = v.get<int64_t>();
  if (i < lo || i > hi) {
    bad(field, "is " + std::to_string(i) + ", outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return i;
}

std::string JsonFields::text(const nlohmann::json& obj, const std::string& key, const std::string& field,
                             std::optional<std::string> fallback) const {
  if (!obj.contains(key)) {
    if (fallback) return *fallback;
    bad(field, "is required");
  }
  if (!obj.at(key).is_string()) bad(field, "must be a string");
  return obj.at(key).get<std::string>();
}

bool JsonFields::boolean(const nlohmann::json& obj, const std::string& key, const std::string& field,
                         std::optional<bool> fallback) const {
  if (!obj.contains(key)) {
    if (fallback) return *fallback;
    bad(field, "is required");
  }
  if (!obj.at(key).is_boolean()) bad(field, "must be true or false");
  return obj.at(key).get<bool>();
}

}  // namespace reelscale
