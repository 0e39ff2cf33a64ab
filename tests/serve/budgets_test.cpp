// tests/serve/budgets_test.cpp — budgets: the file, windows in a time zone (DST included),
// reserve then settle, reject or hold at the cap, nesting and label filters, late charges,
// and plans moved toward cost before the cap.
#include <gtest/gtest.h>

#include "common/error.h"
#include "serve/budgets.h"

using namespace reelscale;
using namespace reelscale::serve;
using nlohmann::json;

namespace {

// 2026-12-07 12:00:00 UTC.
constexpr double kNoon = 1796644800;

const json kExample = json::parse(R"({"time_zone": "Europe/Paris",
  "budgets": [
    {"name": "service",  "per": "month", "usd": 900, "at_cap": "queue"},
    {"name": "free-tier", "label": {"tier": "free"}, "per": "day", "usd": 5, "at_cap": "reject"},
    {"name": "per-user", "each": "user_id", "per": "day", "usd": 0.50, "at_cap": "reject"}]})");

BudgetBook book(const json& j) { return BudgetBook(BudgetConfig::parse(j)); }

json one_budget(const std::string& at_cap, double usd, const std::string& per = "day") {
  return {{"time_zone", "UTC"}, {"budgets", {{{"name", "b"}, {"per", per}, {"usd", usd}, {"at_cap", at_cap}}}}};
}

const json* find(const json& status, const std::string& name) {
  for (const json& b : status["budgets"]) {
    if (b["name"] == name) return &b;
  }
  return nullptr;
}

}  // namespace

TEST(Budgets, TheExampleMeansWhatItSays) {
  BudgetBook b = book(kExample);
  const Labels u1 = {{"user_id", "u1"}, {"tier", "free"}};
  EXPECT_EQ(b.admit("j1", u1, 0.30, kNoon).rejected_by, "");
  const Admission second = b.admit("j2", u1, 0.30, kNoon);
  EXPECT_EQ(second.rejected_by, "per-user[user_id=u1]") << "0.60 would pass u1's 0.50 a day";
  // Retry-After is the reset: midnight in Paris, 23:00 UTC.
  EXPECT_DOUBLE_EQ(second.retry_after_s, 11 * 3600);
  EXPECT_EQ(b.admit("j3", {{"user_id", "u2"}, {"tier", "free"}}, 0.30, kNoon).rejected_by, "") << "u2 has its own";
  const json s = b.status(kNoon);
  ASSERT_TRUE(find(s, "free-tier"));
  EXPECT_NEAR((*find(s, "free-tier"))["reserved_usd"].get<double>(), 0.60, 1e-12);
  EXPECT_NEAR((*find(s, "service"))["reserved_usd"].get<double>(), 0.60, 1e-12) << "the service's holds its users'";
  EXPECT_EQ((*find(s, "per-user[user_id=u1]"))["at_cap"], "reject");
  EXPECT_EQ(b.admit("paid", {{"user_id", "u3"}, {"tier", "paid"}}, 0.45, kNoon).rejected_by, "")
      << "free-tier's cap is not the paid tier's";
}

TEST(Budgets, AReservationIsSettledToTheRealCostAndLateChargesAddToIt) {
  BudgetBook b = book(one_budget("reject", 1.0));
  ASSERT_EQ(b.admit("a", {}, 0.6, kNoon).rejected_by, "");
  EXPECT_EQ(b.admit("b", {}, 0.6, kNoon).rejected_by, "b") << "0.6 reserved + 0.6 > 1.0";
  b.started("a", kNoon);
  b.ended("a", 0.2);
  EXPECT_EQ(b.admit("b", {}, 0.6, kNoon).rejected_by, "") << "settled at 0.2: 0.8 fits";
  b.late_charge("a", 0.3);  // an idle tail billed after it ended
  const json s = b.status(kNoon);
  EXPECT_NEAR((*find(s, "b"))["spent_usd"].get<double>(), 0.5, 1e-12);
  EXPECT_NEAR((*find(s, "b"))["reserved_usd"].get<double>(), 0.6, 1e-12);
  EXPECT_EQ(b.admit("c", {}, 0.1, kNoon).rejected_by, "b") << "0.5 + 0.6 is past the cap already";
}

