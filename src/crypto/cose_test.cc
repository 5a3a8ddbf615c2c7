// Proves COSE_Sign1 signing and verification for ES256, ES384 and EdDSA, tagged and untagged,
// attached and detached; that every tampering, wrong key and alg mismatch is rejected; that
// malformed messages are refused with a reason; and that real AWS Nitro attestation documents
// (signed by AWS, not by us) decode and verify.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "cloister/crypto/cbor.h"
#include "cloister/crypto/cose.h"
#include "cloister/crypto/x509.h"
#include "vectors.h"

namespace cloister::crypto::cose {
namespace {

using cbor::MapEntry;
using cbor::Value;

Bytes Hex(std::string_view hex) {
  Result<Bytes> bytes = FromHex(hex);
  EXPECT_TRUE(bytes.ok()) << hex;
  return bytes.value_or(Bytes{});
}

PrivateKey NewKey(KeyType type) {
  Result<PrivateKey> key = PrivateKey::Generate(type);
  EXPECT_TRUE(key.ok());
  return std::move(key).value();
}

// Re-encodes a decoded message with `edit` applied to its four fields.
template <typename Edit>
Bytes Rewrite(ByteSpan message, Edit edit) {
  Result<Value> decoded = cbor::Decode(message);
  EXPECT_TRUE(decoded.ok());
  const bool tagged = decoded->type() == cbor::Type::kTag;
  std::vector<Value> fields = tagged ? decoded->items().front().items() : decoded->items();
  edit(fields);
  Value array = Value::Array(std::move(fields));
  return cbor::Encode(tagged ? Value::Tag(kTagSign1, std::move(array)) : array);
}

class CoseAlgTest : public ::testing::TestWithParam<KeyType> {};

// Sign then verify works for the alg's key, tagged and untagged, and decode exposes every field.
TEST_P(CoseAlgTest, SignVerifyTaggedAndUntagged) {
  const PrivateKey key = NewKey(GetParam());
  const Bytes payload = ToBytes("ballot: approve proposal 7");
  for (bool tagged : {true, false}) {
    SignOptions options;
    options.tagged = tagged;
    options.kid = ToBytes("member-1");
    options.content_type = Value::Text("application/cbor");
    options.extra_protected = {{Value::Text("cloister.proposal"), Value::Int(7)},
                               {Value::Int(-65537), Value::Bool(true)}};
    options.unprotected = {{Value::Text("note"), Value::Text("unsigned hint")}};
    Result<Bytes> message = Sign1(key, payload, options);
    ASSERT_TRUE(message.ok()) << message.error().ToString();
    EXPECT_EQ((*message)[0] == 0xd2, tagged);  // tag 18 is 0xd2

    Result<Sign1Message> decoded = DecodeSign1(*message, cbor::DeterministicOptions());
    ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
    EXPECT_EQ(decoded->tagged, tagged);
    EXPECT_EQ(*decoded->Alg(), *AlgorithmForKey(GetParam()));
    EXPECT_EQ(*decoded->payload, payload);
    EXPECT_EQ(AsString(*decoded->Header(kHeaderKid)->AsBytes()), "member-1");
    EXPECT_EQ(*decoded->Header(kHeaderContentType)->AsText(), "application/cbor");
    EXPECT_EQ(*decoded->Header("cloister.proposal")->AsInt(), 7);
    EXPECT_TRUE(*decoded->Header(-65537)->AsBool());
    EXPECT_EQ(*decoded->Header("note")->AsText(), "unsigned hint");
    EXPECT_EQ(decoded->protected_headers.Find("note"), nullptr);
    Status verified = VerifySign1(*decoded, key.Public());
    EXPECT_TRUE(verified.ok()) << verified.error().ToString();
    EXPECT_TRUE(DecodeAndVerifySign1(*message, key.Public()).ok());
  }
}

// Changing any signed part, the key, or the external AAD makes verification fail; changing the
// unprotected header does not (it is not signed).
TEST_P(CoseAlgTest, TamperingIsRejected) {
  const PrivateKey key = NewKey(GetParam());
  SignOptions options;
  options.kid = ToBytes("k1");
  options.external_aad = ToBytes("context");
  Result<Bytes> message = Sign1(key, ToBytes("payload"), options);
  ASSERT_TRUE(message.ok());
  VerifyOptions verify;
  verify.external_aad = ToBytes("context");
  ASSERT_TRUE(DecodeAndVerifySign1(*message, key.Public(), verify).ok());

  auto expect_rejected = [&](const Bytes& bytes, const PublicKey& public_key,
                             const VerifyOptions& verify_options, std::string_view why) {
    Result<Sign1Message> result = DecodeAndVerifySign1(bytes, public_key, verify_options);
    ASSERT_FALSE(result.ok()) << why;
    EXPECT_EQ(result.error().code, ErrorCode::kVerification)
        << why << ": " << result.error().message;
  };
  expect_rejected(Rewrite(*message,
                          [](std::vector<Value>& fields) {
                            Result<Value> headers = cbor::Decode(fields[0].data());
                            Value changed = Value::Map(headers->entries());
                            changed.Insert(Value::Int(kHeaderContentType), Value::Int(60));
                            fields[0] = Value::ByteString(cbor::Encode(changed));
                          }),
                  key.Public(), verify, "protected header changed");
  expect_rejected(Rewrite(*message,
                          [](std::vector<Value>& fields) {
                            Bytes payload = fields[2].data();
                            payload[0] ^= 1;
                            fields[2] = Value::ByteString(payload);
                          }),
                  key.Public(), verify, "payload changed");
  expect_rejected(Rewrite(*message,
                          [](std::vector<Value>& fields) {
                            Bytes signature = fields[3].data();
                            signature[signature.size() / 2] ^= 0x80;
                            fields[3] = Value::ByteString(signature);
                          }),
                  key.Public(), verify, "signature changed");
  expect_rejected(*message, NewKey(GetParam()).Public(), verify, "another key of the same type");
  VerifyOptions other_aad;
  other_aad.external_aad = ToBytes("context2");
  expect_rejected(*message, key.Public(), other_aad, "different external AAD");
  expect_rejected(*message, key.Public(), VerifyOptions{}, "missing external AAD");

  const Bytes unprotected_changed = Rewrite(*message, [](std::vector<Value>& fields) {
    fields[1] = Value::Map({{Value::Text("x"), Value::Int(1)}});
  });
  EXPECT_TRUE(DecodeAndVerifySign1(unprotected_changed, key.Public(), verify).ok());
}

// A detached payload is nil in the message and must be supplied, exactly, by the verifier.
TEST_P(CoseAlgTest, DetachedPayload) {
  const PrivateKey key = NewKey(GetParam());
  SignOptions options;
  options.detached = true;
  const Bytes payload = ToBytes("ledger root");
  Result<Bytes> message = Sign1(key, payload, options);
  ASSERT_TRUE(message.ok());
  Result<Sign1Message> decoded = DecodeSign1(*message);
  ASSERT_TRUE(decoded.ok());
  EXPECT_FALSE(decoded->payload.has_value());
  VerifyOptions verify;
  EXPECT_FALSE(VerifySign1(*decoded, key.Public(), verify).ok());
  verify.detached_payload = payload;
  EXPECT_TRUE(VerifySign1(*decoded, key.Public(), verify).ok());
  verify.detached_payload = ToBytes("ledger ROOT");
  EXPECT_FALSE(VerifySign1(*decoded, key.Public(), verify).ok());
}

INSTANTIATE_TEST_SUITE_P(Algorithms, CoseAlgTest,
                         ::testing::Values(KeyType::kP256, KeyType::kP384, KeyType::kEd25519),
                         [](const ::testing::TestParamInfo<KeyType>& param_info) {
                           return std::string(AlgorithmName(*AlgorithmForKey(param_info.param)));
                         });

// The alg in the protected header must match the key type, and an alg swapped into the protected
// header (re-signed headers are not possible without the key) is refused.
TEST(CoseSign1, AlgMismatchIsRejected) {
  const PrivateKey p256 = NewKey(KeyType::kP256);
  Result<Bytes> message = Sign1(p256, ToBytes("m"));
  ASSERT_TRUE(message.ok());
  for (KeyType other : {KeyType::kP384, KeyType::kEd25519}) {
    Result<Sign1Message> result = DecodeAndVerifySign1(*message, NewKey(other).Public());
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error().message.find("alg ES256 needs a"), std::string::npos)
        << result.error().message;
  }
  const Bytes swapped = Rewrite(*message, [](std::vector<Value>& fields) {
    fields[0] = Value::ByteString(cbor::Encode(Value::Map({{Value::Int(1), Value::Int(-35)}})));
  });
  EXPECT_FALSE(DecodeAndVerifySign1(swapped, NewKey(KeyType::kP384).Public()).ok());
  // An alg only in the unprotected header does not count.
  const Bytes unprotected_alg = Rewrite(*message, [](std::vector<Value>& fields) {
    fields[0] = Value::ByteString(Bytes{});
    fields[1] = Value::Map({{Value::Int(1), Value::Int(-7)}});
  });
  Result<Sign1Message> result = DecodeAndVerifySign1(unprotected_alg, p256.Public());
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("no alg"), std::string::npos);
  // Unknown algorithms are unsupported, not silently accepted.
  const Bytes rs256 = Rewrite(*message, [](std::vector<Value>& fields) {
    fields[0] = Value::ByteString(cbor::Encode(Value::Map({{Value::Int(1), Value::Int(-257)}})));
  });
  result = DecodeAndVerifySign1(rs256, p256.Public());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kUnsupported);
}

