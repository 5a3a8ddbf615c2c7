// Hybrid Public Key Encryption (RFC 9180) built from Cloister's OpenSSL 3.0 primitives
// (hash.h HKDF, aead.h, key.h Diffie-Hellman), because the OpenSSL HPKE API arrived in 3.2.
//
// Supported: KEMs DHKEM(P-256, HKDF-SHA256) (0x0010) and DHKEM(X25519, HKDF-SHA256) (0x0020),
// KDF HKDF-SHA256 (0x0001), AEADs AES-128-GCM (0x0001), AES-256-GCM (0x0002),
// ChaCha20Poly1305 (0x0003) and export-only (0xFFFF), in the four modes base, psk, auth and
// auth_psk.
//
// A sender sets up a SenderContext to a recipient's public key and gets `enc`, the encapsulated
// key to send along; the recipient sets up a RecipientContext from `enc` and its private key.
// Both then seal/open a stream of messages in order: message i uses nonce base_nonce XOR i, so
// one key agreement serves many messages (this is how clients seal a stream of events).
//
// Invariants:
//  1. A context never uses a nonce twice: the sequence number only grows, Seal increments it
//     after each message, and Seal/Open fail with kOutOfRange instead of wrapping around.
//  2. Open increments the sequence number only when a message opens, so a forged message does
//     not desynchronise the stream.
//  3. Contexts are move-only (a copy of a sender context would reuse nonces).
//  4. The sender's ephemeral key is fresh from the CSPRNG unless a test injects one.
// Contexts are not thread-safe; setup functions and single-shot calls are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/crypto/key.h"

namespace cloister::crypto::hpke {

enum class Kem : uint16_t { kP256HkdfSha256 = 0x0010, kX25519HkdfSha256 = 0x0020 };
enum class Kdf : uint16_t { kHkdfSha256 = 0x0001 };
enum class Aead : uint16_t {
  kAes128Gcm = 0x0001,
  kAes256Gcm = 0x0002,
  kChaCha20Poly1305 = 0x0003,
  kExportOnly = 0xFFFF,
};
enum class Mode : uint8_t { kBase = 0x00, kPsk = 0x01, kAuth = 0x02, kAuthPsk = 0x03 };

// An HPKE ciphersuite. Every combination of the enumerators above is supported.
struct Suite {
  Kem kem = Kem::kX25519HkdfSha256;
  Kdf kdf = Kdf::kHkdfSha256;
  Aead aead = Aead::kAes128Gcm;

  friend bool operator==(const Suite&, const Suite&) = default;
};

// Maps the IANA identifiers to a Suite; an identifier we do not implement is kUnsupported.
Result<Suite> SuiteFromIds(uint16_t kem_id, uint16_t kdf_id, uint16_t aead_id);
// "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM".
std::string SuiteName(const Suite& suite);

// Sizes from RFC 9180 §7: Nenc/Npk (65 for P-256, 32 for X25519), Nsk (32), Nk (16 or 32, 0 for
// export-only), Nn (12, 0 for export-only), Nh (32).
size_t KemEncSize(Kem kem);
size_t KemPrivateKeySize(Kem kem);
size_t AeadKeySize(Aead aead);
size_t AeadNonceSize(Aead aead);
size_t KdfHashSize(Kdf kdf);

struct KeyPair {
  PrivateKey private_key;
  PublicKey public_key;
};

// A fresh key pair from the CSPRNG.
Result<KeyPair> GenerateKeyPair(Kem kem);
// RFC 9180 §7.1.3: the key pair determined by `ikm`, which must hold at least Nsk (32) bytes.
// For P-256 candidates are drawn until one is a valid scalar (at most 256 tries, after which the
// RFC's DeriveKeyPairError is reported as kInternal; the chance is about 2^-8192).
Result<KeyPair> DeriveKeyPair(Kem kem, ByteSpan ikm);

// RFC 9180 §7.1.1 encodings: P-256 public keys as 65-byte uncompressed points and private keys
// as 32-byte big-endian scalars; X25519 keys as their 32 raw bytes. Deserialisation rejects a
// wrong length, a point not on the curve and an out-of-range scalar with kInvalidArgument.
Result<Bytes> SerializePublicKey(Kem kem, const PublicKey& key);
Result<PublicKey> DeserializePublicKey(Kem kem, ByteSpan encoded);
Result<Bytes> SerializePrivateKey(Kem kem, const PrivateKey& key);
Result<PrivateKey> DeserializePrivateKey(Kem kem, ByteSpan encoded);

// The KEM of RFC 9180 §4.1. Encap (sender_key null) or AuthEncap (sender_key set) to
// `recipient_key`, with a fresh ephemeral key pair unless `ephemeral_key_for_testing` is set
// (see SenderParams). Decap (sender_key null) or AuthDecap of `enc`, which must be exactly Nenc
// bytes encoding a valid public key; `recipient` must be a matching key pair (the public half
// enters the KEM context). A low-order X25519 key fails with kInvalidArgument.
struct Encapsulation {
  Bytes shared_secret;  // Nsecret (32) bytes
  Bytes enc;            // Nenc bytes
};
Result<Encapsulation> Encap(Kem kem, const PublicKey& recipient_key, const PrivateKey* sender_key,
                            const KeyPair* ephemeral_key_for_testing);
Result<Bytes> Decap(Kem kem, ByteSpan enc, const KeyPair& recipient, const PublicKey* sender_key);

// What the sender brings to a setup besides the recipient's key. The spans and pointers must
// stay valid during the call only.
struct SenderParams {
  Mode mode = Mode::kBase;
  ByteSpan info;
  // psk and psk_id: both non-empty in modes psk and auth_psk, both empty otherwise. The psk must
  // be at least 32 bytes (RFC 9180 §5.1.2 asks for 32 bytes of entropy).
  ByteSpan psk;
  ByteSpan psk_id;
  // The sender's static key, required in modes auth and auth_psk and forbidden otherwise.
  const PrivateKey* sender_key = nullptr;
  // Known-answer tests only: the ephemeral key pair to use instead of a fresh one. Production
  // code leaves it null; reusing an ephemeral key across setups breaks confidentiality.
  const KeyPair* ephemeral_key_for_testing = nullptr;
};

// What the recipient brings besides `enc` and its private key; mirrors SenderParams.
struct RecipientParams {
  Mode mode = Mode::kBase;
  ByteSpan info;
  ByteSpan psk;
  ByteSpan psk_id;
  // The sender's static public key, required in modes auth and auth_psk and forbidden otherwise.
  const PublicKey* sender_public_key = nullptr;
};

// The key schedule's output shared by both context kinds, readable for tests and diagnostics.
// Only the owning context moves the sequence number, and only forwards.
class ContextState {
 public:
  ContextState(Suite suite, Bytes key, Bytes base_nonce, Bytes exporter_secret);
  ~ContextState();
  ContextState(const ContextState&) = delete;
  ContextState& operator=(const ContextState&) = delete;
  ContextState(ContextState&& other) noexcept;
  ContextState& operator=(ContextState&& other) noexcept;

