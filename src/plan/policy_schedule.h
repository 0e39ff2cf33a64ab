// plan/policy_schedule.h — a policy with a schedule: hours of the day in a stated IANA
// time zone, each range with its own deadline, objective, budget or other policy fields
// over the policy's base. The policy in force at a moment (or at a local hour, for the
// simulated day) is the base with that hour's entry applied, and names the entry.
//
//   {"objective": "cheapest_within_deadline", "deadline_s": 300,
//    "schedule": {"time_zone": "Europe/Paris",
//                 "entries": [{"name": "peak", "hours": [18, 23], "deadline_s": 60}]}}
//
// `hours` is [from, to): 18-23 is 18:00 to 22:59 local time; [22, 6] wraps past midnight.
// Entries may not overlap. Hours no entry covers plan with the base ("base").
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "plan/inputs.h"

namespace date {
class time_zone;
}

namespace reelscale::plan {

struct PolicyInForce {
  Policy policy;
  std::string entry = "base";  // the schedule entry's name, or "base"
  std::string time_zone;       // "" when the policy has no schedule
  int local_hour = -1;         // the hour of the day it was chosen for (-1: no schedule)
};

class ScheduledPolicy {
 public:
  ScheduledPolicy();  // the default policy, no schedule
  // A policy JSON with an optional "schedule"; Error(kBadInput) naming the field, the
  // entry or the unknown time zone.
  static ScheduledPolicy parse(const nlohmann::json& j);
  bool scheduled() const { return !entries_.empty(); }
  const Policy& base() const { return base_; }
  const std::string& time_zone() const { return time_zone_; }
  PolicyInForce at(double unix_s) const;      // the entry in force at that moment, in the zone
  PolicyInForce at_local_hour(int hour) const;  // the entry in force at that hour of the day
  nlohmann::json to_json() const;

 private:
  struct Entry {
    std::string name;
    int from_hour = 0, to_hour = 0;
    nlohmann::json fields;  // what it sets over the base
    Policy policy;          // the base with them applied
  };
  Policy base_;
  std::string time_zone_;
  const date::time_zone* zone_ = nullptr;
  std::vector<Entry> entries_;
  std::vector<int> entry_by_hour_;  // 24: index into entries_, or -1
};

}  // namespace reelscale::plan
