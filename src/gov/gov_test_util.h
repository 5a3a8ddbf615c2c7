// Test support for gov: members with keys and certificates, a store holding a genesis state,
// and helpers that sign and execute requests the way the node will (one transaction each,
// committed on success and aborted on error).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "cloister/crypto/hpke.h"
#include "cloister/crypto/key.h"
#include "cloister/crypto/x509.h"
#include "cloister/gov/proposals.h"
#include "cloister/gov/request.h"
#include "cloister/gov/tables.h"
#include "cloister/kv/store.h"
#include "cloister/tee/policy.h"

namespace cloister::gov::testing {

inline constexpr int64_t kNow = 1'750'000'000;

// The service the test requests are for (ServiceIdOf a service certificate in production).
inline Bytes ServiceId() { return Bytes(kServiceIdBytes, 0x5e); }

struct TestMember {
  crypto::PrivateKey key;
  crypto::Certificate certificate;
  crypto::hpke::KeyPair encryption;
  std::string id;

  [[nodiscard]] Bytes EncryptionPublicRaw() const { return encryption.public_key.ToRaw(); }
};

inline TestMember MakeMember(const std::string& name,
                             crypto::KeyType type = crypto::KeyType::kP256) {
  crypto::PrivateKey key = crypto::PrivateKey::Generate(type).value();
  crypto::CertificateRequest request{
      .common_name = name, .not_before = kNow - 86400, .not_after = kNow + 365 * 86400};
  crypto::Certificate certificate =
      crypto::IssueCertificate(request, key.Public(), key, nullptr).value();
  crypto::hpke::KeyPair encryption =
      crypto::hpke::GenerateKeyPair(crypto::hpke::Kem::kX25519HkdfSha256).value();
  const std::string id = MemberIdOf(certificate);
  return TestMember{std::move(key), std::move(certificate), std::move(encryption), id};
}

// A node record in the node's JSON shape (only the fields gov reads matter here).
inline std::string NodeRecordJson(uint64_t id, std::string_view status) {
  return std::string("{\"id\":") + std::to_string(id) + ",\"status\":\"" + std::string(status) +
         "\",\"certificate\":\"\"}";
}

inline std::string NodeKeyOf(uint64_t id) {
  std::string digits = std::to_string(id);
  return std::string(20 - digits.size(), '0') + digits;
}

class GovTest : public ::testing::Test {
 protected:
  // A genesis state with `count` members (all with encryption keys), the development policy,
  // node 1 trusted and node 2 pending.
  void Genesis(size_t count, uint64_t recovery_threshold = 1) {
    std::vector<GenesisMember> genesis;
    for (size_t i = 0; i < count; ++i) {
      members_.push_back(MakeMember("member" + std::to_string(i)));
      genesis.push_back({members_.back().certificate.Pem(), members_.back().EncryptionPublicRaw()});
    }
    kv::Tx tx = store_.Begin();
    ASSERT_TRUE(WriteGenesisGovernance(tx, genesis, recovery_threshold).ok());
    ASSERT_TRUE(tx.rw(kPolicyMap)->put(kPolicyKey, tee::Policy::Development().ToJson()).ok());
    ASSERT_TRUE(tx.rw(kNodesMap)->put(NodeKeyOf(1), NodeRecordJson(1, kNodeTrusted)).ok());
    ASSERT_TRUE(tx.rw(kNodesMap)->put(NodeKeyOf(2), NodeRecordJson(2, kNodePending)).ok());
    ASSERT_TRUE(store_.Commit(tx).ok());
  }

  Bytes Sign(const TestMember& member, RequestType type, std::string_view payload,
             const std::string& proposal_id = "", int64_t created_at = kNow) {
    RequestHeaders headers{type, created_at, proposal_id, {}, ServiceId()};
    Result<Bytes> message = SignRequest(member.key, member.certificate, headers, AsBytes(payload));
    EXPECT_TRUE(message.ok()) << message.error().ToString();
    return message.ok() ? *message : Bytes{};
  }

  // Each proposal gets its own created_at, so that proposing the same action twice makes two
  // distinct requests (as the CLI's random nonce does).
  Bytes Propose(size_t member, std::string_view action, std::string_view args = "{}") {
    Result<std::string> proposal = MakeProposal(action, args);
    EXPECT_TRUE(proposal.ok()) << proposal.error().ToString();
    return Sign(members_[member], RequestType::kProposal, proposal.value_or("{}"), "",
                kNow + proposals_made_++);
  }

  Bytes Ballot(size_t member, const std::string& proposal_id, bool in_favour) {
    return Sign(members_[member], RequestType::kBallot,
                in_favour ? R"({"vote":"for"})" : R"({"vote":"against"})", proposal_id);
  }

  // Executes one request in its own transaction: committed when it succeeds, aborted otherwise.
  Result<Outcome> Execute(ByteSpan message) {
    kv::Tx tx = store_.Begin();
    Result<Outcome> outcome = ExecuteRequest(tx, message, VerifyRequestOptions{ServiceId(), kNow});
    if (outcome.ok()) {
      EXPECT_TRUE(store_.Commit(tx).ok());
    } else {
      tx.Abort();
    }
    return outcome;
  }

  // Submits a proposal of `action` by member 0 and returns its id.
  std::string Submit(std::string_view action, std::string_view args = "{}") {
    Result<Outcome> outcome = Execute(Propose(0, action, args));
    EXPECT_TRUE(outcome.ok()) << outcome.error().ToString();
    return outcome.ok() ? outcome->proposal_id : "";
  }

  // Every (map, key) -> value outside the gov bookkeeping tables (proposals and requests).
  std::map<std::pair<std::string, std::string>, std::string> Effects() {
    std::map<std::pair<std::string, std::string>, std::string> state;
    EXPECT_TRUE(store_
                    .ForEachAt(store_.current_version(),
                               [&](const std::string& map, const std::string& key,
                                   const std::string& value) {
                                 if (map == kProposalsMap || map == kRequestsMap) return;
                                 state[{map, key}] = value;
                               })
                    .ok());
    return state;
  }

  std::optional<std::string> Get(std::string_view map, std::string_view key) {
    kv::Tx tx = store_.Begin();
    std::optional<std::string> value = tx.ro(map)->get(key);
    tx.Abort();
    return value;
  }

  kv::Store store_;
  std::vector<TestMember> members_;
  int64_t proposals_made_ = 0;
};

}  // namespace cloister::gov::testing
