// tests/serve/local_speed_test.cpp — the machine's current speed: learned from the latest
// jobs, applied only while it has helped, kept within its bounds. Ratios are given by the
// test, so every verdict is the same on any machine.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "serve/local_speed.h"

using reelscale::serve::LocalSpeed;
using reelscale::serve::LocalSpeedPolicy;

namespace {

// A machine whose speed moves as a slow random walk (as a shared VM's does), each job's time
// scattered around it by `scatter` (log-normal): the ratios a profile made on a quiet day sees.
std::vector<double> drifting_machine(int jobs, double walk, double scatter, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> step(0, walk), noise(0, scatter);
  std::vector<double> out;
  double speed = 0;
  for (int i = 0; i < jobs; ++i) {
    speed = 0.98 * speed + step(rng);  // wanders, held near the profile's speed
    out.push_back(std::exp(speed + noise(rng)));
  }
  return out;
}

}  // namespace

TEST(LocalSpeed, NothingIsAppliedUntilTheWindowIsFullAndJudged) {
  LocalSpeed speed;
  for (int i = 0; i < 39; ++i) speed.add(1.5);
  EXPECT_DOUBLE_EQ(speed.candidate(), 1.5);
  EXPECT_DOUBLE_EQ(speed.factor(), 1.0) << "39 of 40 jobs judged";
  speed.add(1.5);
  EXPECT_DOUBLE_EQ(speed.factor(), 1.5) << speed.describe();
}

TEST(LocalSpeed, AMachineThatTurnedSlowerIsFollowed) {
  LocalSpeed speed;
  for (int i = 0; i < 60; ++i) speed.add(1.0 + 0.02 * ((i % 5) - 2));
  EXPECT_NEAR(speed.factor(), 1.0, 0.03);
  for (int i = 0; i < 60; ++i) speed.add(1.4 * (1.0 + 0.02 * ((i % 5) - 2)));
  EXPECT_NEAR(speed.factor(), 1.4, 0.03) << speed.describe();
  const auto [with, without] = speed.judged_errors();
  EXPECT_LT(with, without);
}

TEST(LocalSpeed, AFactorThatDoesNotHelpIsNotApplied) {
  // Speed that swings every 15 jobs: the window's median lags behind each swing, so the
  // factor a job gets is mostly the last swing's, the wrong one.
  LocalSpeed speed;
  for (int i = 0; i < 200; ++i) speed.add((i / 15) % 2 ? 0.8 : 1.3);
  const auto [with, without] = speed.judged_errors();
  EXPECT_GE(with, without);
  EXPECT_DOUBLE_EQ(speed.factor(), 1.0) << speed.describe();
  EXPECT_NE(speed.describe().find("not applied"), std::string::npos);
}

TEST(LocalSpeed, OnADriftingMachineItCutsTheErrorOfTheJobsItPredicts) {
  // Replays the jobs through the tracker as the service does (each job predicted with the
  // factor of its time, then added), and compares the errors with the plain profile's.
  const std::vector<double> ratios = drifting_machine(2000, 0.03, 0.12, 21);
  LocalSpeed speed;
  std::vector<double> with, without;
  for (double r : ratios) {
    with.push_back(std::abs(r / speed.factor() - 1));
    without.push_back(std::abs(r - 1));
    speed.add(r);
  }
  std::sort(with.begin(), with.end());
  std::sort(without.begin(), without.end());
  EXPECT_LT(with[with.size() / 2], 0.95 * without[without.size() / 2]);
}

TEST(LocalSpeed, TheFactorStaysWithinItsBoundsAndBadRatiosAreIgnored) {
  LocalSpeed speed;
  for (int i = 0; i < 50; ++i) speed.add(9.0);
  EXPECT_DOUBLE_EQ(speed.factor(), 2.0);
  speed.add(std::nan(""));
  speed.add(-1);
  speed.add(0);
  EXPECT_DOUBLE_EQ(speed.factor(), 2.0);
  LocalSpeed off(LocalSpeedPolicy{0});
  for (int i = 0; i < 50; ++i) off.add(1.5);
  EXPECT_DOUBLE_EQ(off.factor(), 1.0);
  EXPECT_EQ(off.describe(), "off");
}

TEST(LocalSpeed, ARestartTakesTheRatiosUnderTheNewProfile) {
  LocalSpeed speed;
  for (int i = 0; i < 60; ++i) speed.add(1.5);
  ASSERT_DOUBLE_EQ(speed.factor(), 1.5);
  // The refit learned the slower machine: the same jobs are now predicted right.
  speed.restart(std::vector<double>(20, 1.0));
  EXPECT_DOUBLE_EQ(speed.candidate(), 1.0);
  speed.restart(std::vector<double>(5, 1.0));
  EXPECT_DOUBLE_EQ(speed.candidate(), 1.0) << "fewer than the window: not known";
}
