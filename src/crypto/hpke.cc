// RFC 9180 from the spec's pseudocode: DHKEM (§4.1), the key schedule (§5.1), encryption
// contexts (§5.2), secret export (§5.3), single-shot APIs (§6) and key derivation (§7.1.3).
#include "cloister/crypto/hpke.h"

#include <array>
#include <limits>
#include <optional>

#include "cloister/crypto/aead.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/random.h"

namespace cloister::crypto::hpke {
namespace {

constexpr std::string_view kVersionLabel = "HPKE-v1";
constexpr size_t kMinPskSize = 32;
constexpr int kMaxDeriveKeyPairTries = 256;

// P-256 group order n, big-endian (SEC 2 §2.4.2).
constexpr std::array<uint8_t, 32> kP256Order = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};

KeyType KemKeyType(Kem kem) {
  return kem == Kem::kP256HkdfSha256 ? KeyType::kP256 : KeyType::kX25519;
}

std::string_view KemName(Kem kem) {
  return kem == Kem::kP256HkdfSha256 ? "DHKEM(P-256, HKDF-SHA256)" : "DHKEM(X25519, HKDF-SHA256)";
}

std::string_view AeadIdName(Aead aead) {
  switch (aead) {
    case Aead::kAes128Gcm:
      return "AES-128-GCM";
    case Aead::kAes256Gcm:
      return "AES-256-GCM";
    case Aead::kChaCha20Poly1305:
      return "ChaCha20Poly1305";
    case Aead::kExportOnly:
      return "export-only";
  }
  return "unknown AEAD";
}

AeadAlgorithm ToAeadAlgorithm(Aead aead) {
  switch (aead) {
    case Aead::kAes128Gcm:
      return AeadAlgorithm::kAes128Gcm;
    case Aead::kAes256Gcm:
      return AeadAlgorithm::kAes256Gcm;
    case Aead::kChaCha20Poly1305:
      return AeadAlgorithm::kChaCha20Poly1305;
    case Aead::kExportOnly:
      break;
  }
  ASSERT(false, "export-only has no AEAD algorithm");
  return AeadAlgorithm::kAes128Gcm;
}

void AppendU16(Bytes* out, uint16_t value) {
  out->push_back(static_cast<uint8_t>(value >> 8));
  out->push_back(static_cast<uint8_t>(value & 0xff));
}

// suite_id of the KEM ("KEM" || I2OSP(kem_id, 2)) or of the whole suite ("HPKE" || ids).
Bytes KemSuiteId(Kem kem) {
  Bytes id = ToBytes("KEM");
  AppendU16(&id, static_cast<uint16_t>(kem));
  return id;
}

Bytes HpkeSuiteId(const Suite& suite) {
  Bytes id = ToBytes("HPKE");
  AppendU16(&id, static_cast<uint16_t>(suite.kem));
  AppendU16(&id, static_cast<uint16_t>(suite.kdf));
  AppendU16(&id, static_cast<uint16_t>(suite.aead));
  return id;
}

// LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm).
// Overwrites secrets before their memory is released. The volatile access keeps the compiler
// from removing stores to memory that is about to be freed.
void Wipe(Bytes* bytes) {
  volatile uint8_t* data = bytes->data();
  for (size_t i = 0; i < bytes->size(); ++i) data[i] = 0;
}

// The ikm is often secret (a DH output, a psk), so its labeled copy is wiped after use.
Bytes LabeledExtract(ByteSpan suite_id, ByteSpan salt, std::string_view label, ByteSpan ikm) {
  Bytes labeled_ikm = Concat(AsBytes(kVersionLabel), suite_id, AsBytes(label), ikm);
  Bytes prk = HkdfExtract(HashAlgorithm::kSha256, salt, labeled_ikm);
  Wipe(&labeled_ikm);
  return prk;
}

// LabeledExpand(prk, label, info, L) =
//   Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L).
Result<Bytes> LabeledExpand(ByteSpan suite_id, ByteSpan prk, std::string_view label, ByteSpan info,
                            size_t length) {
  if (length > std::numeric_limits<uint16_t>::max()) {
    return InvalidArgumentError("hpke: requested ", length, " bytes, at most 65535 can be labeled");
  }
  Bytes labeled_info;
  AppendU16(&labeled_info, static_cast<uint16_t>(length));
  labeled_info = Concat(labeled_info, AsBytes(kVersionLabel), suite_id, AsBytes(label), info);
  return HkdfExpand(HashAlgorithm::kSha256, prk, labeled_info, length);
}

// Kem values other than the two enumerators can only come from a cast; refuse them rather than
// treat them as X25519.
Status CheckKem(Kem kem) {
  if (kem == Kem::kP256HkdfSha256 || kem == Kem::kX25519HkdfSha256) return OkStatus();
  return UnsupportedError("hpke: KEM 0x", ToHex(EncodeBigEndian(static_cast<uint16_t>(kem), 2)),
                          " is not supported");
}

Status CheckKeyType(Kem kem, KeyType type, std::string_view what) {
  RETURN_IF_ERROR(CheckKem(kem));
  if (type != KemKeyType(kem)) {
    return InvalidArgumentError("hpke: ", what, " is a ", KeyTypeName(type), " key, but ",
                                KemName(kem), " needs ", KeyTypeName(KemKeyType(kem)));
  }
  return OkStatus();
}

// DH(sk, pk) of RFC 9180 §4.1. OpenSSL refuses an all-zero X25519 result (a low-order public
// key); that is the peer's key at fault, so it is reported as kInvalidArgument.
Result<Bytes> Dh(const PrivateKey& own, const PublicKey& peer, std::string_view what) {
  Result<Bytes> secret = DiffieHellman(own, peer);
  if (!secret.ok()) {
    return InvalidArgumentError("hpke: Diffie-Hellman with the ", what,
                                " failed (low-order or invalid key): ", secret.error().message);
  }
  return secret;
}

// The auth modes' second half: dh becomes DH(ephemeral or recipient) || DH(static), and the KEM
// context gains the sender's public key. Secrets are wiped on every path.
Status AppendStatic(Bytes* dh, Result<Bytes>* dh_static, Bytes* kem_context,
                    const Result<Bytes>& sender_encoded) {
  if (!dh_static->ok() || !sender_encoded.ok()) {
    Wipe(dh);
    if (dh_static->ok()) Wipe(&dh_static->value());
    return dh_static->ok() ? sender_encoded.error() : dh_static->error();
  }
  Bytes both = Concat(*dh, dh_static->value());
  Wipe(dh);
  Wipe(&dh_static->value());
  *dh = std::move(both);
  kem_context->insert(kem_context->end(), sender_encoded->begin(), sender_encoded->end());
  return OkStatus();
}

// ExtractAndExpand(dh, kem_context) of RFC 9180 §4.1.
Result<Bytes> ExtractAndExpand(Kem kem, ByteSpan dh, ByteSpan kem_context) {
  const Bytes suite_id = KemSuiteId(kem);
  Bytes eae_prk = LabeledExtract(suite_id, {}, "eae_prk", dh);
  Result<Bytes> shared_secret =
      LabeledExpand(suite_id, eae_prk, "shared_secret", kem_context, KdfHashSize(Kdf::kHkdfSha256));
  Wipe(&eae_prk);
  return shared_secret;
}

// VerifyPSKInputs of RFC 9180 §5.1 plus the mode/sender-key pairing.
Status VerifyModeInputs(Mode mode, ByteSpan psk, ByteSpan psk_id, bool has_sender_key) {
  if (static_cast<uint8_t>(mode) > static_cast<uint8_t>(Mode::kAuthPsk)) {
    return InvalidArgumentError("hpke: mode ", static_cast<int>(mode), " does not exist (0 to 3)");
  }
  const bool got_psk = !psk.empty();
  const bool got_psk_id = !psk_id.empty();
  if (got_psk != got_psk_id) {
    return InvalidArgumentError("hpke: psk and psk_id must be both present or both absent (psk ",
                                psk.size(), " bytes, psk_id ", psk_id.size(), " bytes)");
  }
  const bool mode_uses_psk = mode == Mode::kPsk || mode == Mode::kAuthPsk;
  const bool mode_uses_sender = mode == Mode::kAuth || mode == Mode::kAuthPsk;
  const auto mode_number = static_cast<int>(mode);
  if (got_psk && !mode_uses_psk) {
    return InvalidArgumentError("hpke: a psk was given in mode ", mode_number,
                                ", which takes none");
  }
  if (!got_psk && mode_uses_psk) {
    return InvalidArgumentError("hpke: mode ", mode_number, " needs a psk and psk_id");
  }
  if (got_psk && psk.size() < kMinPskSize) {
    return InvalidArgumentError("hpke: psk is ", psk.size(), " bytes, at least ", kMinPskSize,
                                " are required");
  }
  if (has_sender_key != mode_uses_sender) {
    return InvalidArgumentError(
        "hpke: mode ", mode_number,
        mode_uses_sender ? " needs the sender's static key" : " takes no sender key");
  }
  return OkStatus();
}

Status CheckSuite(const Suite& suite) {
  return SuiteFromIds(static_cast<uint16_t>(suite.kem), static_cast<uint16_t>(suite.kdf),
                      static_cast<uint16_t>(suite.aead))
                 .ok()
             ? OkStatus()
             : Status(UnsupportedError("hpke: suite has an identifier we do not implement"));
}

// KeySchedule<ROLE>(mode, shared_secret, info, psk, psk_id) of RFC 9180 §5.1.
Result<ContextState> KeySchedule(const Suite& suite, Mode mode, ByteSpan shared_secret,
                                 ByteSpan info, ByteSpan psk, ByteSpan psk_id) {
  const Bytes suite_id = HpkeSuiteId(suite);
  const Bytes psk_id_hash = LabeledExtract(suite_id, {}, "psk_id_hash", psk_id);
  const Bytes info_hash = LabeledExtract(suite_id, {}, "info_hash", info);
  const Bytes context = Concat(Bytes{static_cast<uint8_t>(mode)}, psk_id_hash, info_hash);
  Bytes secret = LabeledExtract(suite_id, shared_secret, "secret", psk);
  Bytes key;
  Bytes base_nonce;
  if (suite.aead != Aead::kExportOnly) {
    ASSIGN_OR_RETURN(key, LabeledExpand(suite_id, secret, "key", context, AeadKeySize(suite.aead)));
    ASSIGN_OR_RETURN(base_nonce, LabeledExpand(suite_id, secret, "base_nonce", context,
                                               AeadNonceSize(suite.aead)));
  }
  Result<Bytes> exporter_secret =
      LabeledExpand(suite_id, secret, "exp", context, KdfHashSize(suite.kdf));
  Wipe(&secret);
  RETURN_IF_ERROR(exporter_secret);
  return ContextState(suite, std::move(key), std::move(base_nonce),
                      std::move(exporter_secret).value());
}

}  // namespace

