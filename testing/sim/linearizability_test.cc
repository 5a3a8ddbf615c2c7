#include "linearizability.h"

#include <gtest/gtest.h>

namespace cloister::sim {
namespace {

KvOp Put(uint64_t client, uint64_t key, uint64_t value, uint64_t t0, uint64_t t1) {
  return KvOp{.client = client,
              .kind = OpKind::kPut,
              .key = key,
              .value = value,
              .invoke_time = t0,
              .response_time = t1};
}
KvOp Get(uint64_t client, uint64_t key, uint64_t value, uint64_t t0, uint64_t t1) {
  return KvOp{.client = client,
              .kind = OpKind::kGet,
              .key = key,
              .value = value,
              .invoke_time = t0,
              .response_time = t1};
}
KvOp Cas(uint64_t client, uint64_t key, uint64_t expected, uint64_t value, bool ok, uint64_t t0,
         uint64_t t1) {
  return KvOp{.client = client,
              .kind = OpKind::kCas,
              .key = key,
              .value = value,
              .expected = expected,
              .cas_ok = ok,
              .invoke_time = t0,
              .response_time = t1};
}

// Sequential puts and gets that agree are linearizable.
TEST(LinearizabilityTest, SequentialHistoryPasses) {
  EXPECT_TRUE(CheckLinearizable(
                  {Put(1, 1, 5, 0, 1), Get(2, 1, 5, 2, 3), Put(1, 1, 6, 4, 5), Get(2, 1, 6, 6, 7)})
                  .ok);
}

// Overlapping operations may take effect in either order.
TEST(LinearizabilityTest, ConcurrentOverlapPasses) {
  // put 1 and put 2 overlap; readers see 2 then... 1 is impossible after 2 only if both done.
  EXPECT_TRUE(CheckLinearizable({Put(1, 1, 1, 0, 10), Put(2, 1, 2, 0, 10), Get(3, 1, 1, 1, 2),
                                 Get(3, 1, 2, 3, 4)})
                  .ok);
  EXPECT_TRUE(
      CheckLinearizable({Put(1, 1, 1, 0, 10), Put(2, 1, 2, 0, 10), Get(3, 1, 2, 11, 12)}).ok);
}

// Stale read: a get returns the old value after a newer put completed.
TEST(LinearizabilityTest, StaleReadFails) {
  const auto r = CheckLinearizable({Put(1, 1, 1, 0, 1), Put(1, 1, 2, 2, 3), Get(2, 1, 1, 4, 5)});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.explanation.find("key 1"), std::string::npos) << r.explanation;
}

// Lost write: an acknowledged put is not visible to a later read.
TEST(LinearizabilityTest, LostWriteFails) {
  EXPECT_FALSE(CheckLinearizable({Put(1, 7, 3, 0, 1), Get(2, 7, 0, 5, 6)}).ok);
}

// Duplicate apply: a put applied a second time after a later put overwrote it.
TEST(LinearizabilityTest, DuplicateApplyFails) {
  EXPECT_FALSE(CheckLinearizable(
                   {Put(1, 1, 1, 0, 1), Put(2, 1, 2, 2, 3), Get(3, 1, 2, 4, 5), Get(3, 1, 1, 6, 7)})
                   .ok);
}

// A compare-and-set that reports success twice from the same value cannot be linearized.
TEST(LinearizabilityTest, DoubleCasSuccessFails) {
  EXPECT_FALSE(CheckLinearizable(
                   {Put(1, 1, 1, 0, 1), Cas(2, 1, 1, 2, true, 2, 10), Cas(3, 1, 1, 3, true, 2, 10)})
                   .ok);
  EXPECT_TRUE(CheckLinearizable(
                  {Put(1, 1, 1, 0, 1), Cas(2, 1, 1, 2, true, 2, 10), Cas(3, 1, 1, 3, false, 2, 10)})
                  .ok);
}

// A write with no response may take effect late, or never.
TEST(LinearizabilityTest, UnknownOutcomeMayOrMayNotApply) {
  KvOp unknown = Put(1, 1, 9, 0, KvOp::kNoResponse);
  EXPECT_TRUE(CheckLinearizable({unknown, Get(2, 1, 0, 5, 6), Get(2, 1, 9, 7, 8)}).ok);
  EXPECT_TRUE(CheckLinearizable({unknown, Get(2, 1, 0, 5, 6)}).ok);
  // ...but not un-apply once seen.
  EXPECT_FALSE(CheckLinearizable({unknown, Get(2, 1, 9, 5, 6), Get(2, 1, 0, 7, 8)}).ok);
  // ...and not before it was invoked.
  unknown.invoke_time = 10;
  EXPECT_FALSE(CheckLinearizable({unknown, Get(2, 1, 9, 5, 6)}).ok);
}

// Keys are checked independently: a violation on one key is found among many good ones.
TEST(LinearizabilityTest, ViolationOnOneKeyAmongMany) {
  std::vector<KvOp> history;
  for (uint64_t k = 1; k <= 20; ++k) {
    history.push_back(Put(1, k, k, 10 * k, 10 * k + 1));
    history.push_back(Get(2, k, k, 10 * k + 2, 10 * k + 3));
  }
  EXPECT_TRUE(CheckLinearizable(history).ok);
  history.push_back(Get(3, 13, 0, 500, 501));
  const auto r = CheckLinearizable(history);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.explanation.find("key 13"), std::string::npos) << r.explanation;
}

}  // namespace
}  // namespace cloister::sim
