#include "cloister/gov/proposals.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cloister/crypto/hash.h"
#include "cloister/tee/policy.h"
#include "gov/gov_test_util.h"

namespace cloister::gov {
namespace {

using nlohmann::json;
using testing::GovTest;
using testing::kNow;
using testing::MakeMember;
using testing::NodeKeyOf;

// Three members: majority is two votes.
class ProposalTest : public GovTest {
 protected:
  void SetUp() override { Genesis(3, 2); }

  // Proposes `action` (member 0), checks that the first vote "for" leaves every table unchanged
  // (below threshold), then that the second vote makes the proposal accepted. Returns the effects
  // before and after.
  void Pass(std::string_view action, std::string_view args = "{}") {
    const std::string id = Submit(action, args);
    ASSERT_FALSE(id.empty());
    const auto before = Effects();
    Result<Outcome> first = Execute(Ballot(0, id, true));
    ASSERT_TRUE(first.ok()) << first.error().ToString();
    EXPECT_EQ(first->state, ProposalState::kOpen);
    EXPECT_EQ(first->votes_for, 1u);
    EXPECT_EQ(first->threshold, 2u);
    EXPECT_EQ(Effects(), before) << action << " took effect below threshold";
    Result<Outcome> second = Execute(Ballot(1, id, true));
    ASSERT_TRUE(second.ok()) << second.error().ToString();
    EXPECT_EQ(second->state, ProposalState::kAccepted);
    EXPECT_NE(Effects(), before) << action << " had no effect";
    last_id_ = id;
  }

  tee::Policy Policy() { return tee::Policy::FromJson(*Get(kPolicyMap, kPolicyKey)).value(); }

  std::string NodeStatus(uint64_t id) {
    return json::parse(*Get(kNodesMap, NodeKeyOf(id)))["status"].get<std::string>();
  }

