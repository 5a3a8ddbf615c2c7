// Proves HPKE (RFC 9180) against every entry of the RFC's test vectors for the suites we support
// (read from ../shared/vectors/hpke at run time), and that malformed or tampered inputs, wrong
// keys and misuse of the modes are rejected with the right error.
#include "cloister/crypto/hpke.h"

#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "vectors.h"

namespace cloister::crypto::hpke {
namespace {

constexpr std::string_view kVectorFile = "hpke/rfc9180_vectors_p256_x25519_hkdfsha256.json";
constexpr size_t kExpectedVectorCount = 32;

Bytes Hex(std::string_view hex) {
  Result<Bytes> bytes = FromHex(hex);
  EXPECT_TRUE(bytes.ok()) << hex;
  return bytes.value_or(Bytes{});
}

// The vector file, parsed once; an empty array when it cannot be read (tests then fail loudly).
const nlohmann::json& Vectors() {
  static const nlohmann::json vectors = [] {
    Result<std::string> text =
        cloister::testing::ReadFileText(cloister::testing::VectorPath(kVectorFile));
    if (!text.ok()) return nlohmann::json::array();
    nlohmann::json parsed = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    return parsed.is_array() ? parsed : nlohmann::json::array();
  }();
  return vectors;
}

std::vector<size_t> VectorIndices() {
  std::vector<size_t> indices;
  for (size_t i = 0; i < Vectors().size(); ++i) indices.push_back(i);
  // One case that fails with a clear message instead of silently instantiating nothing.
  if (indices.empty()) indices.push_back(std::numeric_limits<size_t>::max());
  return indices;
}

std::string VectorName(const ::testing::TestParamInfo<size_t>& info) {
  if (info.param >= Vectors().size()) return "VectorsMissing";
  const nlohmann::json& v = Vectors()[info.param];
  return "Entry" + std::to_string(info.param) + "_Mode" + std::to_string(v["mode"].get<int>()) +
         "_Kem" + std::to_string(v["kem_id"].get<int>()) + "_Aead" +
         std::to_string(v["aead_id"].get<int>());
}

Bytes Field(const nlohmann::json& v, const char* name) {
  return v.contains(name) ? Hex(v[name].get<std::string>()) : Bytes{};
}

class HpkeVectorTest : public ::testing::TestWithParam<size_t> {
 protected:
  void SetUp() override {
    ASSERT_LT(GetParam(), Vectors().size())
        << "cannot read " << cloister::testing::VectorPath(kVectorFile);
    v_ = Vectors()[GetParam()];
    Result<Suite> suite = SuiteFromIds(v_["kem_id"].get<uint16_t>(), v_["kdf_id"].get<uint16_t>(),
                                       v_["aead_id"].get<uint16_t>());
    ASSERT_TRUE(suite.ok()) << suite.error().ToString();
    suite_ = *suite;
    mode_ = static_cast<Mode>(v_["mode"].get<int>());
    psk_ = Field(v_, "psk");
    psk_id_ = Field(v_, "psk_id");
    info_ = Field(v_, "info");
  }

  // DeriveKeyPair(ikm<who>) must reproduce sk<who>m and pk<who>m.
  KeyPair DeriveAndCheck(const std::string& who) {
    Result<KeyPair> pair = DeriveKeyPair(suite_.kem, Field(v_, ("ikm" + who).c_str()));
    EXPECT_TRUE(pair.ok()) << pair.error().ToString();
    EXPECT_EQ(ToHex(*SerializePrivateKey(suite_.kem, pair->private_key)),
              v_["sk" + who + "m"].get<std::string>());
    EXPECT_EQ(ToHex(*SerializePublicKey(suite_.kem, pair->public_key)),
              v_["pk" + who + "m"].get<std::string>());
    return std::move(pair).value();
  }

  bool authenticated() const { return mode_ == Mode::kAuth || mode_ == Mode::kAuthPsk; }