  [[nodiscard]] const Suite& suite() const { return suite_; }
  [[nodiscard]] ByteSpan key() const { return key_; }
  [[nodiscard]] ByteSpan base_nonce() const { return base_nonce_; }
  [[nodiscard]] ByteSpan exporter_secret() const { return exporter_secret_; }
  [[nodiscard]] uint64_t sequence_number() const { return sequence_number_; }

  // The nonce for the current sequence number, or kOutOfRange when the stream is exhausted, or
  // kUnsupported for the export-only AEAD.
  [[nodiscard]] Result<Bytes> CurrentNonce() const;
  // RFC 9180 §5.3: LabeledExpand(exporter_secret, "sec", exporter_context, length).
  [[nodiscard]] Result<Bytes> Export(ByteSpan exporter_context, size_t length) const;

 private:
  friend class SenderContext;
  friend class RecipientContext;
  void IncrementSequence();
  // Moves forward only (ASSERTed), so that no nonce can be used twice.
  void SkipTo(uint64_t sequence_number);

  Suite suite_;
  Bytes key_;
  Bytes base_nonce_;
  Bytes exporter_secret_;
  uint64_t sequence_number_ = 0;
};

// The sender's side of one key agreement. Move-only; not thread-safe.
class SenderContext {
 public:
  SenderContext(Bytes enc, ContextState state) : enc_(std::move(enc)), state_(std::move(state)) {}

  // The encapsulated key to send to the recipient (Nenc bytes).
  [[nodiscard]] const Bytes& enc() const { return enc_; }
  // Encrypts the next message of the stream; returns ciphertext || tag. Fails with kUnsupported
  // for an export-only suite and kOutOfRange when 2^64 - 1 messages have been sealed.
  Result<Bytes> Seal(ByteSpan aad, ByteSpan plaintext);
  // A secret of `length` bytes (at most 255 * Nh) bound to this context and exporter_context.
  [[nodiscard]] Result<Bytes> Export(ByteSpan exporter_context, size_t length) const {
    return state_.Export(exporter_context, length);
  }
  [[nodiscard]] const ContextState& state() const { return state_; }
  // Tests only: jumps forward to `sequence_number` (>= the current one, else the process stops),
  // to reach the end of the sequence space without sealing 2^64 messages.
  void SkipToSequenceNumberForTesting(uint64_t sequence_number) { state_.SkipTo(sequence_number); }

 private:
  Bytes enc_;
  ContextState state_;
};

// The recipient's side of one key agreement. Move-only; not thread-safe.
class RecipientContext {
 public:
  explicit RecipientContext(ContextState state) : state_(std::move(state)) {}