namespace internal {
bool IsValidP256Scalar(ByteSpan scalar) {
  if (scalar.size() != kP256Order.size() || IsAllZero(scalar)) return false;
  for (size_t i = 0; i < scalar.size(); ++i) {
    if (scalar[i] != kP256Order[i]) return scalar[i] < kP256Order[i];
  }
  return false;  // equal to the order
}
}  // namespace internal

Result<Suite> SuiteFromIds(uint16_t kem_id, uint16_t kdf_id, uint16_t aead_id) {
  Suite suite;
  if (kem_id == 0x0010 || kem_id == 0x0020) {
    suite.kem = static_cast<Kem>(kem_id);
  } else {
    return UnsupportedError("hpke: KEM 0x", ToHex(EncodeBigEndian(kem_id, 2)),
                            " is not supported (0x0010 P-256, 0x0020 X25519)");
  }
  if (kdf_id != 0x0001) {
    return UnsupportedError("hpke: KDF 0x", ToHex(EncodeBigEndian(kdf_id, 2)),
                            " is not supported (0x0001 HKDF-SHA256)");
  }
  suite.kdf = Kdf::kHkdfSha256;
  if ((aead_id >= 0x0001 && aead_id <= 0x0003) || aead_id == 0xFFFF) {
    suite.aead = static_cast<Aead>(aead_id);
  } else {
    return UnsupportedError("hpke: AEAD 0x", ToHex(EncodeBigEndian(aead_id, 2)),
                            " is not supported (0x0001, 0x0002, 0x0003, 0xffff)");
  }
  return suite;
}

