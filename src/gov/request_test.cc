#include "cloister/gov/request.h"

#include <gtest/gtest.h>

#include "cloister/crypto/cbor.h"
#include "cloister/crypto/cose.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/signature.h"
#include "gov/gov_test_util.h"

namespace cloister::gov {
namespace {

using testing::GovTest;
using testing::kNow;
using testing::MakeMember;

class RequestTest : public GovTest {
 protected:
  void SetUp() override { Genesis(2); }

  Bytes VerifiedService(ByteSpan message) {
    Result<VerifiedRequest> verified = Verify(message);
    return verified.ok() ? verified->headers.service_id : Bytes{};
  }

  Result<VerifiedRequest> Verify(ByteSpan message, int64_t now = kNow) {
    kv::Tx tx = store_.Begin();
    Result<VerifiedRequest> verified =
        VerifyRequest(tx, message, VerifyRequestOptions{testing::ServiceId(), now});
    tx.Abort();
    return verified;
  }
};

// A member's signed request verifies and yields its signer, headers, payload and digest; its
// protected header carries the kid, type and created_at that docs/governance.md describes.
TEST_F(RequestTest, SignedRequestVerifies) {
  const Bytes message = Sign(members_[1], RequestType::kBallot, R"({"vote":"for"})", "ab12");
  Result<VerifiedRequest> verified = Verify(message);
  ASSERT_TRUE(verified.ok()) << verified.error().ToString();
  EXPECT_EQ(verified->member_id, members_[1].id);
  EXPECT_EQ(verified->headers.type, RequestType::kBallot);
  EXPECT_EQ(verified->headers.proposal_id, "ab12");
  EXPECT_EQ(verified->headers.created_at_unix_seconds, kNow);
  EXPECT_EQ(AsString(verified->payload), R"({"vote":"for"})");

  Result<crypto::cose::Sign1Message> decoded = crypto::cose::DecodeSign1(message);
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->tagged);
  EXPECT_EQ(decoded->Header(crypto::cose::kHeaderKid)->data(),
            crypto::Sha256(members_[1].certificate.Der()));
  EXPECT_EQ(decoded->Header(kHeaderType)->AsText().value(), "ballot");
  EXPECT_EQ(verified->digest, crypto::Sha256(crypto::cose::Sig1Structure(decoded->protected_bytes,
                                                                         {}, *decoded->payload)));
}

// Changing any byte of a signed request (header, payload or signature) makes it fail.
TEST_F(RequestTest, TamperedRequestIsRefused) {
  const Bytes message = Sign(members_[0], RequestType::kProposal, R"({"actions":[]})");
  ASSERT_TRUE(Verify(message).ok());
  size_t refused = 0;
  for (size_t i = 0; i < message.size(); ++i) {
    Bytes tampered = message;
    tampered[i] ^= 0x01;
    refused += Verify(tampered).ok() ? 0u : 1u;
  }
  EXPECT_EQ(refused, message.size());
}

// A request whose payload was changed (re-encoded validly) fails signature verification with a
// verification error that names the member.
TEST_F(RequestTest, ChangedPayloadFailsSignature) {
  const Bytes message = Sign(members_[0], RequestType::kBallot, R"({"vote":"for"})", "ab");
  crypto::cbor::Value value = crypto::cbor::Decode(message).value();
  crypto::cbor::Value array = *value.TagContent().value();
  std::vector<crypto::cbor::Value> items = array.items();
  items[2] = crypto::cbor::Value::ByteString(ToBytes(R"({"vote":"against"})"));
  const Bytes forged = crypto::cbor::Encode(
      crypto::cbor::Value::Tag(18, crypto::cbor::Value::Array(std::move(items))));
  Result<VerifiedRequest> verified = Verify(forged);
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().code, ErrorCode::kVerification);
  EXPECT_NE(verified.error().message.find(members_[0].id), std::string::npos);
}