  std::string last_id_;
};

// A proposal takes effect exactly when the ballot that reaches the threshold commits, and the
// proposal record keeps every vote.
TEST_F(ProposalTest, OpenNetworkByVote) {
  EXPECT_EQ(Get(kServiceMap, kServiceStatusKey), "opening");
  Pass("open_network");
  EXPECT_EQ(Get(kServiceMap, kServiceStatusKey), "open");
  kv::Tx tx = store_.Begin();
  ProposalRecord record = ReadProposal(tx, last_id_).value();
  EXPECT_EQ(record.state, ProposalState::kAccepted);
  EXPECT_EQ(record.proposer, members_[0].id);
  EXPECT_EQ(record.votes.size(), 2u);
  // Opening twice fails when the second proposal executes (and that ballot is not recorded).
  tx.Abort();
  const std::string again = Submit("open_network");
  ASSERT_TRUE(Execute(Ballot(0, again, true)).ok());
  Result<Outcome> failed = Execute(Ballot(1, again, true));
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("already open"), std::string::npos);
  tx = store_.Begin();
  EXPECT_EQ(ReadProposal(tx, again)->state, ProposalState::kOpen);
  tx.Abort();
}

// While a recovering node awaits the members' recovery shares (status "recovering"), the
// deciding ballot of open_network fails and changes nothing; once the private state is restored
// (the node sets "opening") the same proposal passes.
TEST_F(ProposalTest, OpenNetworkRefusedWhileRecovering) {
  {
    kv::Tx tx = store_.Begin();
    ASSERT_TRUE(tx.rw(kServiceMap)->put(kServiceStatusKey, kServiceRecovering).ok());
    ASSERT_TRUE(store_.Commit(tx).ok());
  }
  const std::string id = Submit("open_network");
  ASSERT_TRUE(Execute(Ballot(0, id, true)).ok());
  Result<Outcome> refused = Execute(Ballot(1, id, true));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(refused.error().message.find("recovering"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(Get(kServiceMap, kServiceStatusKey), "recovering");
  {
    kv::Tx tx = store_.Begin();
    EXPECT_EQ(ReadProposal(tx, id)->state, ProposalState::kOpen);
    ASSERT_TRUE(tx.rw(kServiceMap)->put(kServiceStatusKey, kServiceOpening).ok());
    ASSERT_TRUE(store_.Commit(tx).ok());
  }
  Result<Outcome> passed = Execute(Ballot(1, id, true));
  ASSERT_TRUE(passed.ok()) << passed.error().ToString();
  EXPECT_EQ(passed->state, ProposalState::kAccepted);
  EXPECT_EQ(Get(kServiceMap, kServiceStatusKey), "open");
}

// The proposal id is the hex digest of the signed proposal, and a replayed proposal, ballot or
// withdrawal is refused.
TEST_F(ProposalTest, ReplayedRequestsAreRefused) {
  const Bytes proposal = Propose(0, "rotate_ledger_secret");
  Result<Outcome> submitted = Execute(proposal);
  ASSERT_TRUE(submitted.ok());
  EXPECT_EQ(submitted->proposal_id.size(), 64u);
  EXPECT_EQ(Execute(proposal).error().code, ErrorCode::kAlreadyExists);
  const Bytes ballot = Ballot(1, submitted->proposal_id, false);
  ASSERT_TRUE(Execute(ballot).ok());
  EXPECT_EQ(Execute(ballot).error().code, ErrorCode::kAlreadyExists);
}

// A tampered ballot and a non-member's ballot are refused and change nothing.
TEST_F(ProposalTest, TamperedAndNonMemberBallotsAreRefused) {
  const std::string id = Submit("open_network");
  ASSERT_TRUE(Execute(Ballot(0, id, true)).ok());
  const auto before = Effects();
  Bytes tampered = Ballot(1, id, true);
  tampered[tampered.size() - 1] ^= 0x40;
  EXPECT_EQ(Execute(tampered).error().code, ErrorCode::kVerification);
  testing::TestMember outsider = MakeMember("outsider");
  Result<Outcome> outsider_vote =
      Execute(Sign(outsider, RequestType::kBallot, R"({"vote":"for"})", id));
  EXPECT_EQ(outsider_vote.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(Effects(), before);
  EXPECT_EQ(Get(kServiceMap, kServiceStatusKey), "opening");
}

// Ballots against that make the threshold unreachable reject the proposal; later ballots on it
// are refused with its state.
TEST_F(ProposalTest, RejectedWhenThresholdUnreachable) {
  const std::string id = Submit("open_network");
  Result<Outcome> first = Execute(Ballot(1, id, false));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->state, ProposalState::kOpen);
  Result<Outcome> second = Execute(Ballot(2, id, false));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->state, ProposalState::kRejected);
  Result<Outcome> late = Execute(Ballot(0, id, true));
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.error().message.find("rejected"), std::string::npos);
  EXPECT_EQ(Get(kServiceMap, kServiceStatusKey), "opening");
}

// A member's later ballot replaces its earlier one.
TEST_F(ProposalTest, LaterBallotReplacesEarlier) {
  const std::string id = Submit("open_network");
  ASSERT_TRUE(Execute(Ballot(1, id, true)).ok());
  Result<Outcome> changed =
      Execute(Sign(members_[1], RequestType::kBallot, R"({"vote":"against"})", id, kNow + 1));
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->votes_for, 0u);
  EXPECT_EQ(changed->votes_against, 1u);
}

// Only the proposer may withdraw; a withdrawn proposal takes no ballots and has no effect.
TEST_F(ProposalTest, Withdrawal) {
  const std::string id = Submit("open_network");
  Result<Outcome> by_other = Execute(Sign(members_[1], RequestType::kWithdrawal, "", id));
  EXPECT_EQ(by_other.error().code, ErrorCode::kPermissionDenied);
  Result<Outcome> withdrawn = Execute(Sign(members_[0], RequestType::kWithdrawal, "", id));
  ASSERT_TRUE(withdrawn.ok()) << withdrawn.error().ToString();
  EXPECT_EQ(withdrawn->state, ProposalState::kWithdrawn);
  ASSERT_TRUE(Execute(Ballot(1, id, true)).error().message.find("withdrawn") != std::string::npos);
  EXPECT_FALSE(Execute(Ballot(2, id, true)).ok());
  EXPECT_EQ(Get(kServiceMap, kServiceStatusKey), "opening");
}