std::string SuiteName(const Suite& suite) {
  return error_detail::Concat(KemName(suite.kem), ", HKDF-SHA256, ", AeadIdName(suite.aead));
}

size_t KemEncSize(Kem kem) { return kem == Kem::kP256HkdfSha256 ? 65 : 32; }
size_t KemPrivateKeySize(Kem /*kem*/) { return 32; }
size_t KdfHashSize(Kdf /*kdf*/) { return 32; }

size_t AeadKeySize(Aead aead) {
  switch (aead) {
    case Aead::kAes128Gcm:
      return 16;
    case Aead::kAes256Gcm:
    case Aead::kChaCha20Poly1305:
      return 32;
    case Aead::kExportOnly:
      return 0;
  }
  return 0;
}

size_t AeadNonceSize(Aead aead) { return aead == Aead::kExportOnly ? 0 : 12; }

Result<KeyPair> GenerateKeyPair(Kem kem) {
  RETURN_IF_ERROR(CheckKem(kem));
  ASSIGN_OR_RETURN(PrivateKey private_key, PrivateKey::Generate(KemKeyType(kem)));
  PublicKey public_key = private_key.Public();
  return KeyPair{std::move(private_key), std::move(public_key)};
}

Result<KeyPair> DeriveKeyPair(Kem kem, ByteSpan ikm) {
  RETURN_IF_ERROR(CheckKem(kem));
  const size_t secret_size = KemPrivateKeySize(kem);
  if (ikm.size() < secret_size) {
    return InvalidArgumentError("hpke: DeriveKeyPair ikm is ", ikm.size(), " bytes, at least ",
                                secret_size, " are required");
  }
  const Bytes suite_id = KemSuiteId(kem);
  Bytes dkp_prk = LabeledExtract(suite_id, {}, "dkp_prk", ikm);
  Bytes scalar;
  if (kem == Kem::kX25519HkdfSha256) {
    ASSIGN_OR_RETURN(scalar, LabeledExpand(suite_id, dkp_prk, "sk", {}, secret_size));
  } else {
    // Rejection sampling: the bitmask for P-256 is 0xff, so candidates are used unmasked.
    for (int counter = 0; counter < kMaxDeriveKeyPairTries; ++counter) {
      const Bytes counter_byte{static_cast<uint8_t>(counter)};
      ASSIGN_OR_RETURN(scalar,
                       LabeledExpand(suite_id, dkp_prk, "candidate", counter_byte, secret_size));
      if (internal::IsValidP256Scalar(scalar)) break;
      Wipe(&scalar);
      scalar.clear();
    }
    if (scalar.empty()) return InternalError("hpke: DeriveKeyPair found no valid P-256 scalar");
  }
  Wipe(&dkp_prk);
  Result<PrivateKey> private_key = DeserializePrivateKey(kem, scalar);
  Wipe(&scalar);
  RETURN_IF_ERROR(private_key);
  PublicKey public_key = private_key->Public();
  return KeyPair{std::move(private_key).value(), std::move(public_key)};
}