  // Decrypts the next message of the stream (ciphertext || tag). A message that does not
  // authenticate fails with kVerification and leaves the sequence number unchanged.
  Result<Bytes> Open(ByteSpan aad, ByteSpan ciphertext);
  [[nodiscard]] Result<Bytes> Export(ByteSpan exporter_context, size_t length) const {
    return state_.Export(exporter_context, length);
  }
  [[nodiscard]] const ContextState& state() const { return state_; }
  // Tests only: jumps forward to `sequence_number` (>= the current one, else the process stops),
  // to reach the end of the sequence space without sealing 2^64 messages.
  void SkipToSequenceNumberForTesting(uint64_t sequence_number) { state_.SkipTo(sequence_number); }

 private:
  ContextState state_;
};

// RFC 9180 §5.1: encapsulation and key schedule for any mode. Fails with kInvalidArgument when the
// params do not fit the mode (psk without psk_id, a sender key in base mode, a key of another
// KEM) and when the recipient key is unusable (a low-order X25519 point).
Result<SenderContext> SetupSender(const Suite& suite, const PublicKey& recipient_key,
                                  const SenderParams& params);
// Decapsulation of `enc` (exactly Nenc bytes, a valid point) and key schedule for any mode.
// The KEM needs the recipient's public key: given only the private key, it is derived on every
// call (with OpenSSL 3.0 that is most of a setup's cost), so a long-lived recipient such as the
// service passes its KeyPair, whose halves must match.
Result<RecipientContext> SetupRecipient(const Suite& suite, ByteSpan enc,
                                        const PrivateKey& recipient_key,
                                        const RecipientParams& params);
Result<RecipientContext> SetupRecipient(const Suite& suite, ByteSpan enc, const KeyPair& recipient,
                                        const RecipientParams& params);

// The RFC's named setups, each a thin wrapper of SetupSender/SetupRecipient.
Result<SenderContext> SetupBaseS(const Suite& suite, const PublicKey& pkR, ByteSpan info);
Result<RecipientContext> SetupBaseR(const Suite& suite, ByteSpan enc, const PrivateKey& skR,
                                    ByteSpan info);
Result<SenderContext> SetupPSKS(const Suite& suite, const PublicKey& pkR, ByteSpan info,
                                ByteSpan psk, ByteSpan psk_id);
Result<RecipientContext> SetupPSKR(const Suite& suite, ByteSpan enc, const PrivateKey& skR,
                                   ByteSpan info, ByteSpan psk, ByteSpan psk_id);
Result<SenderContext> SetupAuthS(const Suite& suite, const PublicKey& pkR, ByteSpan info,
                                 const PrivateKey& skS);
Result<RecipientContext> SetupAuthR(const Suite& suite, ByteSpan enc, const PrivateKey& skR,
                                    ByteSpan info, const PublicKey& pkS);
Result<SenderContext> SetupAuthPSKS(const Suite& suite, const PublicKey& pkR, ByteSpan info,
                                    ByteSpan psk, ByteSpan psk_id, const PrivateKey& skS);
Result<RecipientContext> SetupAuthPSKR(const Suite& suite, ByteSpan enc, const PrivateKey& skR,
                                       ByteSpan info, ByteSpan psk, ByteSpan psk_id,
                                       const PublicKey& pkS);

// Single-shot APIs (RFC 9180 §6): one setup and one message.
struct Sealed {
  Bytes enc;
  Bytes ciphertext;
};
Result<Sealed> Seal(const Suite& suite, const PublicKey& recipient_key, const SenderParams& params,
                    ByteSpan aad, ByteSpan plaintext);
Result<Bytes> Open(const Suite& suite, ByteSpan enc, const PrivateKey& recipient_key,
                   const RecipientParams& params, ByteSpan aad, ByteSpan ciphertext);
Result<Bytes> Open(const Suite& suite, ByteSpan enc, const KeyPair& recipient,
                   const RecipientParams& params, ByteSpan aad, ByteSpan ciphertext);

// Single-shot secret export (RFC 9180 §6.2).
struct Exported {
  Bytes enc;
  Bytes secret;
};
Result<Exported> SendExport(const Suite& suite, const PublicKey& recipient_key,
                            const SenderParams& params, ByteSpan exporter_context, size_t length);
Result<Bytes> ReceiveExport(const Suite& suite, ByteSpan enc, const PrivateKey& recipient_key,
                            const RecipientParams& params, ByteSpan exporter_context,
                            size_t length);

namespace internal {
// True when `scalar` (32 bytes, big-endian) is in [1, n - 1] for the P-256 group order n; the
// acceptance test of DeriveKeyPair's rejection sampling. Exposed for tests.
bool IsValidP256Scalar(ByteSpan scalar);
}  // namespace internal

}  // namespace cloister::crypto::hpke