// Malformed messages fail to decode with a message that says what is wrong.
TEST(CoseSign1, MalformedMessagesAreRefused) {
  struct Case {
    const char* hex;
    const char* message_part;
  };
  const Case kCases[] = {
      {"a0", "expected an array, found map"},
      {"83404040", "array has 3 fields, expected 4"},
      {"d8628440a04040", "tag 98 is not COSE_Sign1 (18)"},
      {"84a0a04040", "protected header is a map, expected a byte string"},
      {"8441a1a04040", "protected header: "},              // bstr holding a truncated item
      {"844101a04040", "protected header is a unsigned"},  // bstr holding an integer
      {"844080 4040", "unprotected header is a array"},
      {"8440a00140", "payload is a unsigned integer"},
      {"8440a040f6", "signature is a simple value"},
      {"8443a10126a1012640 40", "appears in both protected and unprotected"},
      {"8440a1f93c000140 40", "label 1.0 is not an integer or text"},
      {"8440a040 40 00", "trailing"},
  };
  for (const Case& c : kCases) {
    std::string hex = c.hex;
    hex.erase(std::remove(hex.begin(), hex.end(), ' '), hex.end());
    Result<Sign1Message> decoded = DecodeSign1(Hex(hex));
    ASSERT_FALSE(decoded.ok()) << hex;
    EXPECT_NE(decoded.error().message.find(c.message_part), std::string::npos)
        << hex << ": " << decoded.error().message;
  }
}

