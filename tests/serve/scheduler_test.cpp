// tests/serve/scheduler_test.cpp — the queue's order: fair share by decayed cost between
// label values (weighted, one or two levels), work-conserving, limits and guaranteed
// minimums per value, aging, a value's own full queue, and why each queued job waits.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "common/error.h"
#include "serve/scheduler.h"

using namespace reelscale;
using namespace reelscale::serve;
using nlohmann::json;

namespace {

SchedulerJob job(const std::string& id, const Labels& labels, double cost, double submitted, double seconds = 10) {
  return {id, labels, cost, seconds, submitted, 0};
}

Labels user(const std::string& u) { return {{"user_id", u}}; }

FairShareConfig by_user(const json& weights = nullptr) { return FairShareConfig::parse({"user_id"}, weights); }

// Runs the queue on one runner, each job ending at its predicted cost before the next
// starts; the users in the order their jobs ran.
std::string run_all(Scheduler& s, double t = 1000) {
  std::string order;
  while (auto j = s.next(t)) {
    order += j->labels.at("user_id");
    s.finished(j->id, j->cost_usd, t);
    t += 1;
  }
  return order;
}

}  // namespace

TEST(Scheduler, WithoutFairShareLabelsItIsFirstComeFirstServed) {
  Scheduler s;
  for (int i = 0; i < 4; ++i) s.add_queued(job("a" + std::to_string(i), user("a"), 1, i));
  s.add_queued(job("b0", user("b"), 1, 10));
  EXPECT_EQ(run_all(s), "aaaab");
}

TEST(Scheduler, ALateUserGoesBeforeOneWhoHasUsedTheFleet) {
  Scheduler s(by_user());
  for (int i = 0; i < 50; ++i) s.add_queued(job("a" + std::to_string(i), user("a"), 1, i));
  for (int i = 0; i < 3; ++i) s.finished(s.next(100 + i)->id, 1, 100 + i);  // a ran three
  s.add_queued(job("b0", user("b"), 1, 200));
  s.add_queued(job("b1", user("b"), 1, 201));
  const std::string next_four = [&] {
    std::string o;
    for (int i = 0; i < 4; ++i) {
      const auto j = s.next(300 + i);
      o += j->labels.at("user_id");
      s.finished(j->id, j->cost_usd, 300 + i);
    }
    return o;
  }();
  EXPECT_EQ(next_four, "bbaa") << "b has used nothing: both its jobs first";
}

TEST(Scheduler, SharesAreInCostNotInJobCount) {
  Scheduler s(by_user());
  for (int i = 0; i < 20; ++i) s.add_queued(job("big" + std::to_string(i), user("big"), 10, i));
  for (int i = 0; i < 200; ++i) s.add_queued(job("small" + std::to_string(i), user("small"), 1, 100 + i));
  std::map<std::string, double> spent;
  for (int i = 0; i < 110; ++i) {
    const auto j = s.next(1000 + i);
    spent[j->labels.at("user_id")] += j->cost_usd;
    s.finished(j->id, j->cost_usd, 1000 + i);
  }
  EXPECT_NEAR(spent["big"] / spent["small"], 1.0, 0.15) << spent["big"] << " against " << spent["small"];
}

TEST(Scheduler, AWeightOfTwoGetsTwiceTheCost) {
  Scheduler s(by_user({{"user_id", {{"paid", {{"weight", 2}}}}}}));
  for (int i = 0; i < 100; ++i) {
    s.add_queued(job("p" + std::to_string(i), user("paid"), 1, i));
    s.add_queued(job("f" + std::to_string(i), user("free"), 1, i));
  }
  std::map<std::string, int> ran;
  for (int i = 0; i < 90; ++i) {
    const auto j = s.next(1000 + i);
    ++ran[j->labels.at("user_id")];
    s.finished(j->id, j->cost_usd, 1000 + i);
  }
  EXPECT_NEAR(ran["paid"], 60, 2);
  EXPECT_NEAR(ran["free"], 30, 2);
}

TEST(Scheduler, ALoneUserGetsEveryRunner) {
  Scheduler s(by_user());
  for (int i = 0; i < 6; ++i) s.add_queued(job("a" + std::to_string(i), user("a"), 1, i));
  int started = 0;
  while (s.next(100)) ++started;  // nothing finishes: all may run at once
  EXPECT_EQ(started, 6);
}