Result<Bytes> SerializePublicKey(Kem kem, const PublicKey& key) {
  RETURN_IF_ERROR(CheckKeyType(kem, key.type(), "public key"));
  return key.ToRaw();
}

Result<PublicKey> DeserializePublicKey(Kem kem, ByteSpan encoded) {
  RETURN_IF_ERROR(CheckKem(kem));
  const size_t expected = KemEncSize(kem);
  if (encoded.size() != expected) {
    return InvalidArgumentError("hpke: ", KemName(kem), " public key is ", encoded.size(),
                                " bytes, expected ", expected);
  }
  if (kem == Kem::kP256HkdfSha256 && encoded[0] != 0x04) {
    return InvalidArgumentError("hpke: P-256 public key starts with 0x",
                                ToHex(encoded.subspan(0, 1)),
                                ", expected 0x04 (uncompressed point)");
  }
  Result<PublicKey> key = PublicKey::FromRaw(KemKeyType(kem), encoded);
  if (!key.ok()) {
    // Whatever layer refused it, a key that does not decode is the caller's input at fault.
    return InvalidArgumentError("hpke: invalid ", KemName(kem),
                                " public key: ", key.error().message);
  }
  return key;
}

Result<Bytes> SerializePrivateKey(Kem kem, const PrivateKey& key) {
  RETURN_IF_ERROR(CheckKeyType(kem, key.type(), "private key"));
  return key.ToRaw();
}