// Malformed proposals are refused at submission with the reason; ballots must say for/against.
TEST_F(ProposalTest, MalformedRequestsAreRefused) {
  auto submit = [&](std::string_view payload) {
    return Execute(Sign(members_[0], RequestType::kProposal, payload));
  };
  EXPECT_NE(submit(R"({"actions":[{"name":"make_coffee"}]})").error().message.find("make_coffee"),
            std::string::npos);
  EXPECT_FALSE(submit(R"({"actions":[]})").ok());
  EXPECT_FALSE(submit(R"({"actions":[{"name":"open_network","args":{"x":1}}]})").ok());
  EXPECT_FALSE(submit(R"({"actions":[{"name":"set_join_mode","args":{"mode":"maybe"}}]})").ok());
  EXPECT_FALSE(submit(R"({"actions":[{"name":"add_member","args":{"certificate":"x"}}]})").ok());
  EXPECT_FALSE(submit("not json").ok());
  const std::string id = Submit("open_network");
  EXPECT_FALSE(Execute(Sign(members_[1], RequestType::kBallot, R"({"vote":"yes"})", id)).ok());
  EXPECT_EQ(Execute(Ballot(1, "00", true)).error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(Execute(Sign(members_[0], RequestType::kRecoveryShare, "{}")).ok());
}

// Members are added with their encryption key and removed; the removed member's requests are
// refused afterwards and its ballots on open proposals stop counting.
TEST_F(ProposalTest, AddAndRemoveMember) {
  testing::TestMember newcomer = MakeMember("newcomer");
  json args;
  args["certificate"] = newcomer.certificate.Pem();
  args["encryption_public_key"] = Base64Encode(newcomer.EncryptionPublicRaw());
  Pass("add_member", args.dump());
  members_.push_back(newcomer);
  kv::Tx tx = store_.Begin();
  EXPECT_EQ(FindMember(tx, newcomer.id)->record.encryption_public_key,
            newcomer.EncryptionPublicRaw());
  EXPECT_EQ(ReadNodeRequest(tx, kReissueRecoveryShares)->count, 1u);
  tx.Abort();

  // Four members now: majority is three.
  const std::string pending = Submit("rotate_ledger_secret");
  ASSERT_TRUE(Execute(Ballot(2, pending, true)).ok());
  json remove;
  remove["member_id"] = members_[2].id;
  const std::string id = Submit("remove_member", remove.dump());
  ASSERT_TRUE(Execute(Ballot(0, id, true)).ok());
  ASSERT_TRUE(Execute(Ballot(1, id, true)).ok());
  Result<Outcome> removed = Execute(Ballot(3, id, true));
  ASSERT_TRUE(removed.ok()) << removed.error().ToString();
  EXPECT_EQ(removed->state, ProposalState::kAccepted);
  tx = store_.Begin();
  EXPECT_FALSE(FindMember(tx, members_[2].id).ok());
  tx.Abort();
  EXPECT_EQ(Execute(Ballot(2, pending, true)).error().code, ErrorCode::kPermissionDenied);
  // Member 2's earlier ballot no longer counts toward the pending proposal.
  Result<Outcome> tally = Execute(Ballot(0, pending, true));
  ASSERT_TRUE(tally.ok());
  EXPECT_EQ(tally->votes_for, 1u);
}

// Removing a member is refused when it would leave fewer recovery-key holders than the recovery
// threshold, or no active member.
TEST_F(ProposalTest, RemoveMemberKeepsRecoveryPossible) {
  Pass("set_recovery_threshold", R"({"threshold":3})");
  json remove;
  remove["member_id"] = members_[2].id;
  const std::string id = Submit("remove_member", remove.dump());
  ASSERT_TRUE(Execute(Ballot(0, id, true)).ok());
  Result<Outcome> refused = Execute(Ballot(1, id, true));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("recovery threshold"), std::string::npos);
}

