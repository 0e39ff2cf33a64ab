// plan/policy_schedule.cpp — parsing a policy's schedule and finding the entry in force
// (time zones from the system's tz database, through Howard Hinnant's date library).
#include "plan/policy_schedule.h"

#include <date/tz.h>

#include <chrono>
#include <cmath>

#include "common/error.h"

namespace reelscale::plan {

namespace {

using nlohmann::json;

[[noreturn]] void bad_schedule(const std::string& what) { fail(ErrorKind::kBadInput, "the policy's schedule: " + what); }

const date::time_zone* find_zone(const std::string& name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    bad_schedule("time_zone '" + name + "' is not a time zone of the tz database (e.g. UTC, Europe/Paris, America/New_York)");
  }
}

int hour_field(const json& hours, size_t i, const std::string& entry) {
  if (!hours[i].is_number_integer() || hours[i].get<int>() < 0 || hours[i].get<int>() > 24) {
    bad_schedule("entry '" + entry + "': hours must be two whole hours from 0 to 24, [from, to)");
  }
  return hours[i].get<int>() % 24;
}

}  // namespace

ScheduledPolicy::ScheduledPolicy() : base_(default_policy()), entry_by_hour_(24, -1) {}

ScheduledPolicy ScheduledPolicy::parse(const json& j) {
  if (!j.is_object()) fail(ErrorKind::kBadInput, "the policy must be a JSON object");
  ScheduledPolicy p;
  json base = j;
  base.erase("schedule");
  p.base_ = parse_policy(base);
  if (!j.contains("schedule")) return p;
  const json& s = j["schedule"];
  if (!s.is_object() || !s.contains("entries") || !s["entries"].is_array()) {
    bad_schedule("must be an object with \"time_zone\" and an array \"entries\"");
  }
  for (const auto& [key, value] : s.items()) {
    if (key != "time_zone" && key != "entries") bad_schedule("unknown field '" + key + "'");
  }
  p.time_zone_ = s.contains("time_zone") && s["time_zone"].is_string() ? s["time_zone"].get<std::string>() : "UTC";
  p.zone_ = find_zone(p.time_zone_);
  for (const json& e : s["entries"]) {
    if (!e.is_object() || !e.contains("name") || !e["name"].is_string() || e["name"].get<std::string>().empty()) {
      bad_schedule("each entry needs a \"name\"");
    }
    Entry entry;
    entry.name = e["name"].get<std::string>();
    if (entry.name == "base") bad_schedule("'base' names the hours no entry covers; name the entry otherwise");
    if (!e.contains("hours") || !e["hours"].is_array() || e["hours"].size() != 2) {
      bad_schedule("entry '" + entry.name + "' needs \"hours\": [from, to)");
    }
    entry.from_hour = hour_field(e["hours"], 0, entry.name);
    entry.to_hour = hour_field(e["hours"], 1, entry.name);
    if (entry.from_hour == entry.to_hour) bad_schedule("entry '" + entry.name + "' covers no hour (from equals to)");
    entry.fields = e;
    entry.fields.erase("name");
    entry.fields.erase("hours");
    json merged = base;
    merged.update(entry.fields);
    try {
      entry.policy = parse_policy(merged);
    } catch (const Error& err) {
      bad_schedule("entry '" + entry.name + "': " + err.what());
    }
    const int index = static_cast<int>(p.entries_.size());
    for (int h = entry.from_hour; h != entry.to_hour; h = (h + 1) % 24) {
      if (p.entry_by_hour_[h] >= 0) {
        bad_schedule("entries '" + p.entries_[p.entry_by_hour_[h]].name + "' and '" + entry.name + "' both cover " +
                     std::to_string(h) + ":00");
      }
      p.entry_by_hour_[h] = index;
    }
    p.entries_.push_back(std::move(entry));
  }
  return p;
}

PolicyInForce ScheduledPolicy::at_local_hour(int hour) const {
  PolicyInForce f;
  f.policy = base_;
  if (!scheduled()) return f;
  f.time_zone = time_zone_;
  f.local_hour = ((hour % 24) + 24) % 24;
  if (const int i = entry_by_hour_[f.local_hour]; i >= 0) {
    f.policy = entries_[i].policy;
    f.entry = entries_[i].name;
  }
  return f;
}

PolicyInForce ScheduledPolicy::at(double unix_s) const {
  if (!scheduled()) return at_local_hour(0);
  using namespace std::chrono;
  const date::sys_seconds instant{seconds(static_cast<int64_t>(std::floor(unix_s)))};
  const auto local = date::zoned_time<seconds>(zone_, instant).get_local_time();
  const auto hour = duration_cast<hours>(local - date::floor<date::days>(local)).count();
  return at_local_hour(static_cast<int>(hour));
}

nlohmann::json ScheduledPolicy::to_json() const {
  json j = plan::to_json(base_);
  if (!scheduled()) return j;
  json entries = json::array();
  for (const Entry& e : entries_) {
    json o = e.fields;
    o["name"] = e.name;
    o["hours"] = {e.from_hour, e.to_hour};
    entries.push_back(o);
  }
  j["schedule"] = {{"time_zone", time_zone_}, {"entries", entries}};
  return j;
}

}  // namespace reelscale::plan
