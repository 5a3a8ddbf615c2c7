#include "simulator.h"

#include <gtest/gtest.h>

namespace cloister::sim {
namespace {

// The same seed gives the same run: failures reproduce exactly.
TEST(SimulatorTest, Deterministic) {
  SimOptions o{.seed = 42, .profile = FaultProfile::kAll};
  const SimResult a = RunSimulation(o);
  const SimResult b = RunSimulation(o);
  EXPECT_EQ(a.ok, b.ok);
  EXPECT_EQ(a.stats.events, b.stats.events);
  EXPECT_EQ(a.stats.committed, b.stats.committed);
  EXPECT_EQ(a.stats.messages_delivered, b.stats.messages_delivered);
}

// Without faults a cluster commits, answers clients and recovers at once.
TEST(SimulatorTest, FaultFreeRunMakesProgress) {
  const SimResult r = RunSimulation({.seed = 7, .profile = FaultProfile::kNone});
  ASSERT_TRUE(r.ok) << r.failure;
  EXPECT_GT(r.stats.committed, 20u);
  EXPECT_GT(r.stats.client_ops_ok, 20u);
}

// Each fault profile passes a handful of seeds with 3 and 5 nodes, and the hostile ones really
// inject what they claim (crash replacement, replays, refused rolled-back copies).
TEST(SimulatorTest, ProfilesPassAndInjectFaults) {
  SimStats total;
  for (FaultProfile p : {FaultProfile::kNetwork, FaultProfile::kPartition, FaultProfile::kCrash,
                         FaultProfile::kHostile, FaultProfile::kAll}) {
    for (int nodes : {3, 5}) {
      for (uint64_t seed = 1; seed <= 6; ++seed) {
        const SimResult r = RunSimulation({.seed = seed, .nodes = nodes, .profile = p});
        ASSERT_TRUE(r.ok) << FaultProfileName(p) << " seed " << seed << ": " << r.failure;
        total.crashes += r.stats.crashes;
        total.replacements += r.stats.replacements;
        total.messages_replayed += r.stats.messages_replayed;
        total.messages_refused += r.stats.messages_refused;
        total.messages_dropped += r.stats.messages_dropped;
        total.snapshots_installed += r.stats.snapshots_installed;
      }
    }
  }
  EXPECT_GT(total.crashes, 0u);
  EXPECT_GT(total.replacements, 0u);
  EXPECT_GT(total.messages_replayed, 0u);
  EXPECT_GT(total.messages_refused, 0u);
  EXPECT_GT(total.messages_dropped, 0u);
  EXPECT_GT(total.snapshots_installed, 0u);
}

}  // namespace
}  // namespace cloister::sim