TEST(Scheduler, UsageDecaysByTheHalfLife) {
  FairShareConfig c = by_user();
  c.half_life_s = 3600;
  Scheduler s(c);
  s.add_usage(user("old"), 8, 0);       // 8 two half-lives ago: 2 now
  s.add_usage(user("recent"), 3, 7200);  // 3 now
  s.add_queued(job("r", user("recent"), 1, 7100));
  s.add_queued(job("o", user("old"), 1, 7150));
  EXPECT_EQ(s.next(7200)->id, "o");
  const json state = s.state(7200);
  for (const json& v : state["values"]) {
    if (v["value"] == "user_id=old") {
      EXPECT_NEAR(v["usage_usd"].get<double>(), 3.0, 1e-9) << "2 decayed + 1 started";
    }
  }
}

TEST(Scheduler, AValueAtItsMostRunningWaitsAndTheOthersGoOn) {
  Scheduler s(by_user({{"user_id", {{"bulk", {{"max_running", 1}}}}}}));
  for (int i = 0; i < 3; ++i) s.add_queued(job("bulk" + std::to_string(i), user("bulk"), 1, i));
  s.add_queued(job("x", user("x"), 5, 10));
  EXPECT_EQ(s.next(100)->id, "bulk0");
  EXPECT_EQ(s.next(100)->id, "x") << "bulk is at its limit: x runs though it would cost more";
  EXPECT_FALSE(s.next(100)) << "only bulk's jobs are left, and it runs its most";
  const auto p = s.pending(100, 4);
  EXPECT_EQ(p.at("bulk1").reason, "user_limit");
  s.finished("bulk0", 1, 101);
  EXPECT_EQ(s.next(101)->id, "bulk1");
}

TEST(Scheduler, AGuaranteedMinimumGoesBeforeValuesThatUsedLess) {
  Scheduler s(by_user({{"user_id", {{"paid", {{"min_running", 1}}}}}}));
  s.add_usage(user("paid"), 100, 0);
  s.add_queued(job("f", user("free"), 1, 0));
  s.add_queued(job("p0", user("paid"), 1, 1));
  s.add_queued(job("p1", user("paid"), 1, 2));
  EXPECT_EQ(s.next(10)->id, "p0") << "paid runs fewer than its minimum";
  EXPECT_EQ(s.next(10)->id, "f") << "its minimum met, usage orders again";
}

TEST(Scheduler, AJobPastTheAgingBoundGoesFirst) {
  FairShareConfig c = by_user();
  c.max_wait_s = 60;
  Scheduler s(c);
  s.add_usage(user("heavy"), 1000, 0);
  s.add_queued(job("h", user("heavy"), 1, 0));
  s.add_queued(job("l", user("light"), 1, 30));
  EXPECT_EQ(s.next(50)->id, "l") << "inside the bound: fair share";
  s.add_queued(job("l2", user("light"), 1, 55));
  EXPECT_EQ(s.next(61)->id, "h") << "h has waited 61 s, past 60";
}

TEST(Scheduler, TwoLevelsShareBetweenFeaturesThenBetweenUsers) {
  Scheduler s(FairShareConfig::parse({"feature", "user_id"}, nullptr));
  // export has three users, highlights one: highlights gets half the fleet.
  for (int i = 0; i < 30; ++i) {
    for (const std::string u : {"u1", "u2", "u3"}) {
      s.add_queued(job(u + std::to_string(i), {{"feature", "export"}, {"user_id", u}}, 1, i));
    }
    s.add_queued(job("h" + std::to_string(i), {{"feature", "highlights"}, {"user_id", "u4"}}, 1, i));
  }
  std::map<std::string, int> ran;
  for (int i = 0; i < 60; ++i) {
    const auto j = s.next(1000 + i);
    ++ran[j->labels.at("user_id")];
    s.finished(j->id, j->cost_usd, 1000 + i);
  }
  EXPECT_EQ(ran["u4"], 30);
  EXPECT_EQ(ran["u1"], 10);
  EXPECT_EQ(ran["u2"], 10);
  EXPECT_EQ(ran["u3"], 10);
}

