// tests/plan/policy_schedule_test.cpp — policies scheduled by the hour: the entry in force
// at fixed clock times in a time zone with daylight saving, hours that wrap past
// midnight, refusals that name the problem, and a simulated day planned by the hour.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "plan/policy_schedule.h"
#include "plan/simulator.h"

using namespace reelscale;
using nlohmann::json;

namespace {

json paris_policy() {
  return json::parse(R"({"objective": "cheapest_within_deadline", "deadline_s": 600, "budget_usd": 2,
    "schedule": {"time_zone": "Europe/Paris", "entries": [
      {"name": "peak", "hours": [18, 23], "deadline_s": 60},
      {"name": "night", "hours": [23, 6], "objective": "cheapest_within_deadline", "deadline_s": 1800}]}})");
}

std::string error_of(const json& j) {
  try {
    plan::ScheduledPolicy::parse(j);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    return e.what();
  }
  return "";
}

}  // namespace

TEST(PolicySchedule, TheEntryInForceFollowsTheLocalHourAcrossDaylightSaving) {
  const plan::ScheduledPolicy p = plan::ScheduledPolicy::parse(paris_policy());
  ASSERT_TRUE(p.scheduled());
  // 2026-12-05 17:30 UTC is 18:30 in Paris (UTC+1): the peak entry.
  plan::PolicyInForce f = p.at(1796491800);
  EXPECT_EQ(f.entry, "peak");
  EXPECT_EQ(f.local_hour, 18);
  EXPECT_EQ(f.time_zone, "Europe/Paris");
  EXPECT_DOUBLE_EQ(f.policy.deadline_s, 60);
  EXPECT_DOUBLE_EQ(f.policy.budget_usd, 2);  // what the entry leaves alone comes from the base
  // 16:30 UTC the same day is 17:30 local: the base.
  f = p.at(1796488200);
  EXPECT_EQ(f.entry, "base");
  EXPECT_DOUBLE_EQ(f.policy.deadline_s, 600);
  // 2026-07-01 16:30 UTC is 18:30 in summer time (UTC+2): the peak again.
  EXPECT_EQ(p.at(1782923400).entry, "peak");
  // [18, 23) ends at 23:00 local: 22:59:59 is peak, 23:00 is night.
  EXPECT_EQ(p.at(1796507999).entry, "peak");
  EXPECT_EQ(p.at(1796508000).entry, "night");
  EXPECT_DOUBLE_EQ(p.at(1796508000).policy.deadline_s, 1800);
  // The night wraps past midnight: 03:00 and 05:00 local are night, 06:00 is the base.
  EXPECT_EQ(p.at_local_hour(3).entry, "night");
  EXPECT_EQ(p.at_local_hour(5).entry, "night");
  EXPECT_EQ(p.at_local_hour(6).entry, "base");
  // The spring change (2026-03-29 01:00 UTC): 00:30 UTC is 01:30 local, 01:30 UTC is 03:30.
  EXPECT_EQ(p.at(1774744200).local_hour, 1);
  EXPECT_EQ(p.at(1774747800).local_hour, 3);
}

TEST(PolicySchedule, APolicyWithoutAScheduleIsItsBaseAtEveryHour) {
  const plan::ScheduledPolicy p = plan::ScheduledPolicy::parse(json{{"deadline_s", 120}});
  EXPECT_FALSE(p.scheduled());
  EXPECT_EQ(p.at(1796491800).entry, "base");
  EXPECT_DOUBLE_EQ(p.at(1796491800).policy.deadline_s, 120);
  EXPECT_EQ(p.at(1796491800).local_hour, -1);
}

TEST(PolicySchedule, BadSchedulesAreRefusedNamingTheProblem) {
  json j = paris_policy();
  j["schedule"]["time_zone"] = "Mars/Olympus_Mons";
  EXPECT_NE(error_of(j).find("Mars/Olympus_Mons"), std::string::npos);
  j = paris_policy();
  j["schedule"]["entries"][1]["hours"] = {20, 2};
  const std::string overlap = error_of(j);
  EXPECT_NE(overlap.find("'peak' and 'night'"), std::string::npos) << overlap;
  EXPECT_NE(overlap.find("20:00"), std::string::npos) << overlap;
  j = paris_policy();
  j["schedule"]["entries"][0]["deadline_s"] = -5;
  EXPECT_NE(error_of(j).find("entry 'peak'"), std::string::npos);
  j = paris_policy();
  j["schedule"]["entries"][0]["hours"] = {18, 25};
  EXPECT_NE(error_of(j).find("hours"), std::string::npos);
  j = paris_policy();
  j["schedule"]["entries"][0]["colour"] = "red";
  EXPECT_NE(error_of(j).find("colour"), std::string::npos);
  j = paris_policy();
  j["schedule"]["entries"][0]["hours"] = {7, 7};
  EXPECT_NE(error_of(j).find("covers no hour"), std::string::npos);
}

TEST(PolicySchedule, ASimulatedDayPlansEachHourWithItsEntry) {
  // Peak hours have a tight deadline; the rest may take ten minutes. The scheduled planner
  // buys speed at peak only: peak jobs wait less than off-peak ones, and less than the
  // same peak jobs planned with the base policy all day.
  const plan::ScheduledPolicy p = plan::ScheduledPolicy::parse(paris_policy());
  const plan::Profile profile = plan::default_profile();
  const plan::PriceTable prices = plan::default_prices();
  const plan::Platform platform = plan::default_platform();
  std::vector<plan::Policy> policies;
  for (int h = 0; h < 24; ++h) policies.push_back(p.at_local_hour(h).policy);
  std::vector<plan::Planner> by_hour;
  for (const plan::Policy& policy : policies) by_hour.emplace_back(profile, prices, platform, policy);
  plan::Workload w;
  w.jobs_per_day = 600;
  w.hourly = plan::Workload::default_hourly();
  const auto scheduled = plan::simulate(profile, prices, platform, w, plan::scheduled_decider(by_hour));
  const plan::Policy base = p.base();
  const plan::Planner base_planner{profile, prices, platform, base};
  const auto all_day_base = plan::simulate(profile, prices, platform, w, plan::planner_decider(base_planner));
  auto mean_latency = [&](const plan::SimulationResult& r, const std::string& entry) {
    double sum = 0;
    int n = 0;
    for (const auto& [arrival, latency] : r.job_latencies) {
      if (p.at_local_hour(static_cast<int>(arrival / 3600) % 24).entry != entry) continue;
      sum += latency;
      ++n;
    }
    EXPECT_GT(n, 20) << entry;
    return sum / std::max(1, n);
  };
  EXPECT_LT(mean_latency(scheduled, "peak"), mean_latency(scheduled, "base"));
  EXPECT_LT(mean_latency(scheduled, "peak"), 0.9 * mean_latency(all_day_base, "peak"));
  EXPECT_GT(scheduled.cost_usd, all_day_base.cost_usd);  // the speed at peak is paid for
}