// Indefinite-length header maps (as some Nitro producers write) decode only when the caller's
// CBOR options allow them.
TEST(CoseSign1, IndefiniteHeadersNeedPermission) {
  const Bytes message = Hex("8443a10127bf04416bff417840");
  Result<Sign1Message> strict = DecodeSign1(message);
  ASSERT_FALSE(strict.ok());
  EXPECT_NE(strict.error().message.find("indefinite"), std::string::npos);
  cbor::DecodeOptions options;
  options.allow_indefinite = true;
  Result<Sign1Message> lenient = DecodeSign1(message, options);
  ASSERT_TRUE(lenient.ok()) << lenient.error().ToString();
  EXPECT_EQ(*lenient->Alg(), Algorithm::kEdDsa);
  EXPECT_EQ(ToHex(*lenient->Header(kHeaderKid)->AsBytes()), "6b");
  EXPECT_EQ(ToHex(*lenient->payload), "78");
}

// A crit header must list only labels the verifier declares understood.
TEST(CoseSign1, CriticalHeaders) {
  const PrivateKey key = NewKey(KeyType::kEd25519);
  SignOptions options;
  options.extra_protected = {{Value::Int(kHeaderCrit), Value::Array({Value::Text("gov.epoch")})},
                             {Value::Text("gov.epoch"), Value::Int(3)}};
  Result<Bytes> message = Sign1(key, ToBytes("m"), options);
  ASSERT_TRUE(message.ok());
  Result<Sign1Message> result = DecodeAndVerifySign1(*message, key.Public());
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("critical header \"gov.epoch\" is not understood"),
            std::string::npos);
  VerifyOptions verify;
  verify.understood_critical = {Value::Text("gov.epoch")};
  EXPECT_TRUE(DecodeAndVerifySign1(*message, key.Public(), verify).ok());
}