// Someone who is not a member (a valid key and certificate, but not in the members table) is
// refused as such.
TEST_F(RequestTest, NonMemberIsRefused) {
  testing::TestMember outsider = MakeMember("outsider");
  Result<VerifiedRequest> verified = Verify(Sign(outsider, RequestType::kProposal, "{}"));
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(verified.error().message.find("not a member"), std::string::npos);
}

// A member's certificate with an outsider's signature (kid of a member, key of another) fails.
TEST_F(RequestTest, SignatureByAnotherKeyIsRefused) {
  testing::TestMember outsider = MakeMember("outsider");
  Result<PreparedRequest> prepared = PreparedRequest::Prepare(
      members_[0].certificate,
      RequestHeaders{RequestType::kProposal, kNow, "", {}, testing::ServiceId()}, ToBytes("{}"));
  ASSERT_TRUE(prepared.ok());
  Bytes signature = SignToBeSigned(outsider.key, prepared->ToBeSigned()).value();
  Result<Bytes> finished = prepared->Finish(members_[0].certificate, signature);
  ASSERT_FALSE(finished.ok());
  EXPECT_EQ(finished.error().code, ErrorCode::kVerification);
}

// created_at outside [now - max_age, now + max_future] is refused; inside it is accepted.
TEST_F(RequestTest, StaleOrFutureRequestIsRefused) {
  const Bytes old_request = Sign(members_[0], RequestType::kProposal, "{}", "", kNow - 601);
  const Bytes future_request = Sign(members_[0], RequestType::kProposal, "{}", "", kNow + 121);
  const Bytes recent_request = Sign(members_[0], RequestType::kProposal, "{}", "", kNow - 599);
  EXPECT_EQ(Verify(old_request).error().code, ErrorCode::kOutOfRange);
  EXPECT_EQ(Verify(future_request).error().code, ErrorCode::kOutOfRange);
  EXPECT_TRUE(Verify(recent_request).ok());
}

// Once recorded, the same request, and the same content signed again (ECDSA signatures differ
// each time), are replays.
TEST_F(RequestTest, RecordedRequestIsAReplay) {
  const Bytes message = Sign(members_[0], RequestType::kBallot, R"({"vote":"for"})", "ab");
  const Bytes resigned = Sign(members_[0], RequestType::kBallot, R"({"vote":"for"})", "ab");
  ASSERT_NE(message, resigned);
  kv::Tx tx = store_.Begin();
  Result<VerifiedRequest> verified =
      VerifyRequest(tx, message, VerifyRequestOptions{testing::ServiceId(), kNow});
  ASSERT_TRUE(verified.ok());
  ASSERT_TRUE(RecordRequest(tx, *verified).ok());
  ASSERT_TRUE(store_.Commit(tx).ok());
  for (const Bytes& replay : {message, resigned}) {
    Result<VerifiedRequest> again = Verify(replay);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
    EXPECT_NE(again.error().message.find("replay"), std::string::npos);
  }
}

// Verifies and records requests at a given node clock, as executing them does, and reads the
// requests table back.
class RequestPruningTest : public RequestTest {
 protected:
  Status Record(ByteSpan message, int64_t now) {
    kv::Tx tx = store_.Begin();
    Result<VerifiedRequest> verified =
        VerifyRequest(tx, message, VerifyRequestOptions{testing::ServiceId(), now});
    Status recorded = verified.ok() ? RecordRequest(tx, *verified) : Status(verified.error());
    if (!recorded.ok()) {
      tx.Abort();
      return recorded;
    }
    RETURN_IF_ERROR(store_.Commit(tx));
    return OkStatus();
  }

  Bytes Request(int64_t created_at) {
    return Sign(members_[0], RequestType::kProposal, "{}", "", created_at);
  }

