#include "cloister/gov/recovery.h"

#include <gtest/gtest.h>

#include "cloister/crypto/random.h"
#include "cloister/gov/tables.h"
#include "gov/gov_test_util.h"

namespace cloister::gov {
namespace {

using testing::GovTest;
using testing::kNow;

// Three members with recovery keys, threshold two.
class RecoveryTest : public GovTest {
 protected:
  void SetUp() override {
    Genesis(3, 2);
    secrets_ = {{1, crypto::SecureRandomBytes(32)}, {100, crypto::SecureRandomBytes(32)}};
    kv::Tx tx = store_.Begin();
    Status issued = IssueRecoveryShares(tx, secrets_);
    ASSERT_TRUE(issued.ok()) << issued.error().ToString();
    ASSERT_TRUE(store_.Commit(tx).ok());
  }

  // Member `index` opens its share and signs it as a recovery_share request, verified against
  // the (old) state as a recovering node would.
  VerifiedRequest ShareRequest(size_t index) {
    kv::Tx tx = store_.Begin();
    EncryptedShare encrypted = ReadEncryptedShare(tx, members_[index].id).value();
    shamir::Share share = DecryptShare(encrypted, members_[index].encryption.private_key).value();
    const Bytes message =
        Sign(members_[index], RequestType::kRecoveryShare, RecoverySharePayload(share));
    Result<VerifiedRequest> verified =
        VerifyRequest(tx, message, VerifyRequestOptions{testing::ServiceId(), kNow});
    tx.Abort();
    EXPECT_TRUE(verified.ok()) << verified.error().ToString();
    return verified.value();
  }

  RecoveryCoordinator Coordinator() {
    kv::Tx tx = store_.Begin();
    Result<RecoveryCoordinator> coordinator = RecoveryCoordinator::FromState(tx);
    tx.Abort();
    EXPECT_TRUE(coordinator.ok()) << coordinator.error().ToString();
    return coordinator.value();
  }

  LedgerSecretMap secrets_;
};

// Any two members' shares give back every ledger secret; the public tables hold no secret.
TEST_F(RecoveryTest, ThresholdOfSharesRecoversTheSecrets) {
  for (auto [a, b] : std::vector<std::pair<size_t, size_t>>{{0, 1}, {0, 2}, {2, 1}}) {
    RecoveryCoordinator coordinator = Coordinator();
    EXPECT_EQ(coordinator.threshold(), 2u);
    ASSERT_EQ(coordinator.Submit(ShareRequest(a)).value(), 1u);
    ASSERT_EQ(coordinator.Submit(ShareRequest(b)).value(), 2u);
    Result<LedgerSecretMap> recovered = coordinator.Recover();
    ASSERT_TRUE(recovered.ok()) << recovered.error().ToString();
    EXPECT_EQ(*recovered, secrets_);
  }
  ASSERT_TRUE(
      store_
          .ForEachAt(store_.current_version(),
                     [&](const std::string& map, const std::string&, const std::string& value) {
                       for (const auto& [start, secret] : secrets_) {
                         EXPECT_EQ(value.find(AsString(secret)), std::string::npos) << map;
                         EXPECT_EQ(value.find(ToHex(secret)), std::string::npos) << map;
                         EXPECT_EQ(value.find(Base64Encode(secret)), std::string::npos);
                       }
                     })
          .ok());
}

// With fewer shares than the threshold nothing is recovered; one member cannot count twice,
// even by re-signing its share.
TEST_F(RecoveryTest, BelowThresholdRecoversNothing) {
  RecoveryCoordinator coordinator = Coordinator();
  ASSERT_TRUE(coordinator.Submit(ShareRequest(1)).ok());
  Result<LedgerSecretMap> early = coordinator.Recover();
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, ErrorCode::kFailedPrecondition);
  VerifiedRequest again = ShareRequest(1);
  EXPECT_EQ(coordinator.Submit(again).error().code, ErrorCode::kAlreadyExists);
  EXPECT_FALSE(coordinator.Recover().ok());
}

// A corrupted share is detected: the rebuilt key does not open the wrapped secrets.
TEST_F(RecoveryTest, WrongShareIsDetected) {
  RecoveryCoordinator coordinator = Coordinator();
  ASSERT_TRUE(coordinator.Submit(ShareRequest(0)).ok());
  kv::Tx tx = store_.Begin();
  shamir::Share share = DecryptShare(ReadEncryptedShare(tx, members_[1].id).value(),
                                     members_[1].encryption.private_key)
                            .value();
  share.y[5] ^= 0x01;
  const Bytes message = Sign(members_[1], RequestType::kRecoveryShare, RecoverySharePayload(share));
  VerifiedRequest request =
      VerifyRequest(tx, message, VerifyRequestOptions{testing::ServiceId(), kNow}).value();
  tx.Abort();
  ASSERT_TRUE(coordinator.Submit(request).ok());
  Result<LedgerSecretMap> recovered = coordinator.Recover();
  ASSERT_FALSE(recovered.ok());
  EXPECT_EQ(recovered.error().code, ErrorCode::kVerification);
}

// A share opens only with its own member's key (another member's key fails).
TEST_F(RecoveryTest, ShareOpensOnlyForItsMember) {
  kv::Tx tx = store_.Begin();
  EncryptedShare encrypted = ReadEncryptedShare(tx, members_[0].id).value();
  tx.Abort();
  EXPECT_TRUE(DecryptShare(encrypted, members_[0].encryption.private_key).ok());
  Result<shamir::Share> other = DecryptShare(encrypted, members_[1].encryption.private_key);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kVerification);
  // Relabelling the share for another member changes the HPKE info, so it no longer opens.
  encrypted.member_id = members_[1].id;
  EXPECT_FALSE(DecryptShare(encrypted, members_[0].encryption.private_key).ok());
}

