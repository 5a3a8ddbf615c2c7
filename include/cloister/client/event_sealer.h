// EventSealer: seals a stream of client events to the service's HPKE key, byte for byte as the
// node opens them (include/cloister/node/sealed_event.h, docs/api.md "Sealed events").
//
// One sealer is one HPKE base-mode context (RFC 9180) to the service's X25519 key with info
// "cloister/events/v1": a whole stream of events costs one key agreement. Event number `seq` is
// encrypted with AES-128-GCM under key = Export("cloister/event" || seq as 8 bytes big-endian, 16)
// with an all-zero nonce and aad = "cloister/event/v1" || seq (8 bytes BE) || caller aad, and sent
// as JSON {"enc": base64, "seq": n, "ciphertext": base64, "aad": base64 (only when non-empty)}.
// The context id the node records for replay protection is the first 16 bytes of SHA-256(enc) in
// hex.
//
// Invariants:
//  1. Each (context, seq) key encrypts at most one event: Seal() hands out sequence numbers in
//     increasing order and never reuses one; SealAt() is for callers that assign sequence numbers
//     themselves (e.g. several threads sharing one context) and must not repeat a number.
//  2. Nothing is sealed to a key the caller has not verified: the sealer is built from a key the
//     caller took from a VerifiedService (service.h).
// Thread safety: SealAt() is const and safe from several threads; Seal() is not.
#pragma once

#include <cstdint>
#include <string>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/crypto/hpke.h"
#include "cloister/crypto/key.h"

namespace cloister::client {

inline constexpr std::string_view kEventInfo = "cloister/events/v1";
// The suite name the service advertises in /node/attestation ("hpke_suite").
inline constexpr std::string_view kEventSuiteName =
    "DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-128-GCM";
// Largest event plaintext the node accepts (256 KiB of ciphertext including the 16-byte tag).
inline constexpr size_t kMaxEventPlaintextBytes = 256 * 1024 - 16;

crypto::hpke::Suite EventSuite();

struct SealedEvent {
  std::string envelope_json;  // the POST /app/events body
  std::string context_id;     // 32 hex characters
  uint64_t seq = 0;
};

class EventSealer {
 public:
  // A fresh context to `service_hpke_key` (an X25519 public key). Fails for another key type.
  static Result<EventSealer> Create(const crypto::PublicKey& service_hpke_key);

  // Seals `event` as the next event of the stream (sequence numbers start at 0). Fails for an
  // event larger than kMaxEventPlaintextBytes.
  Result<SealedEvent> Seal(ByteSpan event, ByteSpan aad = {});
  // Seals `event` as event number `seq` (see invariant 1).
  [[nodiscard]] Result<SealedEvent> SealAt(uint64_t seq, ByteSpan event, ByteSpan aad = {}) const;

  [[nodiscard]] const std::string& context_id() const { return context_id_; }
  [[nodiscard]] const Bytes& enc() const { return context_.enc(); }
  [[nodiscard]] uint64_t next_seq() const { return next_seq_; }

 private:
  explicit EventSealer(crypto::hpke::SenderContext context);

  crypto::hpke::SenderContext context_;
  std::string context_id_;
  uint64_t next_seq_ = 0;
};

}  // namespace cloister::client