TEST(Scheduler, AValuesOwnQueueFullRefusesOnlyThatValue) {
  Scheduler s(by_user({{"default", {{"max_queued", 2}}}}));
  s.add_queued(job("a0", user("a"), 1, 0));
  EXPECT_EQ(s.queue_full_reason(user("a")), "");
  s.add_queued(job("a1", user("a"), 1, 1));
  EXPECT_EQ(s.queue_full_reason(user("a")), "user_id=a has 2 queued jobs, its limit");
  EXPECT_EQ(s.queue_full_reason(user("b")), "");
  EXPECT_GE(s.retry_after_s(user("a"), 10, 1), 1.0);
}

TEST(Scheduler, EveryQueuedJobSaysWhyItWaitsWhereItStandsAndWhenItShouldStart) {
  Scheduler s(by_user());
  for (int i = 0; i < 4; ++i) s.add_queued(job("a" + std::to_string(i), user("a"), 1, i, 10));
  ASSERT_EQ(s.next(100)->id, "a0");  // one runner, busy until 110
  s.add_queued(job("b0", user("b"), 1, 50, 10));
  const auto p = s.pending(100, 1);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p.at("b0").position, 1);
  EXPECT_EQ(p.at("b0").reason, "capacity");
  EXPECT_DOUBLE_EQ(p.at("b0").estimated_start_unix_s, 110);
  EXPECT_EQ(p.at("a1").position, 2);
  EXPECT_EQ(p.at("a1").reason, "fair_share") << "b0, submitted later, goes before it";
  EXPECT_DOUBLE_EQ(p.at("a1").estimated_start_unix_s, 120);
  EXPECT_EQ(p.at("a3").position, 4);
  EXPECT_DOUBLE_EQ(p.at("a3").estimated_start_unix_s, 140);
}

TEST(Scheduler, ABadWeightsFileIsRefusedNamingThePlace) {
  const auto error_of = [](const json& weights) {
    try {
      FairShareConfig::parse({"user_id"}, weights);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of({{"team", json::object()}}).find("'team' is not one of the --fair-share label keys"), std::string::npos);
  EXPECT_NE(error_of({{"user_id", {{"a", {{"weight", 0}}}}}}).find("user_id.a.weight must be > 0"), std::string::npos);
  EXPECT_NE(error_of({{"user_id", {{"a", {{"max_running", -1}}}}}}).find("user_id.a.max_running"), std::string::npos);
  EXPECT_NE(error_of({{"default", {{"speed", 1}}}}).find("'speed'"), std::string::npos);
  EXPECT_NE(error_of(json::array()).find("not a JSON object"), std::string::npos);
  EXPECT_THROW(FairShareConfig::parse({"a", "b", "c"}, nullptr), Error);
}

TEST(Scheduler, ChunksInFlightAreBoundedPerValueAndALargerJobRunsAlone) {
  Scheduler s(by_user({{"user_id", {{"bulk", {{"max_chunks", 4}}}}}}));
  SchedulerJob three = job("three", user("bulk"), 1, 0);
  three.chunks = 3;
  SchedulerJob two = job("two", user("bulk"), 1, 1);
  two.chunks = 2;
  SchedulerJob eight = job("eight", user("bulk"), 1, 2);
  eight.chunks = 8;
  s.add_queued(three);
  s.add_queued(two);
  s.add_queued(eight);
  EXPECT_EQ(s.next(10)->id, "three");
  EXPECT_FALSE(s.next(10)) << "3 + 2 chunks would pass 4";
  s.finished("three", 1, 11);
  EXPECT_EQ(s.next(11)->id, "two");
  s.finished("two", 1, 12);
  EXPECT_EQ(s.next(12)->id, "eight") << "larger than the bound: it runs alone";
  EXPECT_EQ(s.state(12)["values"][0]["chunks_running"], 8);
}

TEST(Scheduler, AValueWhoseUsageHasDecayedAwayIsForgotten) {
  FairShareConfig c = by_user();
  c.half_life_s = 60;
  Scheduler s(c);
  s.add_usage(user("gone"), 1, 0);
  s.add_queued(job("x", user("x"), 1, 0));
  s.finished(s.next(10)->id, 1, 10);
  EXPECT_EQ(s.state(10)["values"].size(), 2u);
  s.add_queued(job("y", user("x"), 1, 6000));
  s.finished(s.next(6000)->id, 1, 6000);  // 100 half-lives on
  const json values = s.state(6000)["values"];
  ASSERT_EQ(values.size(), 1u) << values.dump();
  EXPECT_EQ(values[0]["value"], "user_id=x");
}