TEST(Budgets, AQueueBudgetHoldsAJobUntilItFits) {
  BudgetBook b = book(one_budget("queue", 1.0));
  EXPECT_EQ(b.admit("a", {}, 0.7, kNoon).held_by, "");
  EXPECT_EQ(b.admit("b", {}, 0.7, kNoon).held_by, "b");
  EXPECT_EQ(b.may_start("b", kNoon), "b");
  EXPECT_NEAR((*find(b.status(kNoon), "b"))["reserved_usd"].get<double>(), 0.7, 1e-12) << "a held job reserves nothing";
  b.started("a", kNoon);
  b.ended("a", 0.25);
  EXPECT_EQ(b.may_start("b", kNoon), "") << "0.25 + 0.7 fits";
  EXPECT_NEAR((*find(b.status(kNoon), "b"))["reserved_usd"].get<double>(), 0.7, 1e-12) << "now reserved";
}

TEST(Budgets, AJobCountsInTheWindowItStartedInAndAQueuedOneInTodays) {
  BudgetBook b = book(one_budget("reject", 1.0));
  b.restore("yesterday", {{}, 0.9, 0.9, kNoon - 86400, true, false});
  EXPECT_EQ(b.admit("today", {}, 0.9, kNoon).rejected_by, "") << "yesterday's spend is in yesterday's window";
  EXPECT_EQ(b.admit("more", {}, 0.2, kNoon + 86400).rejected_by, "b") << "still queued tomorrow: it counts then";
}

TEST(Budgets, WindowsFollowTheTimeZoneAcrossDaylightSaving) {
  json j = one_budget("queue", 1.0, "month");
  j["time_zone"] = "Europe/Paris";
  j["budgets"].push_back({{"name", "daily"}, {"per", "day"}, {"usd", 1.0}});
  BudgetBook b = book(j);
  // 2026-04-15 12:00 UTC: April began at 2026-03-31 22:00 UTC (summer time, UTC+2) and May
  // begins at 2026-04-30 22:00 UTC; the day began at 22:00 UTC the day before.
  const double april_15 = 1776254400;
  const json s = b.status(april_15);
  EXPECT_DOUBLE_EQ((*find(s, "b"))["window_start_unix_s"].get<double>(), 1774994400);
  EXPECT_DOUBLE_EQ((*find(s, "b"))["resets_unix_s"].get<double>(), 1777586400);
  EXPECT_DOUBLE_EQ((*find(s, "daily"))["window_start_unix_s"].get<double>(), april_15 - 14 * 3600);
  // In December (winter time, UTC+1) the day begins at 23:00 UTC.
  EXPECT_DOUBLE_EQ((*find(b.status(kNoon), "daily"))["window_start_unix_s"].get<double>(), kNoon - 13 * 3600);
}

TEST(Budgets, PlansMoveTowardCostAsSpendNearsTheCap) {
  json j = one_budget("reject", 1.0);
  j["budgets"][0]["adapt_at"] = 0.5;
  BudgetBook b = book(j);
  EXPECT_EQ(b.moving_plan({}, 0.1, kNoon), "");
  b.admit("a", {}, 0.45, kNoon);
  EXPECT_EQ(b.moving_plan({}, 0, kNoon), "");
  EXPECT_EQ(b.moving_plan({}, 0.1, kNoon), "b") << "0.55 of 1.0 is past 0.5";
}

// Spend at a pace that would pass adapt_at by the window's end moves plans before the
// spend itself gets there; the same spend late in the window does not.
TEST(Budgets, PlansMoveWhenTheForecastForTheWindowNearsTheCap) {
  json j = one_budget("reject", 1.0);
  j["budgets"][0]["adapt_at"] = 0.5;
  const auto spent_by = [&](double usd, double at) {
    BudgetBook b = book(j);
    b.admit("a", {}, usd, at - 60);
    b.started("a", at - 60);
    b.ended("a", usd);
    return b;
  };
  // 0.3 spent in the day's first 12 hours: 0.3 more at that pace by midnight, 0.6 >= 0.5.
  const BudgetBook at_noon = spent_by(0.3, kNoon);
  EXPECT_EQ(at_noon.moving_plan({}, 0, kNoon), "b");
  EXPECT_NEAR((*find(at_noon.status(kNoon), "b"))["forecast_usd"].get<double>(), 0.6, 1e-9);
  // The same 0.3 by 23:00: 0.3 + 0.3 / 23, under 0.5.
  EXPECT_EQ(spent_by(0.3, kNoon + 11 * 3600).moving_plan({}, 0, kNoon + 11 * 3600), "");
  // Less spent at noon: 0.2 + 0.2 = 0.4, under 0.5.
  EXPECT_EQ(spent_by(0.2, kNoon).moving_plan({}, 0, kNoon), "");
  // Early in the window the pace is judged over a tenth of it: 0.05 by 00:30 forecasts
  // 0.05 + 0.05 / 2.4 h x 23.5 h = 0.54, not 0.05 x 47.
  const double half_past = kNoon - 11.5 * 3600;
  EXPECT_NEAR((*find(spent_by(0.05, half_past).status(half_past), "b"))["forecast_usd"].get<double>(),
              0.05 + 0.05 / 2.4 * 23.5, 1e-9);
}