// Users are added by certificate and removed by id.
TEST_F(ProposalTest, AddAndRemoveUser) {
  testing::TestMember user = MakeMember("user");
  json args;
  args["certificate"] = user.certificate.Pem();
  Pass("add_user", args.dump());
  const std::string user_id = ToHex(crypto::Sha256(user.certificate.Der()));
  EXPECT_EQ(Get(kUsersMap, user_id), user.certificate.Pem());
  Pass("remove_user", R"({"user_id":")" + user_id + "\"}");
  EXPECT_FALSE(Get(kUsersMap, user_id).has_value());
}

// Allowed measurements are added and removed per platform; removing the last one is refused
// because an empty list would allow any measurement.
TEST_F(ProposalTest, AddAndRemoveMeasurement) {
  const std::string first = ToHex(Bytes(48, 0xaa));
  const std::string second = ToHex(Bytes(48, 0xbb));
  Pass("add_measurement", R"({"platform":"sev_snp","measurement":")" + first + "\"}");
  Pass("add_measurement", R"({"platform":"sev_snp","measurement":")" + second + "\"}");
  EXPECT_EQ(Policy().RuleFor(tee::Platform::kSevSnp)->measurements.size(), 2u);
  Pass("remove_measurement", R"({"platform":"sev_snp","measurement":")" + first + "\"}");
  ASSERT_EQ(Policy().RuleFor(tee::Platform::kSevSnp)->measurements,
            std::vector<Bytes>{Bytes(48, 0xbb)});
  const std::string id =
      Submit("remove_measurement", R"({"platform":"sev_snp","measurement":")" + second + "\"}");
  ASSERT_TRUE(Execute(Ballot(0, id, true)).ok());
  Result<Outcome> refused = Execute(Ballot(1, id, true));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("any measurement"), std::string::npos);
}

// Minimum TCB versions and host data are set per platform in the policy.
TEST_F(ProposalTest, SetMinTcbAndHostData) {
  Pass("set_min_tcb", R"({"platform":"sev_snp","name":"snp","minimum":8})");
  Pass("set_min_tcb", R"({"platform":"sev_snp","name":"snp","minimum":9})");
  const tee::Policy policy = Policy();
  const tee::PlatformRule* rule = policy.RuleFor(tee::Platform::kSevSnp);
  ASSERT_NE(rule, nullptr);
  std::vector<std::pair<std::string, uint64_t>> expected = {{"snp", 9}};
  EXPECT_EQ(rule->min_security_versions, expected);
  Pass("set_host_data", R"({"platform":"tdx","host_data":["0102"]})");
  const std::vector<Bytes> host_data = {Bytes{1, 2}};
  EXPECT_EQ(Policy().RuleFor(tee::Platform::kTdx)->host_data, host_data);
}

// The join mode switches to a members' vote; a pending node becomes trusted by vote, and a
// node is removed (retired) by vote.
TEST_F(ProposalTest, JoinModeAndNodes) {
  Pass("set_join_mode", R"({"mode":"vote"})");
  EXPECT_EQ(Get(kServiceMap, kJoinModeKey), "vote");
  EXPECT_EQ(NodeStatus(2), "pending");
  Pass("trust_node", R"({"node_id":2})");
  EXPECT_EQ(NodeStatus(2), "trusted");
  Pass("remove_node", R"({"node_id":1})");
  EXPECT_EQ(NodeStatus(1), "retired");
  // Trusting a node that is not pending (here: retired) fails when the proposal executes.
  const std::string id = Submit("trust_node", R"({"node_id":1})");
  ASSERT_TRUE(Execute(Ballot(0, id, true)).ok());
  EXPECT_EQ(Execute(Ballot(1, id, true)).error().code, ErrorCode::kFailedPrecondition);
}

