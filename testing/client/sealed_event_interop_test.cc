// Proves the client's EventSealer and the node's EventOpener agree byte for byte (they live in
// layers that may not include each other): sealed events open, one context serves a stream in
// any order, and a changed byte, sequence number, aad or key does not open.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cloister/client/event_sealer.h"
#include "cloister/client/service.h"
#include "cloister/node/sealed_event.h"
#include "cloister/node/service_state.h"

namespace cloister {
namespace {

crypto::hpke::KeyPair ServiceKey() {
  return crypto::hpke::GenerateKeyPair(crypto::hpke::Kem::kX25519HkdfSha256).value();
}

TEST(SealedEventInteropTest, ClientEventsOpenInTheNodeInAnyOrder) {
  // Proves a stream sealed by the client opens in the node, in reverse order, with the same
  // context id on both sides.
  const crypto::hpke::KeyPair service = ServiceKey();
  node::EventOpener opener(service);
  client::EventSealer sealer = client::EventSealer::Create(service.public_key).value();
  std::vector<client::SealedEvent> sealed;
  for (int i = 0; i < 10; ++i) {
    sealed.push_back(
        sealer
            .Seal(AsBytes(R"({"op":"put","key":"k)" + std::to_string(i) + R"(","value":"secret"})"))
            .value());
  }
  for (int i = 9; i >= 0; --i) {
    Result<node::OpenedEvent> opened = opener.Open(sealed[static_cast<size_t>(i)].envelope_json);
    ASSERT_TRUE(opened.ok()) << opened.error().ToString();
    EXPECT_EQ(opened->seq, static_cast<uint64_t>(i));
    EXPECT_EQ(opened->context_id, sealer.context_id());
    EXPECT_NE(ToString(opened->plaintext).find("k" + std::to_string(i)), std::string::npos);
  }
}

TEST(SealedEventInteropTest, AadIsCarriedAndAuthenticated) {
  // Proves the caller's aad reaches the node and a changed aad is refused.
  const crypto::hpke::KeyPair service = ServiceKey();
  node::EventOpener opener(service);
  client::EventSealer sealer = client::EventSealer::Create(service.public_key).value();
  const client::SealedEvent sealed = sealer.Seal(AsBytes("event"), AsBytes("relay-7")).value();
  ASSERT_TRUE(opener.Open(sealed.envelope_json).ok());
  nlohmann::json changed = nlohmann::json::parse(sealed.envelope_json);
  changed["aad"] = Base64Encode(AsBytes("relay-8"));
  EXPECT_EQ(opener.Open(changed.dump()).error().code, ErrorCode::kVerification);
  changed.erase("aad");
  EXPECT_FALSE(opener.Open(changed.dump()).ok());
}

TEST(SealedEventInteropTest, ChangedSeqOrCiphertextByteDoesNotOpen) {
  // Proves every ciphertext byte and the sequence number are authenticated by the node.
  const crypto::hpke::KeyPair service = ServiceKey();
  node::EventOpener opener(service);
  client::EventSealer sealer = client::EventSealer::Create(service.public_key).value();
  const client::SealedEvent sealed = sealer.SealAt(41, AsBytes("a confidential event")).value();
  const nlohmann::json envelope = nlohmann::json::parse(sealed.envelope_json);
  nlohmann::json changed = envelope;
  changed["seq"] = 42;
  EXPECT_EQ(opener.Open(changed.dump()).error().code, ErrorCode::kVerification);
  Bytes ciphertext = Base64Decode(envelope["ciphertext"].get<std::string>()).value();
  for (size_t i = 0; i < ciphertext.size(); ++i) {
    ciphertext[i] ^= 0x80;
    changed = envelope;
    changed["ciphertext"] = Base64Encode(ciphertext);
    EXPECT_FALSE(opener.Open(changed.dump()).ok()) << "byte " << i;
    ciphertext[i] ^= 0x80;
  }
  EXPECT_TRUE(opener.Open(sealed.envelope_json).ok());
}

TEST(SealedEventInteropTest, AnotherServiceKeyDoesNotOpen) {
  // Proves events sealed to one service do not open in another.
  const crypto::hpke::KeyPair service = ServiceKey();
  node::EventOpener other(ServiceKey());
  client::EventSealer sealer = client::EventSealer::Create(service.public_key).value();
  EXPECT_FALSE(other.Open(sealer.Seal(AsBytes("x")).value().envelope_json).ok());
}

TEST(SealedEventInteropTest, SharedConstantsAgree) {
  // Proves the suite, info string and size limit are the same on both sides.
  EXPECT_EQ(client::EventSuite(), node::EventSuite());
  EXPECT_EQ(client::kEventInfo, node::kEventHpkeInfo);
  EXPECT_EQ(client::kEventSuiteName, node::kHpkeSuiteName);
  EXPECT_EQ(client::kMaxEventPlaintextBytes + 16, node::kMaxEventCiphertextBytes);
}

TEST(SealedEventInteropTest, ReportDataBindingAgrees) {
  // Proves the client recomputes report_data exactly as the node binds it.
  const crypto::PrivateKey key = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  const Bytes context = ToBytes("a join challenge");
  EXPECT_EQ(client::ExpectedReportData(key.Public(), context),
            node::AttestationReportData(key.Public(), context));
}

}  // namespace
}  // namespace cloister