Result<PrivateKey> DeserializePrivateKey(Kem kem, ByteSpan encoded) {
  RETURN_IF_ERROR(CheckKem(kem));
  const size_t expected = KemPrivateKeySize(kem);
  if (encoded.size() != expected) {
    return InvalidArgumentError("hpke: ", KemName(kem), " private key is ", encoded.size(),
                                " bytes, expected ", expected);
  }
  Result<PrivateKey> key = PrivateKey::FromRaw(KemKeyType(kem), encoded);
  if (!key.ok()) {
    return InvalidArgumentError("hpke: invalid ", KemName(kem),
                                " private key: ", key.error().message);
  }
  return key;
}

Result<Encapsulation> Encap(Kem kem, const PublicKey& recipient_key, const PrivateKey* sender_key,
                            const KeyPair* ephemeral_key_for_testing) {
  RETURN_IF_ERROR(CheckKeyType(kem, recipient_key.type(), "recipient key"));
  if (sender_key != nullptr) RETURN_IF_ERROR(CheckKeyType(kem, sender_key->type(), "sender key"));
  std::optional<KeyPair> fresh;
  const KeyPair* ephemeral = ephemeral_key_for_testing;
  if (ephemeral == nullptr) {
    ASSIGN_OR_RETURN(fresh, GenerateKeyPair(kem));
    ephemeral = &*fresh;
  }
  RETURN_IF_ERROR(CheckKeyType(kem, ephemeral->private_key.type(), "ephemeral key"));
  ASSIGN_OR_RETURN(Bytes enc, SerializePublicKey(kem, ephemeral->public_key));
  ASSIGN_OR_RETURN(const Bytes recipient_encoded, SerializePublicKey(kem, recipient_key));
  Bytes kem_context = Concat(enc, recipient_encoded);
  ASSIGN_OR_RETURN(Bytes dh, Dh(ephemeral->private_key, recipient_key, "recipient key"));
  if (sender_key != nullptr) {
    Result<Bytes> dh_static = Dh(*sender_key, recipient_key, "recipient key");
    Result<Bytes> sender_encoded = SerializePublicKey(kem, sender_key->Public());
    RETURN_IF_ERROR(AppendStatic(&dh, &dh_static, &kem_context, sender_encoded));
  }
  Result<Bytes> shared_secret = ExtractAndExpand(kem, dh, kem_context);
  Wipe(&dh);
  RETURN_IF_ERROR(shared_secret);
  return Encapsulation{std::move(shared_secret).value(), std::move(enc)};
}