  // The created_at of every recorded request, in key order (the horizon key left out).
  std::vector<int64_t> Recorded() {
    std::vector<int64_t> out;
    kv::Tx tx = store_.Begin();
    kv::Page<std::string, std::string> page = tx.ro(kRequestsMap)->range("", std::nullopt, 1000);
    for (const auto& [key, value] : page.items) {
      if (key == kRequestsPrunedBeforeKey) continue;
      EXPECT_EQ(key.size(), 19u + 1 + 64) << key;
      out.push_back(std::stoll(key.substr(0, 19)));
      EXPECT_EQ(value.substr(value.find(' ') + 1), std::to_string(out.back()));
    }
    tx.Abort();
    return out;
  }

  int64_t Horizon() {
    kv::Tx tx = store_.Begin();
    const int64_t horizon = RequestsPrunedBefore(tx).value();
    tx.Abort();
    return horizon;
  }
};

// A digest is pruned once its request is older than the window; replaying that request stays
// refused, by the clock and, under a node whose clock is behind, by the stored horizon; within
// the window a replay is refused as a replay.
TEST_F(RequestPruningTest, PrunedRequestStaysRefused) {
  const Bytes first = Request(kNow);
  ASSERT_TRUE(Record(first, kNow).ok());
  EXPECT_EQ(Recorded(), std::vector<int64_t>{kNow});
  EXPECT_EQ(Horizon(), kNow - 600);
  Result<VerifiedRequest> replay = Verify(first, kNow + 10);
  ASSERT_FALSE(replay.ok());
  EXPECT_EQ(replay.error().code, ErrorCode::kAlreadyExists);

  // 700 s later another request executes: the first one's digest is pruned.
  ASSERT_TRUE(Record(Request(kNow + 700), kNow + 700).ok());
  EXPECT_EQ(Recorded(), std::vector<int64_t>{kNow + 700});
  EXPECT_EQ(Horizon(), kNow + 100);
  replay = Verify(first, kNow + 700);
  ASSERT_FALSE(replay.ok());
  EXPECT_EQ(replay.error().code, ErrorCode::kOutOfRange);
  // A leader whose clock is 690 s behind would find the first request fresh, and its digest is
  // gone: the horizon refuses it.
  replay = Verify(first, kNow + 10);
  ASSERT_FALSE(replay.ok());
  EXPECT_EQ(replay.error().code, ErrorCode::kOutOfRange);
  EXPECT_NE(replay.error().message.find("pruned"), std::string::npos) << replay.error().message;
  EXPECT_FALSE(Record(first, kNow + 10).ok());
  EXPECT_EQ(Recorded(), std::vector<int64_t>{kNow + 700});
  // That leader still accepts requests created after the horizon.
  EXPECT_TRUE(Verify(Request(kNow + 101), kNow + 10).ok());
}

// Each executed request removes at most kMaxPrunedPerRequest old entries, so a backlog shrinks
// over the following requests; the horizon never moves back, and never past the executing
// request's created_at less the window, whatever the node's clock says.
TEST_F(RequestPruningTest, PruningIsBoundedAndTheHorizonOnlyGrows) {
  constexpr int64_t kBacklog = 20;
  static_assert(kBacklog > static_cast<int64_t>(kMaxPrunedPerRequest));
  for (int64_t i = 1; i <= kBacklog; ++i) ASSERT_TRUE(Record(Request(kNow + i), kNow + 20).ok());
  ASSERT_EQ(Recorded().size(), static_cast<size_t>(kBacklog));

  ASSERT_TRUE(Record(Request(kNow + 1000), kNow + 1000).ok());
  EXPECT_EQ(Horizon(), kNow + 400);
  std::vector<int64_t> left = Recorded();
  ASSERT_EQ(left.size(), kBacklog - kMaxPrunedPerRequest + 1);
  EXPECT_EQ(left.front(), kNow + 1 + static_cast<int64_t>(kMaxPrunedPerRequest));  // oldest go
  ASSERT_TRUE(Record(Request(kNow + 1001), kNow + 1001).ok());
  EXPECT_EQ(Recorded(), (std::vector<int64_t>{kNow + 1000, kNow + 1001}));

  // A node clock ahead of the member's: the horizon follows created_at (1100 - 600).
  ASSERT_TRUE(Record(Request(kNow + 1100), kNow + 1200).ok());
  EXPECT_EQ(Horizon(), kNow + 500);
  // A node clock behind (a new leader): the horizon stays where it was.
  ASSERT_TRUE(Record(Request(kNow + 700), kNow + 800).ok());
  EXPECT_EQ(Horizon(), kNow + 500);
  EXPECT_EQ(Recorded(), (std::vector<int64_t>{kNow + 700, kNow + 1000, kNow + 1001, kNow + 1100}));
}

