// Opening client events sealed to the service's HPKE key (docs/api.md, "Sealed events").
//
// An event arrives as JSON {"enc": base64, "seq": n, "ciphertext": base64, "aad": base64?}.
// `enc` is the encapsulated key of one HPKE base-mode context (RFC 9180) set up by the client to
// the service's X25519 key with info "cloister/events/v1"; the context id is the first 16 bytes
// of SHA-256(enc) in hex. Event number `seq` of that context is encrypted with AES-128-GCM under
// key = Export("cloister/event" || seq as 8 bytes big-endian, 16), nonce all-zero (each key
// encrypts exactly one message), aad = "cloister/event/v1" || seq (8 bytes BE) || aad.
// Deriving one key per sequence number (instead of HPKE's in-order Open) lets events of one
// stream arrive in any order, through any relay and at any node, at the cost of one key
// agreement per stream. Replays are the node's business: (context id, seq) is recorded in the
// replicated state and a second use is refused (service_state.h, kEventsMap).
//
// Invariant: the opener never returns plaintext that did not authenticate under the context.
// Thread safety: none (one per event loop).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/crypto/hpke.h"

namespace cloister::node {

inline constexpr std::string_view kEventHpkeInfo = "cloister/events/v1";
inline constexpr size_t kMaxEventCiphertextBytes = 256 * 1024;

// The HPKE suite of sealed events.
crypto::hpke::Suite EventSuite();

struct OpenedEvent {
  std::string context_id;  // 32 hex characters
  uint64_t seq = 0;
  Bytes plaintext;
};

class EventOpener {
 public:
  // `service_key` is the service's X25519 HPKE key pair; at most `max_contexts` contexts are
  // cached (the oldest is set up again when it returns).
  explicit EventOpener(crypto::hpke::KeyPair service_key, size_t max_contexts = 4096)
      : service_key_(std::move(service_key)), max_contexts_(max_contexts) {}

  // Parses and opens one envelope; errors say which field was wrong or that it did not
  // authenticate.
  Result<OpenedEvent> Open(std::string_view envelope_json);

 private:
  Result<const crypto::hpke::RecipientContext*> ContextFor(const std::string& id, ByteSpan enc);

  crypto::hpke::KeyPair service_key_;
  size_t max_contexts_;
  std::map<std::string, crypto::hpke::RecipientContext> contexts_;
  std::deque<std::string> order_;
};

// The AEAD key and aad for event `seq` (shared by sealing and opening; exposed for tests and the
// client documentation).
Bytes EventExporterContext(uint64_t seq);
Bytes EventAad(uint64_t seq, ByteSpan aad);

}  // namespace cloister::node
