// Proves EventSealer's envelopes open with an independent HPKE recipient following the spec of
// sealed_event.h, that one context serves many events, and that any change fails to open.
#include "cloister/client/event_sealer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cloister/crypto/aead.h"
#include "cloister/crypto/hash.h"

namespace cloister::client {
namespace {

// An opener written from the spec (key = Export("cloister/event" || seq BE64, 16), zero nonce,
// aad = "cloister/event/v1" || seq BE64 || aad), independent of the sealer's code.
Result<Bytes> OpenBySpec(const crypto::hpke::KeyPair& service, const std::string& envelope) {
  const nlohmann::json json = nlohmann::json::parse(envelope);
  const Bytes enc = Base64Decode(json["enc"].get<std::string>()).value();
  const uint64_t seq = json["seq"].get<uint64_t>();
  const Bytes ciphertext = Base64Decode(json["ciphertext"].get<std::string>()).value();
  const Bytes aad =
      json.contains("aad") ? Base64Decode(json["aad"].get<std::string>()).value() : Bytes{};
  crypto::hpke::RecipientParams params;
  params.info = AsBytes("cloister/events/v1");
  ASSIGN_OR_RETURN(crypto::hpke::RecipientContext context,
                   crypto::hpke::SetupRecipient(EventSuite(), enc, service, params));
  Bytes seq_bytes(8);
  for (size_t i = 0; i < 8; ++i) seq_bytes[i] = static_cast<uint8_t>(seq >> (56 - 8 * i));
  ASSIGN_OR_RETURN(Bytes key, context.Export(Concat(AsBytes("cloister/event"), seq_bytes), 16));
  return crypto::AeadOpen(crypto::AeadAlgorithm::kAes128Gcm, key, Bytes(12, 0),
                          Concat(AsBytes("cloister/event/v1"), seq_bytes, aad), ciphertext);
}

crypto::hpke::KeyPair ServiceKey() {
  return crypto::hpke::GenerateKeyPair(crypto::hpke::Kem::kX25519HkdfSha256).value();
}

TEST(EventSealerTest, EnvelopesOpenBySpecWithOneContext) {
  // Proves a stream of events shares one enc (one key agreement) and each opens by the spec.
  const crypto::hpke::KeyPair service = ServiceKey();
  EventSealer sealer = EventSealer::Create(service.public_key).value();
  std::string first_enc;
  for (uint64_t i = 0; i < 5; ++i) {
    const std::string event = "event number " + std::to_string(i);
    Result<SealedEvent> sealed = sealer.Seal(AsBytes(event));
    ASSERT_TRUE(sealed.ok()) << sealed.error().ToString();
    EXPECT_EQ(sealed->seq, i);
    const nlohmann::json json = nlohmann::json::parse(sealed->envelope_json);
    if (i == 0) first_enc = json["enc"].get<std::string>();
    EXPECT_EQ(json["enc"].get<std::string>(), first_enc);
    EXPECT_FALSE(json.contains("aad"));
    Result<Bytes> opened = OpenBySpec(service, sealed->envelope_json);
    ASSERT_TRUE(opened.ok()) << opened.error().ToString();
    EXPECT_EQ(ToString(*opened), event);
  }
  EXPECT_EQ(sealer.next_seq(), 5u);
  const Bytes digest = crypto::Sha256(sealer.enc());
  EXPECT_EQ(sealer.context_id(), ToHex(ByteSpan(digest).first(16)));
}

TEST(EventSealerTest, ChangedSeqCiphertextOrAadDoesNotOpen) {
  // Proves the sequence number and the aad are authenticated, as is every ciphertext byte.
  const crypto::hpke::KeyPair service = ServiceKey();
  EventSealer sealer = EventSealer::Create(service.public_key).value();
  const SealedEvent sealed = sealer.SealAt(7, AsBytes("secret"), AsBytes("routing")).value();
  ASSERT_TRUE(OpenBySpec(service, sealed.envelope_json).ok());
  nlohmann::json json = nlohmann::json::parse(sealed.envelope_json);
  nlohmann::json changed = json;
  changed["seq"] = 8;
  EXPECT_FALSE(OpenBySpec(service, changed.dump()).ok());
  changed = json;
  changed["aad"] = Base64Encode(AsBytes("routinh"));
  EXPECT_FALSE(OpenBySpec(service, changed.dump()).ok());
  Bytes ciphertext = Base64Decode(json["ciphertext"].get<std::string>()).value();
  for (size_t i = 0; i < ciphertext.size(); ++i) {
    ciphertext[i] ^= 0x01;
    changed = json;
    changed["ciphertext"] = Base64Encode(ciphertext);
    EXPECT_FALSE(OpenBySpec(service, changed.dump()).ok()) << "byte " << i;
    ciphertext[i] ^= 0x01;
  }
}

TEST(EventSealerTest, AnotherServiceKeyCannotOpen) {
  // Proves only the holder of the service's private key opens the events.
  const crypto::hpke::KeyPair service = ServiceKey();
  EventSealer sealer = EventSealer::Create(service.public_key).value();
  const SealedEvent sealed = sealer.Seal(AsBytes("secret")).value();
  EXPECT_FALSE(OpenBySpec(ServiceKey(), sealed.envelope_json).ok());
}

TEST(EventSealerTest, FreshContextsAndSameSeqDiffer) {
  // Proves two sealers never share a context, so equal events give unrelated ciphertexts.
  const crypto::hpke::KeyPair service = ServiceKey();
  EventSealer a = EventSealer::Create(service.public_key).value();
  EventSealer b = EventSealer::Create(service.public_key).value();
  EXPECT_NE(a.context_id(), b.context_id());
  EXPECT_NE(a.Seal(AsBytes("same")).value().envelope_json,
            b.Seal(AsBytes("same")).value().envelope_json);
}

TEST(EventSealerTest, RefusesOversizedEventsAndNonX25519Keys) {
  // Proves the size bound and the key type are checked before anything is sealed.
  const crypto::hpke::KeyPair service = ServiceKey();
  EventSealer sealer = EventSealer::Create(service.public_key).value();
  const Bytes big(kMaxEventPlaintextBytes + 1, 'x');
  Result<SealedEvent> sealed = sealer.Seal(big);
  ASSERT_FALSE(sealed.ok());
  EXPECT_EQ(sealed.error().code, ErrorCode::kOutOfRange);
  EXPECT_EQ(sealer.next_seq(), 0u);
  EXPECT_TRUE(sealer.Seal(Bytes(kMaxEventPlaintextBytes, 'x')).ok());
  const crypto::PrivateKey p256 = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  EXPECT_EQ(EventSealer::Create(p256.Public()).error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace cloister::client