  nlohmann::json v_;
  Suite suite_;
  Mode mode_ = Mode::kBase;
  Bytes psk_, psk_id_, info_;
};

// Key derivation, encapsulation, the key schedule, every encryption and every export of the entry
// match the RFC's values, and the recipient recovers every plaintext.
TEST_P(HpkeVectorTest, MatchesRfc9180) {
  const KeyPair recipient = DeriveAndCheck("R");
  const KeyPair ephemeral = DeriveAndCheck("E");
  std::optional<KeyPair> sender;
  if (authenticated()) sender.emplace(DeriveAndCheck("S"));
  ASSERT_FALSE(HasFailure());

  const PrivateKey* sender_key = sender ? &sender->private_key : nullptr;
  const PublicKey* sender_public = sender ? &sender->public_key : nullptr;
  Result<Encapsulation> encap = Encap(suite_.kem, recipient.public_key, sender_key, &ephemeral);
  ASSERT_TRUE(encap.ok()) << encap.error().ToString();
  EXPECT_EQ(ToHex(encap->enc), v_["enc"].get<std::string>());
  EXPECT_EQ(ToHex(encap->shared_secret), v_["shared_secret"].get<std::string>());
  Result<Bytes> decap = Decap(suite_.kem, encap->enc, recipient, sender_public);
  ASSERT_TRUE(decap.ok()) << decap.error().ToString();
  EXPECT_EQ(ToHex(*decap), v_["shared_secret"].get<std::string>());

  Result<SenderContext> s = SetupSender(suite_, recipient.public_key,
                                        {.mode = mode_,
                                         .info = info_,
                                         .psk = psk_,
                                         .psk_id = psk_id_,
                                         .sender_key = sender_key,
                                         .ephemeral_key_for_testing = &ephemeral});
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  Result<RecipientContext> r = SetupRecipient(suite_, s->enc(), recipient.private_key,
                                              {.mode = mode_,
                                               .info = info_,
                                               .psk = psk_,
                                               .psk_id = psk_id_,
                                               .sender_public_key = sender_public});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(ToHex(s->enc()), v_["enc"].get<std::string>());
  for (const ContextState* state : {&s->state(), &r->state()}) {
    EXPECT_EQ(ToHex(state->key()), v_["key"].get<std::string>());
    EXPECT_EQ(ToHex(state->base_nonce()), v_["base_nonce"].get<std::string>());
    EXPECT_EQ(ToHex(state->exporter_secret()), v_["exporter_secret"].get<std::string>());
  }

  size_t encryptions = 0;
  for (const nlohmann::json& e : v_["encryptions"]) {
    const Bytes aad = Field(e, "aad");
    const Bytes pt = Field(e, "pt");
    Result<Bytes> nonce = s->state().CurrentNonce();
    ASSERT_TRUE(nonce.ok()) << nonce.error().ToString();
    EXPECT_EQ(ToHex(*nonce), e["nonce"].get<std::string>()) << "message " << encryptions;
    Result<Bytes> ct = s->Seal(aad, pt);
    ASSERT_TRUE(ct.ok()) << ct.error().ToString();
    EXPECT_EQ(ToHex(*ct), e["ct"].get<std::string>()) << "message " << encryptions;
    Result<Bytes> opened = r->Open(aad, Field(e, "ct"));
    ASSERT_TRUE(opened.ok()) << "message " << encryptions << ": " << opened.error().ToString();
    EXPECT_EQ(*opened, pt);
    ++encryptions;
  }
  EXPECT_EQ(encryptions, suite_.aead == Aead::kExportOnly ? 0U : 257U);

  ASSERT_FALSE(v_["exports"].empty());
  for (const nlohmann::json& x : v_["exports"]) {
    const Bytes exporter_context = Field(x, "exporter_context");
    const size_t length = x["L"].get<size_t>();
    const std::string expected = x["exported_value"].get<std::string>();
    Result<Bytes> sender_secret = s->Export(exporter_context, length);
    Result<Bytes> recipient_secret = r->Export(exporter_context, length);
    ASSERT_TRUE(sender_secret.ok() && recipient_secret.ok());
    EXPECT_EQ(ToHex(*sender_secret), expected);
    EXPECT_EQ(ToHex(*recipient_secret), expected);
  }
}

INSTANTIATE_TEST_SUITE_P(Rfc9180, HpkeVectorTest, ::testing::ValuesIn(VectorIndices()), VectorName);

// The vector file has all 32 entries and they cover every mode, KEM and AEAD we support.
TEST(HpkeVectorFileTest, CoversEveryModeKemAndAead) {
  ASSERT_EQ(Vectors().size(), kExpectedVectorCount) << cloister::testing::VectorPath(kVectorFile);
  std::set<int> modes, kems, aeads;
  for (const nlohmann::json& v : Vectors()) {
    modes.insert(v["mode"].get<int>());
    kems.insert(v["kem_id"].get<int>());
    aeads.insert(v["aead_id"].get<int>());
  }
  EXPECT_EQ(modes, (std::set<int>{0, 1, 2, 3}));
  EXPECT_EQ(kems, (std::set<int>{0x10, 0x20}));
  EXPECT_EQ(aeads, (std::set<int>{1, 2, 3, 0xFFFF}));
}

const std::vector<Suite>& AllSuites() {
  static const std::vector<Suite> suites = [] {
    std::vector<Suite> out;
    for (Kem kem : {Kem::kX25519HkdfSha256, Kem::kP256HkdfSha256}) {
      for (Aead aead :
           {Aead::kAes128Gcm, Aead::kAes256Gcm, Aead::kChaCha20Poly1305, Aead::kExportOnly}) {
        out.push_back({kem, Kdf::kHkdfSha256, aead});
      }
    }
    return out;
  }();
  return suites;
}

const Bytes kPsk = Bytes(32, 0x5a);
const Bytes kPskId = ToBytes("psk id");
const Bytes kInfo = ToBytes("cloister test");

class HpkeSuiteTest : public ::testing::TestWithParam<Suite> {
 protected:
  KeyPair Generate() {
    Result<KeyPair> pair = GenerateKeyPair(GetParam().kem);
    EXPECT_TRUE(pair.ok());
    return std::move(pair).value();
  }
};

std::string SuiteTestName(const ::testing::TestParamInfo<Suite>& info) {
  return "Kem" + std::to_string(static_cast<int>(info.param.kem)) + "_Aead" +
         std::to_string(static_cast<int>(info.param.aead));
}

// With fresh keys, every mode agrees on the exported secret, and two setups to the same key give
// different enc values (the ephemeral key is fresh each time).
TEST_P(HpkeSuiteTest, EveryModeRoundTripsWithFreshKeys) {
  const KeyPair recipient = Generate();
  const KeyPair sender = Generate();
  for (Mode mode : {Mode::kBase, Mode::kPsk, Mode::kAuth, Mode::kAuthPsk}) {
    const bool psk = mode == Mode::kPsk || mode == Mode::kAuthPsk;
    const bool auth = mode == Mode::kAuth || mode == Mode::kAuthPsk;
    const SenderParams sp{.mode = mode,
                          .info = kInfo,
                          .psk = psk ? ByteSpan(kPsk) : ByteSpan(),
                          .psk_id = psk ? ByteSpan(kPskId) : ByteSpan(),
                          .sender_key = auth ? &sender.private_key : nullptr};
    const RecipientParams rp{.mode = mode,
                             .info = kInfo,
                             .psk = sp.psk,
                             .psk_id = sp.psk_id,
                             .sender_public_key = auth ? &sender.public_key : nullptr};
    Result<Exported> sent = SendExport(GetParam(), recipient.public_key, sp, kInfo, 48);
    ASSERT_TRUE(sent.ok()) << sent.error().ToString();
    Result<Bytes> received =
        ReceiveExport(GetParam(), sent->enc, recipient.private_key, rp, kInfo, 48);
    ASSERT_TRUE(received.ok()) << received.error().ToString();
    EXPECT_EQ(sent->secret, *received);
    Result<Exported> again = SendExport(GetParam(), recipient.public_key, sp, kInfo, 48);
    ASSERT_TRUE(again.ok());
    EXPECT_NE(again->enc, sent->enc);
    EXPECT_NE(again->secret, sent->secret);
    if (GetParam().aead == Aead::kExportOnly) continue;
    Result<Sealed> sealed = Seal(GetParam(), recipient.public_key, sp, kInfo, AsBytes("event"));
    ASSERT_TRUE(sealed.ok()) << sealed.error().ToString();
    // The KeyPair overload here; the vector tests use the private-key-only path.
    Result<Bytes> opened = Open(GetParam(), sealed->enc, recipient, rp, kInfo, sealed->ciphertext);
    ASSERT_TRUE(opened.ok()) << opened.error().ToString();
    EXPECT_EQ(AsString(*opened), "event");
  }
}

INSTANTIATE_TEST_SUITE_P(AllSuites, HpkeSuiteTest, ::testing::ValuesIn(AllSuites()), SuiteTestName);

constexpr Suite kX25519Aes{Kem::kX25519HkdfSha256, Kdf::kHkdfSha256, Aead::kAes128Gcm};
constexpr Suite kP256ChaCha{Kem::kP256HkdfSha256, Kdf::kHkdfSha256, Aead::kChaCha20Poly1305};

KeyPair MustGenerate(Kem kem) {
  Result<KeyPair> pair = GenerateKeyPair(kem);
  EXPECT_TRUE(pair.ok());
  return std::move(pair).value();
}

struct Stream {
  SenderContext sender;
  RecipientContext recipient;
};

Stream BaseStream(const Suite& suite, const KeyPair& recipient) {
  Result<SenderContext> s = SetupBaseS(suite, recipient.public_key, kInfo);
  EXPECT_TRUE(s.ok());
  Result<RecipientContext> r = SetupBaseR(suite, s->enc(), recipient.private_key, kInfo);
  EXPECT_TRUE(r.ok());
  return Stream{std::move(s).value(), std::move(r).value()};
}

// The export-only AEAD derives secrets but refuses to seal or open, for both KEMs.
TEST(HpkeNegativeTest, ExportOnlyRefusesMessages) {
  for (Kem kem : {Kem::kX25519HkdfSha256, Kem::kP256HkdfSha256}) {
    const Suite suite{kem, Kdf::kHkdfSha256, Aead::kExportOnly};
    const KeyPair recipient = MustGenerate(kem);
    Result<SenderContext> s = SetupBaseS(suite, recipient.public_key, kInfo);
    ASSERT_TRUE(s.ok());
    Result<Bytes> sealed = s->Seal({}, AsBytes("x"));
    ASSERT_FALSE(sealed.ok());
    EXPECT_EQ(sealed.error().code, ErrorCode::kUnsupported);
    Result<RecipientContext> r = SetupBaseR(suite, s->enc(), recipient.private_key, kInfo);
    ASSERT_TRUE(r.ok());
    Result<Bytes> opened = r->Open({}, Bytes(16, 0));
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.error().code, ErrorCode::kUnsupported);
    EXPECT_EQ(*s->Export(kInfo, 32), *r->Export(kInfo, 32));
  }
}

// Flipping any single bit of a ciphertext makes Open fail with kVerification.
TEST(HpkeNegativeTest, TamperedCiphertextFails) {
  for (const Suite& suite : {kX25519Aes, kP256ChaCha}) {
    const KeyPair recipient = MustGenerate(suite.kem);
    Stream stream = BaseStream(suite, recipient);
    Result<Bytes> ct = stream.sender.Seal(AsBytes("aad"), AsBytes("hello"));
    ASSERT_TRUE(ct.ok());
    for (size_t bit = 0; bit < ct->size() * 8; bit += 7) {
      Bytes tampered = *ct;
      tampered[bit / 8] = static_cast<uint8_t>(tampered[bit / 8] ^ (1U << (bit % 8)));
      Result<Bytes> opened = stream.recipient.Open(AsBytes("aad"), tampered);
      ASSERT_FALSE(opened.ok()) << "bit " << bit;
      EXPECT_EQ(opened.error().code, ErrorCode::kVerification);
    }
    Result<Bytes> truncated = stream.recipient.Open(AsBytes("aad"), ByteSpan(*ct).first(10));
    EXPECT_FALSE(truncated.ok());
    // The failures did not advance the stream: the genuine message still opens.
    EXPECT_EQ(stream.recipient.state().sequence_number(), 0U);
    Result<Bytes> opened = stream.recipient.Open(AsBytes("aad"), *ct);
    ASSERT_TRUE(opened.ok()) << opened.error().ToString();
    EXPECT_EQ(AsString(*opened), "hello");
  }
}

// A different aad makes Open fail.
TEST(HpkeNegativeTest, WrongAadFails) {
  const KeyPair recipient = MustGenerate(kX25519Aes.kem);
  Stream stream = BaseStream(kX25519Aes, recipient);
  Result<Bytes> ct = stream.sender.Seal(AsBytes("aad-1"), AsBytes("hello"));
  ASSERT_TRUE(ct.ok());
  Result<Bytes> opened = stream.recipient.Open(AsBytes("aad-2"), *ct);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ErrorCode::kVerification);
}

