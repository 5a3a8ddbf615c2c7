// Links the simulator against a raft core with a planted bug (CLOISTER_PLANTED_BUG): the
// simulator must catch it within a bounded number of seeds, proving that its checks can fail.
#include <gtest/gtest.h>

#include <cstdio>

#include "simulator.h"

namespace cloister::sim {
namespace {

// The planted bug is reported as a safety violation within a window of 300 seeds of the "all"
// profile (the window's first seed, the cluster size and the test's name, e.g.
// BrokenVariantTest.CatchesCommitPreviousTerm, are set per bug in CMakeLists.txt).
TEST(BrokenVariantTest, CLOISTER_PLANTED_TEST) {
  const uint64_t first = CLOISTER_PLANTED_FIRST_SEED;
  uint64_t caught_at = 0;
  std::string failure;
  for (uint64_t seed = first; seed < first + 300 && caught_at == 0; ++seed) {
    const SimResult r = RunSimulation(
        {.seed = seed, .nodes = CLOISTER_PLANTED_NODES, .profile = FaultProfile::kAll});
    if (!r.ok) {
      caught_at = seed;
      failure = r.failure;
    }
  }
  ASSERT_NE(caught_at, 0u) << "planted bug " << CLOISTER_PLANTED_BUG << " not caught";
  std::printf("planted bug %s caught at seed %llu: %s\n", CLOISTER_PLANTED_BUG,
              static_cast<unsigned long long>(caught_at), failure.c_str());
  EXPECT_EQ(failure.find("liveness"), std::string::npos) << "caught only as a liveness failure";
}

}  // namespace
}  // namespace cloister::sim