// Key rotations are recorded as requests for the node, counted, with the deciding proposal.
TEST_F(ProposalTest, RotationsAreRecordedForTheNode) {
  Pass("rotate_ledger_secret");
  Pass("rotate_ledger_secret");
  Pass("rotate_service_hpke_key");
  kv::Tx tx = store_.Begin();
  EXPECT_EQ(ReadNodeRequest(tx, kRotateLedgerSecret)->count, 2u);
  NodeRequest hpke = ReadNodeRequest(tx, kRotateServiceHpkeKey).value();
  EXPECT_EQ(hpke.count, 1u);
  EXPECT_EQ(hpke.proposal_id, last_id_);
  tx.Abort();
}

// The recovery threshold is set within the number of members holding recovery keys.
TEST_F(ProposalTest, SetRecoveryThreshold) {
  Pass("set_recovery_threshold", R"({"threshold":3})");
  EXPECT_EQ(Get(kServiceMap, kRecoveryThresholdKey), "3");
  const std::string id = Submit("set_recovery_threshold", R"({"threshold":4})");
  ASSERT_TRUE(Execute(Ballot(0, id, true)).ok());
  EXPECT_EQ(Execute(Ballot(1, id, true)).error().code, ErrorCode::kFailedPrecondition);
}

// Per-action thresholds override the majority: after requiring all three members for
// add_user, two ballots no longer suffice, and the proposal passes with the third.
TEST_F(ProposalTest, PerActionThresholdOverride) {
  Pass("set_action_threshold", R"({"action":"add_user","threshold":3})");
  EXPECT_EQ(Get(kThresholdsMap, "add_user"), "3");
  testing::TestMember user = MakeMember("user");
  json args;
  args["certificate"] = user.certificate.Pem();
  const std::string id = Submit("add_user", args.dump());
  ASSERT_TRUE(Execute(Ballot(0, id, true)).ok());
  Result<Outcome> two = Execute(Ballot(1, id, true));
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->threshold, 3u);
  EXPECT_EQ(two->state, ProposalState::kOpen);
  Result<Outcome> three = Execute(Ballot(2, id, true));
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(three->state, ProposalState::kAccepted);
  // Other actions keep the default (majority).
  Pass("rotate_service_hpke_key");
}

// A proposal with several actions applies all of them in the deciding transaction, or none if
// one fails.
TEST_F(ProposalTest, MultiActionProposalIsAtomic) {
  const std::string good =
      R"({"actions":[{"name":"open_network"},{"name":"set_join_mode","args":{"mode":"vote"}}]})";
  Result<Outcome> submitted = Execute(Sign(members_[0], RequestType::kProposal, good));
  ASSERT_TRUE(submitted.ok());
  ASSERT_TRUE(Execute(Ballot(0, submitted->proposal_id, true)).ok());
  ASSERT_TRUE(Execute(Ballot(1, submitted->proposal_id, true)).ok());
  EXPECT_EQ(Get(kServiceMap, kServiceStatusKey), "open");
  EXPECT_EQ(Get(kServiceMap, kJoinModeKey), "vote");

  const std::string bad = R"({"actions":[{"name":"set_join_mode","args":{"mode":"automatic"}},)"
                          R"({"name":"trust_node","args":{"node_id":99}}]})";
  submitted = Execute(Sign(members_[0], RequestType::kProposal, bad, "", kNow + 1));
  ASSERT_TRUE(submitted.ok());
  ASSERT_TRUE(Execute(Ballot(0, submitted->proposal_id, true)).ok());
  Result<Outcome> failed = Execute(Ballot(1, submitted->proposal_id, true));
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("action 1 (trust_node)"), std::string::npos);
  EXPECT_EQ(Get(kServiceMap, kJoinModeKey), "vote");
}

// Every action has a name listed for tools, and MakeProposal refuses bad arguments up front.
TEST_F(ProposalTest, ActionCatalogue) {
  EXPECT_EQ(ActionNames().size(), 16u);
  EXPECT_TRUE(MakeProposal("open_network", "{}").ok());
  EXPECT_FALSE(MakeProposal("set_recovery_threshold", R"({"threshold":0})").ok());
  EXPECT_FALSE(MakeProposal("open_network", "[]").ok());
}

}  // namespace
}  // namespace cloister::gov