TEST(Budgets, ABadFileIsRefusedNamingTheBudgetAndField) {
  const auto error_of = [](const json& j) {
    try {
      BudgetConfig::parse(j);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  json j = kExample;
  j["time_zone"] = "Mars/Olympus";
  EXPECT_NE(error_of(j).find("time_zone 'Mars/Olympus'"), std::string::npos);
  j = kExample;
  j["budgets"][1]["per"] = "week";
  EXPECT_NE(error_of(j).find("'free-tier': per must be day or month"), std::string::npos);
  j = kExample;
  j["budgets"][0]["usd"] = -1;
  EXPECT_NE(error_of(j).find("'service': usd must be a number > 0"), std::string::npos);
  j = kExample;
  j["budgets"][0]["at_cap"] = "kill";
  EXPECT_NE(error_of(j).find("at_cap must be queue or reject"), std::string::npos);
  j = kExample;
  j["budgets"][2]["currency"] = "EUR";
  EXPECT_NE(error_of(j).find("'per-user': unknown field 'currency'"), std::string::npos);
  j = kExample;
  j["budgets"][1]["name"] = "service";
  EXPECT_NE(error_of(j).find("two budgets are named 'service'"), std::string::npos);
  EXPECT_NE(error_of(json::object()).find("\"budgets\" must be an array"), std::string::npos);
}

TEST(Budgets, ReservationsComeFromThePlansP90) {
  EXPECT_DOUBLE_EQ(reserve_of_plan({{"cost_usd", 0.1}, {"wall_mean_s", 10}, {"wall_p90_s", 15}}), 0.15);
  EXPECT_DOUBLE_EQ(reserve_of_plan({{"cost_usd", 0.1}}), 0.1);
  EXPECT_DOUBLE_EQ(reserve_of_plan(json()), 0);
}

// Where jobs really cost more than their plans' p90 (a local plan's p90 is its mean), the
// book learns it: once five have ended, a reservation is the plan's p90 cost times the p90
// of what they really cost against it.
TEST(Budgets, ReservationsGrowToWhatJobsReallyCostAgainstTheirPlans) {
  BudgetBook b = book(one_budget("reject", 100));
  for (int i = 0; i < 5; ++i) {
    const std::string id = "j" + std::to_string(i);
    ASSERT_EQ(b.admit(id, {}, 1.0, kNoon).rejected_by, "");
    b.started(id, kNoon);
    b.ended(id, i == 4 ? 3.0 : 2.0);  // twice the plan, once three times
  }
  EXPECT_DOUBLE_EQ(b.reserve_factor(), 3.0);
  b.admit("next", {}, 1.0, kNoon);
  EXPECT_NEAR((*find(b.status(kNoon), "b"))["reserved_usd"].get<double>(), 3.0, 1e-12);
  BudgetBook cheap = book(one_budget("reject", 100));
  for (int i = 0; i < 5; ++i) cheap.learn(0.5, 1.0);
  EXPECT_DOUBLE_EQ(cheap.reserve_factor(), 1.0) << "never below the plan's own p90";
}

TEST(Budgets, AJobHeldPastItsBudgetsQueueTtlIsNamedForCancelling) {
  json j = one_budget("queue", 1.0);
  j["budgets"][0]["queue_ttl_s"] = 600;
  BudgetBook b = book(j);
  b.admit("a", {}, 0.8, kNoon);
  ASSERT_EQ(b.admit("held", {}, 0.8, kNoon).held_by, "b");
  EXPECT_TRUE(b.past_their_ttl(kNoon + 599).empty());
  const auto past = b.past_their_ttl(kNoon + 600);
  ASSERT_EQ(past.size(), 1u);
  EXPECT_EQ(past[0], std::make_pair(std::string("held"), std::string("b")));
  json reject = one_budget("reject", 1.0);
  reject["budgets"][0]["queue_ttl_s"] = 600;
  EXPECT_THROW(BudgetConfig::parse(reject), Error) << "a TTL is for a queue-budget";
}
