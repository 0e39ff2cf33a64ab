// common/json_fields.h — reading fields of JSON inputs (job specs, planner inputs, task
// and record files) with errors that name the field and its bound: "job field
// crop_keyframes[1].width must be > 0", "unknown field 'outptu'". One reader per kind
// of document; its prefix says which document the field belongs to.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace reelscale {

class JsonFields {
 public:
  // `what` prefixes field names in messages ("job field", "" for none).
  explicit JsonFields(std::string what = "") : what_(std::move(what)) {}

  [[noreturn]] void bad(const std::string& field, const std::string& problem) const;
  // Every key of `obj` must be one of `allowed`; `where` is the object's own path.
  void only(const nlohmann::json& obj, const std::string& where, std::initializer_list<const char*> allowed) const;
  void require_object(const nlohmann::json& value, const std::string& field) const;
  double number(const nlohmann::json& obj, const std::string& key, const std::string& field, double lo, double hi,
                std::optional<double> fallback = std::nullopt) const;
  int64_t integer(const nlohmann::json& obj, const std::string& key, const std::string& field, int64_t lo, int64_t hi,
                  std::optional<int64_t> fallback = std::nullopt) const;
  std::string text(const nlohmann::json& obj, const std::string& key, const std::string& field,
                   std::optional<std::string> fallback = std::nullopt) const;
  bool boolean(const nlohmann::json& obj, const std::string& key, const std::string& field,
               std::optional<bool> fallback = std::nullopt) const;

 private:
  std::string named(const std::string& field) const { return what_.empty() ? field : what_ + " " + field; }
  std::string what_;
};

// A number as a message shows it (shortest form).
std::string format_number(double v);

}  // namespace reelscale