// Signing refuses keys COSE_Sign1 does not sign with and headers that repeat a label.
TEST(CoseSign1, SignRefusesBadInput) {
  EXPECT_FALSE(Sign1(NewKey(KeyType::kX25519), ToBytes("m")).ok());
  const PrivateKey key = NewKey(KeyType::kP256);
  SignOptions repeat;
  repeat.kid = ToBytes("a");
  repeat.extra_protected = {{Value::Int(kHeaderKid), Value::ByteString(ToBytes("b"))}};
  EXPECT_FALSE(Sign1(key, ToBytes("m"), repeat).ok());
  SignOptions both;
  both.extra_protected = {{Value::Text("x"), Value::Int(1)}};
  both.unprotected = {{Value::Text("x"), Value::Int(2)}};
  EXPECT_FALSE(Sign1(key, ToBytes("m"), both).ok());
  SignOptions bad_label;
  bad_label.unprotected = {{Value::ByteString(ToBytes("x")), Value::Int(2)}};
  EXPECT_FALSE(Sign1(key, ToBytes("m"), bad_label).ok());
  SignOptions bad_content_type;
  bad_content_type.content_type = Value::Int(-1);
  EXPECT_FALSE(Sign1(key, ToBytes("m"), bad_content_type).ok());
}

// The Sig_structure is the RFC 9052 §4.4 array, encoded deterministically.
TEST(CoseSign1, SigStructureLayout) {
  EXPECT_EQ(ToHex(Sig1Structure(Hex("a10126"), Bytes{}, ToBytes("hi"))),
            "846a5369676e61747572653143a101264042"
            "6869");
}

// Real AWS Nitro attestation documents (untagged COSE_Sign1, ES384) decode and verify under the
// leaf certificate they carry; a changed payload byte breaks the signature.
TEST(CoseSign1, NitroAttestationDocuments) {
  for (const char* name : {"nitro/evervault_debug_mode.cbor", "nitro/evervault_debug_mode_b.cbor",
                           "nitro/evervault_valid_nonce.cbor"}) {
    SCOPED_TRACE(name);
    Result<Bytes> document = testing::ReadFileBytes(testing::VectorPath(name));
    ASSERT_TRUE(document.ok()) << document.error().ToString();
    Result<Sign1Message> message = DecodeSign1(*document);
    ASSERT_TRUE(message.ok()) << message.error().ToString();
    EXPECT_FALSE(message->tagged);
    EXPECT_EQ(*message->Alg(), Algorithm::kEs384);
    EXPECT_EQ(message->signature.size(), 96u);
    Result<Value> payload = cbor::Decode(*message->payload);
    ASSERT_TRUE(payload.ok()) << payload.error().ToString();
    Result<const Value*> certificate_field = payload->Get("certificate");
    ASSERT_TRUE(certificate_field.ok());
    Result<Certificate> leaf = Certificate::FromDer(*(*certificate_field)->AsBytes());
    ASSERT_TRUE(leaf.ok()) << leaf.error().ToString();
    Result<PublicKey> leaf_key = leaf->SubjectPublicKey();
    ASSERT_TRUE(leaf_key.ok());
    Status verified = VerifySign1(*message, *leaf_key);
    EXPECT_TRUE(verified.ok()) << verified.error().ToString();

    Sign1Message tampered = *message;
    (*tampered.payload)[tampered.payload->size() / 2] ^= 1;
    EXPECT_FALSE(VerifySign1(tampered, *leaf_key).ok());
  }
}

}  // namespace
}  // namespace cloister::crypto::cose