// Re-issuing replaces every share: shares from the previous issue no longer rebuild the key.
TEST_F(RecoveryTest, ReissueInvalidatesOldShares) {
  VerifiedRequest old_share = ShareRequest(0);
  kv::Tx tx = store_.Begin();
  ASSERT_TRUE(IssueRecoveryShares(tx, secrets_).ok());
  ASSERT_TRUE(store_.Commit(tx).ok());
  RecoveryCoordinator coordinator = Coordinator();
  ASSERT_TRUE(coordinator.Submit(old_share).ok());
  ASSERT_TRUE(coordinator.Submit(ShareRequest(1)).ok());
  EXPECT_EQ(coordinator.Recover().error().code, ErrorCode::kVerification);
}

// Issuing needs a usable threshold and well-formed secrets; other request types are refused by
// the coordinator; a ledger without recovery material is reported as such.
TEST_F(RecoveryTest, Preconditions) {
  kv::Tx tx = store_.Begin();
  EXPECT_FALSE(IssueRecoveryShares(tx, {}).ok());
  EXPECT_FALSE(IssueRecoveryShares(tx, {{1, Bytes(16, 1)}}).ok());
  ASSERT_TRUE(tx.rw(kServiceMap)->put(kRecoveryThresholdKey, "4").ok());
  EXPECT_EQ(IssueRecoveryShares(tx, secrets_).error().code, ErrorCode::kFailedPrecondition);
  tx.Abort();

  RecoveryCoordinator coordinator = Coordinator();
  VerifiedRequest not_a_share = ShareRequest(0);
  not_a_share.headers.type = RequestType::kProposal;
  EXPECT_FALSE(coordinator.Submit(not_a_share).ok());

  kv::Store empty;
  kv::Tx empty_tx = empty.Begin();
  EXPECT_EQ(RecoveryCoordinator::FromState(empty_tx).error().code, ErrorCode::kNotFound);
  empty_tx.Abort();
}

}  // namespace
}  // namespace cloister::gov
