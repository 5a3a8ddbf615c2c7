// Governance scenarios across layers: gov decides, tee's policy (read from the state gov wrote)
// judges real (simulated-TEE) evidence, as the node's join path will.
#include <gtest/gtest.h>

#include "cloister/crypto/hash.h"
#include "cloister/gov/proposals.h"
#include "cloister/gov/tables.h"
#include "cloister/tee/policy.h"
#include "cloister/tee/virtual_tee.h"
#include "gov/gov_test_util.h"

namespace cloister::gov {
namespace {

using testing::GovTest;
using testing::kNow;

class ScenarioTest : public GovTest {
 protected:
  void SetUp() override {
    Genesis(3, 2);
    // The network's policy allows the simulated TEE with one measurement only.
    tee::Policy policy;
    policy.simulated_roots = {tee::SimulatedRootFingerprint()};
    policy.platforms.push_back(
        tee::PlatformRule{.platform = tee::Platform::kVirtual, .measurements = {Measurement(1)}});
    kv::Tx tx = store_.Begin();
    ASSERT_TRUE(tx.rw(kPolicyMap)->put(kPolicyKey, policy.ToJson()).ok());
    ASSERT_TRUE(store_.Commit(tx).ok());
  }

  static Bytes Measurement(uint8_t fill) { return Bytes(48, fill); }

  std::string ServiceStatusNow() {
    kv::Tx tx = store_.Begin();
    std::string status = ServiceStatus(tx);
    tx.Abort();
    return status;
  }

  // Would a node running `measurement` be admitted under the policy in the replicated state?
  tee::Decision Admission(const Bytes& measurement) {
    tee::VirtualAttester attester(measurement);
    const Bytes report_data = crypto::Sha256(ToBytes("node key || challenge"));
    tee::Evidence evidence = attester.Attest(report_data).value();
    tee::Claims claims = tee::VerifyEvidence(evidence, tee::VerifyOptions{kNow}).value();
    tee::Policy policy = tee::Policy::FromJson(*Get(kPolicyMap, kPolicyKey)).value();
    return policy.Evaluate(claims, tee::EvaluationContext{kNow, report_data});
  }
};

// A node with a new measurement is refused until the proposal allowing it passes: not after
// the proposal, not after one ballot, only after the ballot that reaches the threshold.
TEST_F(ScenarioTest, NewMeasurementAdmittedOnlyAfterProposalPasses) {
  ASSERT_TRUE(Admission(Measurement(1)).allowed);
  ASSERT_FALSE(Admission(Measurement(2)).allowed);
  const std::string id = Submit("add_measurement", R"({"platform":"virtual","measurement":")" +
                                                       ToHex(Measurement(2)) + "\"}");
  EXPECT_FALSE(Admission(Measurement(2)).allowed);
  ASSERT_TRUE(Execute(Ballot(1, id, true)).ok());
  EXPECT_FALSE(Admission(Measurement(2)).allowed);
  ASSERT_TRUE(Execute(Ballot(2, id, true)).ok());
  EXPECT_TRUE(Admission(Measurement(2)).allowed);
  EXPECT_TRUE(Admission(Measurement(1)).allowed);
  EXPECT_FALSE(Admission(Measurement(3)).allowed);
}

// The network opens by members' vote, then a member's removal and the new member's first
// proposal go through with the thresholds of the new membership.
TEST_F(ScenarioTest, OpenThenChangeMembership) {
  const std::string open = Submit("open_network");
  ASSERT_TRUE(Execute(Ballot(0, open, true)).ok());
  EXPECT_EQ(ServiceStatusNow(), "opening");
  ASSERT_TRUE(Execute(Ballot(2, open, true)).ok());
  EXPECT_EQ(ServiceStatusNow(), "open");

  const std::string remove = Submit("remove_member", R"({"member_id":")" + members_[2].id + "\"}");
  ASSERT_TRUE(Execute(Ballot(0, remove, true)).ok());
  ASSERT_TRUE(Execute(Ballot(1, remove, true)).ok());
  // Two members left: majority is two, so one ballot no longer suffices.
  const std::string rotate = Submit("rotate_ledger_secret");
  Result<Outcome> one = Execute(Ballot(0, rotate, true));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->threshold, 2u);
  EXPECT_EQ(one->state, ProposalState::kOpen);
  Result<Outcome> two = Execute(Ballot(1, rotate, true));
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->state, ProposalState::kAccepted);
}

}  // namespace
}  // namespace cloister::gov
