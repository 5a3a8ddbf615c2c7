// COSE_Sign1 (RFC 9052 §4.2, §4.4): single-signer signed messages with ES256, ES384 and EdDSA.
//
// Cloister uses COSE_Sign1 for governance ballots and receipts, and reads it in AWS Nitro
// attestation documents. The message is the CBOR array
//   [protected: bstr .cbor header_map, unprotected: header_map, payload: bstr / nil,
//    signature: bstr]
// optionally wrapped in tag 18, and the signature covers the Sig_structure
//   ["Signature1", protected bstr, external_aad bstr, payload bstr]
// encoded deterministically.
//
// Invariants:
//  1. The algorithm is taken only from the protected header (never the unprotected one, which
//     an attacker can change), and verification refuses a key whose type does not match it:
//     ES256 needs P-256 (SHA-256), ES384 needs P-384 (SHA-384), EdDSA needs Ed25519.
//  2. Signatures are the raw r || s form of RFC 9053 §2.1 (big-endian, each the curve size) or
//     the 64-byte Ed25519 signature.
//  3. Verification uses the protected header bytes exactly as received, so a message from an
//     encoder with other (non-deterministic) choices still verifies; only its decoding is
//     checked, with the caller's cbor::DecodeOptions (Nitro needs allow_indefinite for some
//     producers).
//  4. A label may not appear in both header buckets, and a message whose "crit" header lists a
//     label the caller did not declare understood is refused.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/crypto/cbor.h"
#include "cloister/crypto/key.h"

namespace cloister::crypto::cose {

// COSE algorithm identifiers (IANA "COSE Algorithms").
enum class Algorithm : int64_t {
  kEs256 = -7,
  kEdDsa = -8,
  kEs384 = -35,
};

std::string_view AlgorithmName(Algorithm algorithm);
// The algorithm a key signs with: P-256 -> ES256, P-384 -> ES384, Ed25519 -> EdDSA.
Result<Algorithm> AlgorithmForKey(KeyType type);

// Common header labels (RFC 9052 §3.1).
inline constexpr int64_t kHeaderAlg = 1;
inline constexpr int64_t kHeaderCrit = 2;
inline constexpr int64_t kHeaderContentType = 3;
inline constexpr int64_t kHeaderKid = 4;

inline constexpr uint64_t kTagSign1 = 18;

struct SignOptions {
  // Key identifier (label 4), placed in the protected header when set.
  std::optional<Bytes> kid;
  // Content type (label 3): an unsigned integer (CoAP content format) or a text media type.
  std::optional<cbor::Value> content_type;
  // Further protected headers, integer or text labels (e.g. governance's own headers). Must not
  // repeat alg, kid or content type.
  std::vector<cbor::MapEntry> extra_protected;
  // Unprotected headers (not covered by the signature). Must not repeat a protected label.
  std::vector<cbor::MapEntry> unprotected;
  // Application data bound into the signature but not carried (RFC 9052 §4.3).
  Bytes external_aad;
  // Leave the payload out of the message (nil); the verifier supplies it.
  bool detached = false;
  // Wrap the message in tag 18.
  bool tagged = true;
};

// Signs `payload` with `key` (P-256, P-384 or Ed25519; the algorithm follows from the key type).
// Fails with kInvalidArgument for other keys or headers that repeat a label.
Result<Bytes> Sign1(const PrivateKey& key, ByteSpan payload, const SignOptions& options = {});

// A decoded COSE_Sign1. Plain data: holds copies of every field.
struct Sign1Message {
  bool tagged = false;
  // The protected header bstr contents exactly as received (what the signature covers).
  Bytes protected_bytes;
  // protected_bytes decoded (an empty map when protected_bytes is empty).
  cbor::Value protected_headers = cbor::Value::Map();
  cbor::Value unprotected_headers = cbor::Value::Map();
  // nullopt when the payload is detached (nil in the message).
  std::optional<Bytes> payload;
  Bytes signature;

  // The algorithm from the protected header; an error when absent or not one we support.
  [[nodiscard]] Result<Algorithm> Alg() const;
  // A header by label, protected first, then unprotected; nullptr when absent.
  [[nodiscard]] const cbor::Value* Header(int64_t label) const;
  [[nodiscard]] const cbor::Value* Header(std::string_view label) const;
};

// Decodes a COSE_Sign1 message, tagged (18) or untagged, with `options` for the outer message and
// the protected header. Checks the structure only (types of the four fields, header maps, no
// label in both buckets), not the signature.
Result<Sign1Message> DecodeSign1(ByteSpan message, const cbor::DecodeOptions& options = {});

struct VerifyOptions {
  Bytes external_aad;
  // The payload of a detached message; must be unset for an attached one.
  std::optional<Bytes> detached_payload;
  // Labels the caller understands; any other label listed in "crit" makes verification fail.
  std::vector<cbor::Value> understood_critical;
};

// Verifies `message` with `key`: the protected alg must match the key type (invariant 1), and the
// signature must cover the Sig_structure. kVerification on any mismatch, with the reason.
Status VerifySign1(const Sign1Message& message, const PublicKey& key,
                   const VerifyOptions& options = {});

// DecodeSign1 then VerifySign1; returns the verified message.
Result<Sign1Message> DecodeAndVerifySign1(ByteSpan message, const PublicKey& key,
                                          const VerifyOptions& options = {},
                                          const cbor::DecodeOptions& decode_options = {});

// The Sig_structure bytes (RFC 9052 §4.4) for a COSE_Sign1: the deterministic encoding of
// ["Signature1", protected_bytes, external_aad, payload].
Bytes Sig1Structure(ByteSpan protected_bytes, ByteSpan external_aad, ByteSpan payload);

}  // namespace cloister::crypto::cose