// Messages must be opened in the order they were sealed; skipping one fails.
TEST(HpkeNegativeTest, OutOfOrderMessageFails) {
  const KeyPair recipient = MustGenerate(kP256ChaCha.kem);
  Stream stream = BaseStream(kP256ChaCha, recipient);
  Result<Bytes> first = stream.sender.Seal({}, AsBytes("one"));
  Result<Bytes> second = stream.sender.Seal({}, AsBytes("two"));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(*first, *second);
  EXPECT_FALSE(stream.recipient.Open({}, *second).ok());
  EXPECT_TRUE(stream.recipient.Open({}, *first).ok());
  EXPECT_TRUE(stream.recipient.Open({}, *second).ok());
  EXPECT_EQ(stream.recipient.state().sequence_number(), 2U);
}

// The recipient with a different info, psk or psk_id derives other keys and cannot open.
TEST(HpkeNegativeTest, WrongPskOrInfoFails) {
  const KeyPair recipient = MustGenerate(kX25519Aes.kem);
  const SenderParams sp{.mode = Mode::kPsk, .info = kInfo, .psk = kPsk, .psk_id = kPskId};
  Result<Sealed> sealed = Seal(kX25519Aes, recipient.public_key, sp, {}, AsBytes("secret"));
  ASSERT_TRUE(sealed.ok()) << sealed.error().ToString();
  const Bytes other_psk(32, 0x33);
  const Bytes other_id = ToBytes("other id");
  const std::vector<RecipientParams> wrong = {
      {.mode = Mode::kPsk, .info = kInfo, .psk = other_psk, .psk_id = kPskId},
      {.mode = Mode::kPsk, .info = kInfo, .psk = kPsk, .psk_id = other_id},
      {.mode = Mode::kPsk, .info = other_id, .psk = kPsk, .psk_id = kPskId},
  };
  for (const RecipientParams& rp : wrong) {
    Result<Bytes> opened =
        Open(kX25519Aes, sealed->enc, recipient.private_key, rp, {}, sealed->ciphertext);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.error().code, ErrorCode::kVerification);
  }
  const RecipientParams right{.mode = Mode::kPsk, .info = kInfo, .psk = kPsk, .psk_id = kPskId};
  EXPECT_TRUE(
      Open(kX25519Aes, sealed->enc, recipient.private_key, right, {}, sealed->ciphertext).ok());
}

