// Client: the service API seen from a client program (docs/api.md, docs/client.md).
//
// Usage: Attest() once (fetches /node/attestation and verifies it, service.h); then Submit()
// sealed events, read with Get(), follow a transaction with TxStatusOf(), and fetch and verify
// receipts with GetReceipt()/VerifyReceipt(). Everything that would send application data fails
// with kFailedPrecondition until Attest() has succeeded: nothing leaves the client before the
// service has proved what it runs.
//
// Invariants:
//  1. Events are sealed only to the HPKE key of a VerifiedService; one sealer (one key
//     agreement) serves every event this Client submits until the service rotates its HPKE key.
//     When the node refuses an event as sealed to a rotated key (400 stale_hpke_key), Submit()
//     fetches /node/attestation and verifies it exactly as Attest() does (same pinned service
//     certificate, same policy, every node's evidence); only a key from that verified document
//     replaces the old one. The event is resealed and sent once more; a second stale refusal is
//     an error. It is not resealed when an earlier attempt of it may have committed (see
//     Submit()).
//  2. Redirects (307 to the leader) are followed only to client addresses of verified nodes, and
//     at most max_redirects times per request.
//  3. Retries are bounded (max_attempts) and spaced by retry_interval through the injected sleep,
//     so a client never loops forever against an unavailable service.
// Thread safety: none; use one Client per thread (they may share nothing but the pinned inputs).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/client/event_sealer.h"
#include "cloister/client/service.h"
#include "cloister/client/transport.h"
#include "cloister/crypto/x509.h"
#include "cloister/ledger/receipt.h"
#include "cloister/tee/policy.h"

namespace cloister::client {

// A transaction id "term.index" (header x-ms-ccf-transaction-id).
struct TxId {
  uint64_t term = 0;
  uint64_t index = 0;

  [[nodiscard]] std::string ToString() const;
  // Two decimal numbers separated by one dot, no sign, no spaces.
  static Result<TxId> Parse(std::string_view text);
  friend bool operator==(const TxId&, const TxId&) = default;
};

inline constexpr std::string_view kTxIdHeader = "x-ms-ccf-transaction-id";
// The error code of a node's 400 answer to an event sealed to a service HPKE key that governance
// has rotated (docs/api.md).
inline constexpr std::string_view kStaleHpkeKeyCode = "stale_hpke_key";

// What GET /tx/status reports: "Unknown", "Pending", "Committed" or "Invalid".
enum class TxState { kUnknown, kPending, kCommitted, kInvalid };
std::string_view TxStateName(TxState state);
Result<TxState> ParseTxState(std::string_view name);

struct ClientOptions {
  int max_redirects = 4;
  int max_attempts = 100;
  std::chrono::milliseconds retry_interval{100};
  // The time verification judges certificates at, in Unix seconds (default: the system clock).
  std::function<int64_t()> unix_now;
  // How to wait between retries (default: std::this_thread::sleep_for).
  std::function<void(std::chrono::milliseconds)> sleep;
};

struct Submitted {
  TxId id;
  std::string body;  // the application's JSON answer (empty when answer_lost)
  std::string context_id;
  uint64_t seq = 0;
  // The event was committed by an earlier attempt whose answer never arrived (e.g. a timeout):
  // the retry was refused as a replay, the node named the earlier transaction, and /tx/status
  // said Committed. `id` is that transaction; the application's answer is not available.
  bool answer_lost = false;
  // The first envelope was refused as sealed to a rotated service HPKE key: the client verified
  // the service's attestation again and this event was resealed to the new key.
  bool resealed = false;
};

class Client {
 public:
  // `transport` must outlive the client. `server` is the first node contacted ("host:port").
  Client(Transport* transport, std::string server, tee::Policy expected_policy,
         crypto::Certificate service_certificate, ClientOptions options = {});

  // Fetches and verifies the service (service.h); on success events can be submitted.
  Result<VerifiedService> Attest();
  [[nodiscard]] const std::optional<VerifiedService>& service() const { return service_; }

  // Seals `event` and posts it; returns once the node answers that it committed. A 503 (no
  // leader yet, or the transaction was lost in an election) or a timeout is retried with the same
  // envelope; a replay refusal (409) of a retried envelope is resolved through the transaction
  // id the node names in it (Committed: success with answer_lost; Invalid: posted again). A
  // stale_hpke_key refusal of the envelope's first attempt re-verifies the service (invariant 1),
  // reseals the event to the new key and posts it (Submitted::resealed); the same refusal of a
  // retried envelope is kFailedPrecondition without resealing, because the earlier attempt may
  // have committed under the old key and a resealed copy would be a new event, not a replay.
  // Any other refusal (replay of a first attempt, invalid event, application error) is returned
  // as the node's error.
  Result<Submitted> Submit(ByteSpan event);
  // Posts an envelope sealed elsewhere (relays, tests), with the same retries as Submit(). It
  // cannot be resealed: a stale_hpke_key refusal is returned as the node's error, and the caller
  // calls Attest() again before sealing anew.
  Result<Submitted> SubmitSealed(const SealedEvent& sealed);

  Result<TxState> TxStatusOf(const TxId& id);
  // The COSE receipt of `id`, retrying while the transaction is not yet covered by a signature.
  Result<Bytes> GetReceipt(const TxId& id);
  // Verifies `receipt` with the pinned service key and that it is the receipt of `id`.
  Result<ledger::ReceiptClaims> VerifyReceipt(ByteSpan receipt, const TxId& id) const;
  // GET of any API path (application reads, /metrics); errors are the node's errors.
  Result<Response> Get(const std::string& target);
  // POST of `body` to any API path (signed governance requests, which are not secret), with the
  // same redirects and retries as Get(); errors are the node's errors.
  Result<Response> Post(const std::string& target, const std::string& body);

  [[nodiscard]] const std::string& server() const { return server_; }
  [[nodiscard]] EventSealer* sealer() { return sealer_ ? &*sealer_ : nullptr; }

 private:
  // One request, following verified redirects.
  Result<Response> Exchange(const std::string& method, const std::string& target,
                            const std::string& body);
  // `attempts`, when given, receives the number of requests made (1 + retries).
  Result<Response> ExchangeWithRetries(const std::string& method, const std::string& target,
                                       const std::string& body, int* attempts = nullptr);
  // SubmitSealed(); `stale_first_attempt`, when given, is set when the node refused the
  // envelope's very first attempt as sealed to a rotated key (safe to reseal), and that refusal
  // is returned as the node's error.
  Result<Submitted> PostSealed(const SealedEvent& sealed, bool* stale_first_attempt);
  // The "transaction_id" a replay refusal names, if any.
  static std::optional<TxId> ReplayedTransaction(const std::string& body);
  // Polls /tx/status until `id` is Committed or Invalid (bounded by max_attempts).
  Result<TxState> AwaitOutcome(const TxId& id);
  [[nodiscard]] bool IsVerifiedAddress(const std::string& address) const;

  Transport* transport_;
  std::string server_;
  tee::Policy policy_;
  crypto::Certificate service_certificate_;
  ClientOptions options_;
  std::optional<VerifiedService> service_;
  std::optional<EventSealer> sealer_;
};

}  // namespace cloister::client