Result<Bytes> Decap(Kem kem, ByteSpan enc, const KeyPair& recipient, const PublicKey* sender_key) {
  RETURN_IF_ERROR(CheckKeyType(kem, recipient.private_key.type(), "recipient key"));
  RETURN_IF_ERROR(CheckKeyType(kem, recipient.public_key.type(), "recipient public key"));
  if (sender_key != nullptr) RETURN_IF_ERROR(CheckKeyType(kem, sender_key->type(), "sender key"));
  ASSIGN_OR_RETURN(const PublicKey ephemeral, DeserializePublicKey(kem, enc));
  ASSIGN_OR_RETURN(const Bytes recipient_encoded, SerializePublicKey(kem, recipient.public_key));
  Bytes kem_context = Concat(enc, recipient_encoded);
  ASSIGN_OR_RETURN(Bytes dh, Dh(recipient.private_key, ephemeral, "encapsulated key"));
  if (sender_key != nullptr) {
    Result<Bytes> dh_static = Dh(recipient.private_key, *sender_key, "sender key");
    Result<Bytes> sender_encoded = SerializePublicKey(kem, *sender_key);
    RETURN_IF_ERROR(AppendStatic(&dh, &dh_static, &kem_context, sender_encoded));
  }
  Result<Bytes> shared_secret = ExtractAndExpand(kem, dh, kem_context);
  Wipe(&dh);
  return shared_secret;
}

ContextState::ContextState(Suite suite, Bytes key, Bytes base_nonce, Bytes exporter_secret)
    : suite_(suite),
      key_(std::move(key)),
      base_nonce_(std::move(base_nonce)),
      exporter_secret_(std::move(exporter_secret)) {}

ContextState::~ContextState() {
  Wipe(&key_);
  Wipe(&base_nonce_);
  Wipe(&exporter_secret_);
}

ContextState::ContextState(ContextState&& other) noexcept
    : suite_(other.suite_),
      key_(std::move(other.key_)),
      base_nonce_(std::move(other.base_nonce_)),
      exporter_secret_(std::move(other.exporter_secret_)),
      sequence_number_(other.sequence_number_) {
  other.key_.clear();
  other.base_nonce_.clear();
  other.exporter_secret_.clear();
}

ContextState& ContextState::operator=(ContextState&& other) noexcept {
  if (this != &other) {
    Wipe(&key_);
    Wipe(&base_nonce_);
    Wipe(&exporter_secret_);
    suite_ = other.suite_;
    key_ = std::move(other.key_);
    base_nonce_ = std::move(other.base_nonce_);
    exporter_secret_ = std::move(other.exporter_secret_);
    sequence_number_ = other.sequence_number_;
    other.key_.clear();
    other.base_nonce_.clear();
    other.exporter_secret_.clear();
  }
  return *this;
}

Result<Bytes> ContextState::CurrentNonce() const {
  if (suite_.aead == Aead::kExportOnly) {
    return UnsupportedError("hpke: the export-only suite cannot seal or open messages");
  }
  // RFC 9180 §5.2 allows 2^96 - 1 messages; a 64-bit counter stops at 2^64 - 1, long before.
  if (sequence_number_ == std::numeric_limits<uint64_t>::max()) {
    return OutOfRangeError("hpke: context message limit reached (sequence number ",
                           sequence_number_, ")");
  }
  ASSERT(base_nonce_.size() == AeadNonceSize(suite_.aead), "hpke: context without a nonce");
  Bytes nonce = base_nonce_;
  const Bytes sequence = EncodeBigEndian(sequence_number_, 8);
  const size_t offset = nonce.size() - sequence.size();
  for (size_t i = 0; i < sequence.size(); ++i) nonce[offset + i] ^= sequence[i];
  return nonce;
}

void ContextState::SkipTo(uint64_t sequence_number) {
  ASSERT(sequence_number >= sequence_number_, "hpke: sequence number moved back from ",
         sequence_number_, " to ", sequence_number);
  sequence_number_ = sequence_number;
}

void ContextState::IncrementSequence() {
  ASSERT(sequence_number_ < std::numeric_limits<uint64_t>::max(), "hpke: sequence overflow");
  ++sequence_number_;
}