// In auth mode the recipient that expects another sender's key cannot open.
TEST(HpkeNegativeTest, WrongSenderKeyInAuthModeFails) {
  for (const Suite& suite : {kX25519Aes, kP256ChaCha}) {
    const KeyPair recipient = MustGenerate(suite.kem);
    const KeyPair sender = MustGenerate(suite.kem);
    const KeyPair impostor = MustGenerate(suite.kem);
    Result<SenderContext> s = SetupAuthS(suite, recipient.public_key, kInfo, sender.private_key);
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    Result<Bytes> ct = s->Seal({}, AsBytes("from sender"));
    ASSERT_TRUE(ct.ok());
    Result<RecipientContext> wrong =
        SetupAuthR(suite, s->enc(), recipient.private_key, kInfo, impostor.public_key);
    ASSERT_TRUE(wrong.ok());
    Result<Bytes> opened = wrong->Open({}, *ct);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.error().code, ErrorCode::kVerification);
    Result<RecipientContext> right =
        SetupAuthR(suite, s->enc(), recipient.private_key, kInfo, sender.public_key);
    ASSERT_TRUE(right.ok());
    EXPECT_TRUE(right->Open({}, *ct).ok());
  }
}

// A recipient KeyPair whose halves do not match derives another KEM context and cannot open.
TEST(HpkeNegativeTest, MismatchedRecipientKeyPairFails) {
  const KeyPair recipient = MustGenerate(kX25519Aes.kem);
  const KeyPair other = MustGenerate(kX25519Aes.kem);
  Result<Sealed> sealed = Seal(kX25519Aes, recipient.public_key, {}, {}, AsBytes("x"));
  ASSERT_TRUE(sealed.ok());
  const KeyPair mismatched{recipient.private_key, other.public_key};
  Result<Bytes> opened = Open(kX25519Aes, sealed->enc, mismatched, {}, {}, sealed->ciphertext);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ErrorCode::kVerification);
  EXPECT_TRUE(Open(kX25519Aes, sealed->enc, recipient, {}, {}, sealed->ciphertext).ok());
}