// The same content with different nonces makes distinct requests (both execute), and the
// nonce is read back from the protected header.
TEST_F(RequestTest, NonceDistinguishesRequests) {
  kv::Tx tx = store_.Begin();
  for (uint8_t nonce = 1; nonce <= 2; ++nonce) {
    RequestHeaders headers{RequestType::kProposal, kNow, "", Bytes(16, nonce),
                           testing::ServiceId()};
    const Bytes message =
        SignRequest(members_[0].key, members_[0].certificate, headers, ToBytes("{}")).value();
    Result<VerifiedRequest> verified =
        VerifyRequest(tx, message, VerifyRequestOptions{testing::ServiceId(), kNow});
    ASSERT_TRUE(verified.ok()) << verified.error().ToString();
    EXPECT_EQ(verified->headers.nonce, Bytes(16, nonce));
    ASSERT_TRUE(RecordRequest(tx, *verified).ok());
  }
  tx.Abort();
}

// Two-step signing: the prepared request survives a file round trip, an external signer signs
// the Sig_structure (here in DER form, as HSMs and OpenSSL produce it), and Finish assembles a
// request that verifies.
TEST_F(RequestTest, TwoStepSigningWithDerSignature) {
  Result<PreparedRequest> prepared = PreparedRequest::Prepare(
      members_[1].certificate,
      RequestHeaders{RequestType::kWithdrawal, kNow, "cafe", {}, testing::ServiceId()}, {});
  ASSERT_TRUE(prepared.ok());
  Result<PreparedRequest> reloaded = PreparedRequest::Decode(prepared->Encode());
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().ToString();
  EXPECT_EQ(reloaded->ToBeSigned(), prepared->ToBeSigned());
  const Bytes der = crypto::Sign(members_[1].key, crypto::HashAlgorithm::kSha256,
                                 reloaded->ToBeSigned(), crypto::SignatureFormat::kDer)
                        .value();
  Result<Bytes> message = reloaded->Finish(members_[1].certificate, der);
  ASSERT_TRUE(message.ok()) << message.error().ToString();
  Result<VerifiedRequest> verified = Verify(*message);
  ASSERT_TRUE(verified.ok()) << verified.error().ToString();
  EXPECT_EQ(verified->headers.type, RequestType::kWithdrawal);
  // Finishing with another member's certificate is refused (the kid names the first).
  EXPECT_FALSE(reloaded->Finish(members_[0].certificate, der).ok());
}

// Ed25519 and P-384 members sign with EdDSA and ES384.
TEST_F(RequestTest, OtherKeyTypes) {
  for (crypto::KeyType type : {crypto::KeyType::kEd25519, crypto::KeyType::kP384}) {
    testing::TestMember member = MakeMember("other", type);
    kv::Tx tx = store_.Begin();
    ASSERT_TRUE(tx.rw(kMembersMap)
                    ->put(member.id, MakeMemberRecord(member.certificate.Pem(), {})->ToJson())
                    .ok());
    ASSERT_TRUE(store_.Commit(tx).ok());
    Result<VerifiedRequest> verified = Verify(Sign(member, RequestType::kProposal, "{}"));
    EXPECT_TRUE(verified.ok()) << verified.error().ToString();
  }
}