Result<Bytes> ContextState::Export(ByteSpan exporter_context, size_t length) const {
  const size_t limit = 255 * KdfHashSize(suite_.kdf);
  if (length > limit) {
    return InvalidArgumentError("hpke: export of ", length, " bytes, at most ", limit,
                                " are allowed");
  }
  return LabeledExpand(HpkeSuiteId(suite_), exporter_secret_, "sec", exporter_context, length);
}

Result<Bytes> SenderContext::Seal(ByteSpan aad, ByteSpan plaintext) {
  ASSIGN_OR_RETURN(const Bytes nonce, state_.CurrentNonce());
  ASSIGN_OR_RETURN(Bytes ciphertext, AeadSeal(ToAeadAlgorithm(state_.suite().aead), state_.key(),
                                              nonce, aad, plaintext));
  state_.IncrementSequence();
  return ciphertext;
}

Result<Bytes> RecipientContext::Open(ByteSpan aad, ByteSpan ciphertext) {
  ASSIGN_OR_RETURN(const Bytes nonce, state_.CurrentNonce());
  Result<Bytes> plaintext =
      AeadOpen(ToAeadAlgorithm(state_.suite().aead), state_.key(), nonce, aad, ciphertext);
  if (!plaintext.ok()) {
    return Error{plaintext.error().code,
                 error_detail::Concat("hpke: message ", state_.sequence_number(),
                                      " does not open: ", plaintext.error().message)};
  }
  state_.IncrementSequence();
  return plaintext;
}

Result<SenderContext> SetupSender(const Suite& suite, const PublicKey& recipient_key,
                                  const SenderParams& params) {
  RETURN_IF_ERROR(CheckSuite(suite));
  RETURN_IF_ERROR(
      VerifyModeInputs(params.mode, params.psk, params.psk_id, params.sender_key != nullptr));
  ASSIGN_OR_RETURN(Encapsulation encapsulation, Encap(suite.kem, recipient_key, params.sender_key,
                                                      params.ephemeral_key_for_testing));
  Result<ContextState> state = KeySchedule(suite, params.mode, encapsulation.shared_secret,
                                           params.info, params.psk, params.psk_id);
  Wipe(&encapsulation.shared_secret);
  RETURN_IF_ERROR(state);
  return SenderContext(std::move(encapsulation.enc), std::move(state).value());
}

Result<RecipientContext> SetupRecipient(const Suite& suite, ByteSpan enc,
                                        const PrivateKey& recipient_key,
                                        const RecipientParams& params) {
  return SetupRecipient(suite, enc, KeyPair{recipient_key, recipient_key.Public()}, params);
}

Result<RecipientContext> SetupRecipient(const Suite& suite, ByteSpan enc, const KeyPair& recipient,
                                        const RecipientParams& params) {
  RETURN_IF_ERROR(CheckSuite(suite));
  RETURN_IF_ERROR(VerifyModeInputs(params.mode, params.psk, params.psk_id,
                                   params.sender_public_key != nullptr));
  ASSIGN_OR_RETURN(Bytes shared_secret, Decap(suite.kem, enc, recipient, params.sender_public_key));
  Result<ContextState> state =
      KeySchedule(suite, params.mode, shared_secret, params.info, params.psk, params.psk_id);
  Wipe(&shared_secret);
  RETURN_IF_ERROR(state);
  return RecipientContext(std::move(state).value());
}

Result<SenderContext> SetupBaseS(const Suite& suite, const PublicKey& pkR, ByteSpan info) {
  return SetupSender(suite, pkR, {.mode = Mode::kBase, .info = info});
}

Result<RecipientContext> SetupBaseR(const Suite& suite, ByteSpan enc, const PrivateKey& skR,
                                    ByteSpan info) {
  return SetupRecipient(suite, enc, skR, {.mode = Mode::kBase, .info = info});
}

Result<SenderContext> SetupPSKS(const Suite& suite, const PublicKey& pkR, ByteSpan info,
                                ByteSpan psk, ByteSpan psk_id) {
  return SetupSender(suite, pkR, {.mode = Mode::kPsk, .info = info, .psk = psk, .psk_id = psk_id});
}