// An enc of the wrong length, or a P-256 enc that is not a point on the curve, is refused.
TEST(HpkeNegativeTest, MalformedEncIsRejected) {
  const KeyPair x_recipient = MustGenerate(Kem::kX25519HkdfSha256);
  const KeyPair p_recipient = MustGenerate(Kem::kP256HkdfSha256);
  for (size_t size : {size_t{0}, size_t{31}, size_t{33}, size_t{65}}) {
    Result<RecipientContext> r =
        SetupBaseR(kX25519Aes, Bytes(size, 9), x_recipient.private_key, {});
    ASSERT_FALSE(r.ok()) << size;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find("expected 32"), std::string::npos) << r.error().message;
  }
  Result<SenderContext> s = SetupBaseS(kP256ChaCha, p_recipient.public_key, {});
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->enc().size(), 65U);
  // x || y without the 0x04 prefix is a valid raw key elsewhere, but not an HPKE enc.
  const Bytes unprefixed(s->enc().begin() + 1, s->enc().end());
  Result<RecipientContext> r = SetupBaseR(kP256ChaCha, unprefixed, p_recipient.private_key, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  Bytes compressed_prefix = s->enc();
  compressed_prefix[0] = 0x02;
  EXPECT_FALSE(SetupBaseR(kP256ChaCha, compressed_prefix, p_recipient.private_key, {}).ok());
  Bytes off_curve = s->enc();
  off_curve[64] ^= 0x01;
  r = SetupBaseR(kP256ChaCha, off_curve, p_recipient.private_key, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

// A low-order X25519 enc (all zeros) gives an all-zero DH result, which is refused.
TEST(HpkeNegativeTest, LowOrderX25519EncIsRejected) {
  const KeyPair recipient = MustGenerate(Kem::kX25519HkdfSha256);
  Result<RecipientContext> r = SetupBaseR(kX25519Aes, Bytes(32, 0), recipient.private_key, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

// The mode checks of RFC 9180 §5.1: psk and psk_id together, and only in the psk modes; a sender
// key only in the auth modes; a psk of at least 32 bytes.
TEST(HpkeNegativeTest, ModeInputsAreChecked) {
  const KeyPair recipient = MustGenerate(kX25519Aes.kem);
  const KeyPair sender = MustGenerate(kX25519Aes.kem);
  const std::vector<SenderParams> bad = {
      {.mode = Mode::kPsk, .psk = kPsk},
      {.mode = Mode::kPsk, .psk_id = kPskId},
      {.mode = Mode::kPsk},
      {.mode = Mode::kBase, .psk = kPsk, .psk_id = kPskId},
      {.mode = Mode::kAuth, .psk = kPsk, .psk_id = kPskId, .sender_key = &sender.private_key},
      {.mode = Mode::kAuth},
      {.mode = Mode::kBase, .sender_key = &sender.private_key},
      {.mode = Mode::kAuthPsk, .psk = kPsk, .psk_id = kPskId},
      {.mode = Mode::kPsk, .psk = ByteSpan(kPsk).first(31), .psk_id = kPskId},
      {.mode = static_cast<Mode>(4)},
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    Result<SenderContext> s = SetupSender(kX25519Aes, recipient.public_key, bad[i]);
    ASSERT_FALSE(s.ok()) << "case " << i;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument) << "case " << i;
  }
  Result<RecipientContext> r =
      SetupRecipient(kX25519Aes, Bytes(32, 9), recipient.private_key, {.mode = Mode::kAuth});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("sender's static key"), std::string::npos);
}

// Keys of the other KEM are refused rather than used.
TEST(HpkeNegativeTest, KeyOfOtherKemIsRejected) {
  const KeyPair p256 = MustGenerate(Kem::kP256HkdfSha256);
  Result<SenderContext> s = SetupBaseS(kX25519Aes, p256.public_key, {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(SerializePublicKey(Kem::kX25519HkdfSha256, p256.public_key).ok());
}

// At the last sequence number Seal and Open fail with kOutOfRange instead of reusing a nonce.
TEST(HpkeNegativeTest, SequenceOverflowFailsCleanly) {
  const KeyPair recipient = MustGenerate(kX25519Aes.kem);
  Stream stream = BaseStream(kX25519Aes, recipient);
  constexpr uint64_t kLast = std::numeric_limits<uint64_t>::max();
  stream.sender.SkipToSequenceNumberForTesting(kLast - 1);
  stream.recipient.SkipToSequenceNumberForTesting(kLast - 1);
  Result<Bytes> ct = stream.sender.Seal({}, AsBytes("last"));
  ASSERT_TRUE(ct.ok());
  ASSERT_TRUE(stream.recipient.Open({}, *ct).ok());
  Result<Bytes> over = stream.sender.Seal({}, AsBytes("one too many"));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::kOutOfRange);
  EXPECT_EQ(stream.sender.state().sequence_number(), kLast);
  Result<Bytes> opened = stream.recipient.Open({}, *ct);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ErrorCode::kOutOfRange);
}

// The test hook cannot move a context's sequence number back (that would reuse a nonce).
TEST(HpkeDeathTest, SequenceNumberNeverMovesBack) {
  const KeyPair recipient = MustGenerate(kX25519Aes.kem);
  Stream stream = BaseStream(kX25519Aes, recipient);
  stream.sender.SkipToSequenceNumberForTesting(5);
  EXPECT_EQ(stream.sender.state().sequence_number(), 5U);
  EXPECT_DEATH(stream.sender.SkipToSequenceNumberForTesting(4), "moved back");
}

// Exports longer than 255 * Nh are refused; shorter ones are prefixes of nothing in particular
// but deterministic for the same context.
TEST(HpkeNegativeTest, ExportLengthIsBounded) {
  const KeyPair recipient = MustGenerate(kX25519Aes.kem);
  Stream stream = BaseStream(kX25519Aes, recipient);
  EXPECT_TRUE(stream.sender.Export({}, 255 * 32).ok());
  Result<Bytes> too_long = stream.sender.Export({}, 255 * 32 + 1);
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(*stream.sender.Export(AsBytes("a"), 16), *stream.recipient.Export(AsBytes("a"), 16));
  EXPECT_NE(*stream.sender.Export(AsBytes("a"), 16), *stream.sender.Export(AsBytes("b"), 16));
}

// DeriveKeyPair is deterministic, needs at least 32 bytes of ikm, and depends on every byte.
TEST(HpkeKeyTest, DeriveKeyPairIsDeterministic) {
  for (Kem kem : {Kem::kX25519HkdfSha256, Kem::kP256HkdfSha256}) {
    const Bytes ikm(32, 0x42);
    Result<KeyPair> a = DeriveKeyPair(kem, ikm);
    Result<KeyPair> b = DeriveKeyPair(kem, ikm);
    Bytes other_ikm = ikm;
    other_ikm[31] ^= 1;
    Result<KeyPair> c = DeriveKeyPair(kem, other_ikm);
    ASSERT_TRUE(a.ok() && b.ok() && c.ok());
    EXPECT_EQ(*SerializePrivateKey(kem, a->private_key), *SerializePrivateKey(kem, b->private_key));
    EXPECT_NE(*SerializePrivateKey(kem, a->private_key), *SerializePrivateKey(kem, c->private_key));
    Result<KeyPair> short_ikm = DeriveKeyPair(kem, ByteSpan(ikm).first(31));
    ASSERT_FALSE(short_ikm.ok());
    EXPECT_EQ(short_ikm.error().code, ErrorCode::kInvalidArgument);
  }
}

// The rejection-sampling test accepts exactly the scalars 1 .. n-1 of P-256.
TEST(HpkeKeyTest, P256ScalarAcceptanceMatchesGroupOrder) {
  const Bytes order = Hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
  Bytes below = order;
  below[31] = 0x50;
  Bytes above = order;
  above[31] = 0x52;
  Bytes one(32, 0);
  one[31] = 1;
  EXPECT_FALSE(internal::IsValidP256Scalar(Bytes(32, 0)));
  EXPECT_TRUE(internal::IsValidP256Scalar(one));
  EXPECT_TRUE(internal::IsValidP256Scalar(below));
  EXPECT_FALSE(internal::IsValidP256Scalar(order));
  EXPECT_FALSE(internal::IsValidP256Scalar(above));
  EXPECT_FALSE(internal::IsValidP256Scalar(Bytes(32, 0xff)));
  EXPECT_FALSE(internal::IsValidP256Scalar(Bytes(31, 1)));
}

// Serialised keys round-trip, and bad encodings are refused with kInvalidArgument.
TEST(HpkeKeyTest, SerialisationRoundTripsAndRejectsBadEncodings) {
  for (Kem kem : {Kem::kX25519HkdfSha256, Kem::kP256HkdfSha256}) {
    const KeyPair pair = MustGenerate(kem);
    Result<Bytes> pk = SerializePublicKey(kem, pair.public_key);
    Result<Bytes> sk = SerializePrivateKey(kem, pair.private_key);
    ASSERT_TRUE(pk.ok() && sk.ok());
    EXPECT_EQ(pk->size(), KemEncSize(kem));
    EXPECT_EQ(sk->size(), KemPrivateKeySize(kem));
    Result<PrivateKey> sk_back = DeserializePrivateKey(kem, *sk);
    ASSERT_TRUE(sk_back.ok());
    EXPECT_EQ(*SerializePublicKey(kem, sk_back->Public()), *pk);
    Result<PublicKey> pk_back = DeserializePublicKey(kem, *pk);
    ASSERT_TRUE(pk_back.ok());
    EXPECT_EQ(*pk_back, pair.public_key);
    EXPECT_EQ(DeserializePrivateKey(kem, Bytes(31, 1)).error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(DeserializePublicKey(kem, Bytes(KemEncSize(kem) + 1, 4)).error().code,
              ErrorCode::kInvalidArgument);
  }
  EXPECT_FALSE(DeserializePrivateKey(Kem::kP256HkdfSha256, Bytes(32, 0xff)).ok());
  EXPECT_FALSE(DeserializePrivateKey(Kem::kP256HkdfSha256, Bytes(32, 0)).ok());
}

// Only the identifiers we implement map to a Suite.
TEST(HpkeSuiteIdsTest, UnsupportedIdentifiersAreRefused) {
  Result<Suite> ok = SuiteFromIds(0x0020, 0x0001, 0x0003);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, (Suite{Kem::kX25519HkdfSha256, Kdf::kHkdfSha256, Aead::kChaCha20Poly1305}));
  EXPECT_EQ(SuiteName(*ok), "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305");
  EXPECT_EQ(SuiteFromIds(0x0011, 0x0001, 0x0001).error().code, ErrorCode::kUnsupported);
  EXPECT_EQ(SuiteFromIds(0x0010, 0x0002, 0x0001).error().code, ErrorCode::kUnsupported);
  EXPECT_EQ(SuiteFromIds(0x0010, 0x0001, 0x0004).error().code, ErrorCode::kUnsupported);
  EXPECT_EQ(SuiteFromIds(0x0010, 0x0001, 0x0000).error().code, ErrorCode::kUnsupported);
  // A Kem made by a cast is refused, not treated as one of ours.
  const auto bogus = static_cast<Kem>(0x0011);
  EXPECT_EQ(GenerateKeyPair(bogus).error().code, ErrorCode::kUnsupported);
  EXPECT_EQ(DeriveKeyPair(bogus, Bytes(32, 1)).error().code, ErrorCode::kUnsupported);
  EXPECT_EQ(DeserializePublicKey(bogus, Bytes(32, 9)).error().code, ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace cloister::crypto::hpke