// Header rules: ballots and withdrawals need a proposal id, proposals must not have one, and
// created_at must be positive.
TEST_F(RequestTest, HeaderRules) {
  const crypto::Certificate& certificate = members_[0].certificate;
  const Bytes service = testing::ServiceId();
  auto prepare = [&](RequestType type, int64_t created_at, const std::string& proposal_id,
                     Bytes nonce, Bytes service_id) {
    return PreparedRequest::Prepare(
        certificate, {type, created_at, proposal_id, std::move(nonce), std::move(service_id)}, {});
  };
  EXPECT_TRUE(prepare(RequestType::kProposal, kNow, "", {}, service).ok());
  EXPECT_FALSE(prepare(RequestType::kBallot, kNow, "", {}, service).ok());
  EXPECT_FALSE(prepare(RequestType::kWithdrawal, kNow, "", {}, service).ok());
  EXPECT_FALSE(prepare(RequestType::kProposal, kNow, "ab", {}, service).ok());
  EXPECT_FALSE(prepare(RequestType::kProposal, 0, "", {}, service).ok());
  EXPECT_FALSE(prepare(RequestType::kProposal, kNow, "", Bytes(33, 1), service).ok());
  // The service id is required and is a SHA-256.
  EXPECT_FALSE(prepare(RequestType::kProposal, kNow, "", {}, {}).ok());
  EXPECT_FALSE(prepare(RequestType::kProposal, kNow, "", {}, Bytes(31, 1)).ok());
  EXPECT_FALSE(ParseRequestType("vote").ok());
  EXPECT_EQ(ParseRequestType("recovery_share").value(), RequestType::kRecoveryShare);
}

// A request signed for another service is refused by this one (a member of two networks cannot
// have a request replayed from one to the other), and a verifier must know its service id.
TEST_F(RequestTest, RequestForAnotherServiceIsRefused) {
  RequestHeaders headers{RequestType::kProposal, kNow, "", {}, Bytes(kServiceIdBytes, 0x77)};
  const Bytes other =
      SignRequest(members_[0].key, members_[0].certificate, headers, ToBytes("{}")).value();
  Result<VerifiedRequest> verified = Verify(other);
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(verified.error().message.find("not this service"), std::string::npos);

  const Bytes ours = Sign(members_[0], RequestType::kProposal, "{}");
  ASSERT_TRUE(Verify(ours).ok());
  EXPECT_EQ(VerifiedService(ours), testing::ServiceId());
  kv::Tx tx = store_.Begin();
  Result<VerifiedRequest> blind = VerifyRequest(tx, ours, VerifyRequestOptions{{}, kNow});
  tx.Abort();
  ASSERT_FALSE(blind.ok());
  EXPECT_EQ(blind.error().code, ErrorCode::kInvalidArgument);

  // ServiceIdOf is the SHA-256 of the certificate DER.
  EXPECT_EQ(ServiceIdOf(members_[1].certificate), crypto::Sha256(members_[1].certificate.Der()));
}

// A member record whose id does not match its certificate is reported as corrupt, and the
// node's genesis form (a bare certificate PEM under a positional key) reads as a member.
TEST_F(RequestTest, MemberRecordForms) {
  MemberRecord record = MakeMemberRecord(members_[0].certificate.Pem(), {}).value();
  record.id = members_[1].id;
  EXPECT_EQ(MemberRecord::Parse(record.ToJson()).error().code, ErrorCode::kCorrupt);

  testing::TestMember legacy = MakeMember("legacy");
  kv::Tx tx = store_.Begin();
  ASSERT_TRUE(tx.rw(kMembersMap)->put("7", legacy.certificate.Pem()).ok());
  ASSERT_TRUE(store_.Commit(tx).ok());
  Result<VerifiedRequest> verified = Verify(Sign(legacy, RequestType::kProposal, "{}"));
  ASSERT_TRUE(verified.ok()) << verified.error().ToString();
  EXPECT_EQ(verified->member_id, legacy.id);
}

}  // namespace
}  // namespace cloister::gov