Result<RecipientContext> SetupPSKR(const Suite& suite, ByteSpan enc, const PrivateKey& skR,
                                   ByteSpan info, ByteSpan psk, ByteSpan psk_id) {
  return SetupRecipient(suite, enc, skR,
                        {.mode = Mode::kPsk, .info = info, .psk = psk, .psk_id = psk_id});
}

Result<SenderContext> SetupAuthS(const Suite& suite, const PublicKey& pkR, ByteSpan info,
                                 const PrivateKey& skS) {
  return SetupSender(suite, pkR, {.mode = Mode::kAuth, .info = info, .sender_key = &skS});
}

Result<RecipientContext> SetupAuthR(const Suite& suite, ByteSpan enc, const PrivateKey& skR,
                                    ByteSpan info, const PublicKey& pkS) {
  return SetupRecipient(suite, enc, skR,
                        {.mode = Mode::kAuth, .info = info, .sender_public_key = &pkS});
}

Result<SenderContext> SetupAuthPSKS(const Suite& suite, const PublicKey& pkR, ByteSpan info,
                                    ByteSpan psk, ByteSpan psk_id, const PrivateKey& skS) {
  return SetupSender(
      suite, pkR,
      {.mode = Mode::kAuthPsk, .info = info, .psk = psk, .psk_id = psk_id, .sender_key = &skS});
}

Result<RecipientContext> SetupAuthPSKR(const Suite& suite, ByteSpan enc, const PrivateKey& skR,
                                       ByteSpan info, ByteSpan psk, ByteSpan psk_id,
                                       const PublicKey& pkS) {
  return SetupRecipient(suite, enc, skR,
                        {.mode = Mode::kAuthPsk,
                         .info = info,
                         .psk = psk,
                         .psk_id = psk_id,
                         .sender_public_key = &pkS});
}

Result<Sealed> Seal(const Suite& suite, const PublicKey& recipient_key, const SenderParams& params,
                    ByteSpan aad, ByteSpan plaintext) {
  ASSIGN_OR_RETURN(SenderContext context, SetupSender(suite, recipient_key, params));
  ASSIGN_OR_RETURN(Bytes ciphertext, context.Seal(aad, plaintext));
  return Sealed{context.enc(), std::move(ciphertext)};
}

Result<Bytes> Open(const Suite& suite, ByteSpan enc, const PrivateKey& recipient_key,
                   const RecipientParams& params, ByteSpan aad, ByteSpan ciphertext) {
  ASSIGN_OR_RETURN(RecipientContext context, SetupRecipient(suite, enc, recipient_key, params));
  return context.Open(aad, ciphertext);
}

Result<Bytes> Open(const Suite& suite, ByteSpan enc, const KeyPair& recipient,
                   const RecipientParams& params, ByteSpan aad, ByteSpan ciphertext) {
  ASSIGN_OR_RETURN(RecipientContext context, SetupRecipient(suite, enc, recipient, params));
  return context.Open(aad, ciphertext);
}

Result<Exported> SendExport(const Suite& suite, const PublicKey& recipient_key,
                            const SenderParams& params, ByteSpan exporter_context, size_t length) {
  ASSIGN_OR_RETURN(const SenderContext context, SetupSender(suite, recipient_key, params));
  ASSIGN_OR_RETURN(Bytes secret, context.Export(exporter_context, length));
  return Exported{context.enc(), std::move(secret)};
}

Result<Bytes> ReceiveExport(const Suite& suite, ByteSpan enc, const PrivateKey& recipient_key,
                            const RecipientParams& params, ByteSpan exporter_context,
                            size_t length) {
  ASSIGN_OR_RETURN(const RecipientContext context,
                   SetupRecipient(suite, enc, recipient_key, params));
  return context.Export(exporter_context, length);
}

}  // namespace cloister::crypto::hpke
