// Key rotations requested by governance (docs/governance.md, "Key rotations").
//
// Service HPKE key: when the committed public:cloister.gov.node_requests "service_hpke_key" count
// is above public:cloister.service "hpke_rotations", the leader draws a new X25519 key pair and
// writes, in one transaction, the private key to the private map cloister.secrets under
// "hpke_key/<key id>" (encrypted under the ledger secret: the host sees only ciphertext), the
// new public key and key id to the service map and the count it performed. Every node, once
// that transaction is committed, finds a service public key other than its own, reads the
// private key by its id from the committed state and switches its EventOpener; events sealed
// to the previous key no longer open (the refusal names the rotation, see HandleEvent).
//
// Ledger secret: when the committed "ledger_secret" count is above public:cloister.service
// "ledger_secret_rotations", the leader writes, in one transaction at index i, a fresh 32-byte
// secret to cloister.secrets under "ledger_secret/<i + 1>" (sealed, like the whole private part
// of entry i, under the current secret), the count it performed, and fresh recovery shares
// whose wrapped secrets include the new one. The Replica adds that secret from i + 1 on at every
// node as it appends entry i and forgets it if entry i is discarded (kLedgerSecretPrefix).
#include <spdlog/spdlog.h>

#include <charconv>

#include "cloister/crypto/hash.h"
#include "cloister/crypto/random.h"
#include "cloister/gov/recovery.h"
#include "cloister/gov/tables.h"
#include "node_internal.h"

namespace cloister::node {
namespace {

std::optional<uint64_t> ParseCount(std::string_view text) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return {};
  return value;
}

// The count of governance's node request `request` when it is above what the service map's
// `performed_key` says was performed, or nullopt when nothing is asked.
std::optional<uint64_t> PendingRequest(kv::Tx& tx, std::string_view request,
                                       std::string_view performed_key) {
  Result<gov::NodeRequest> asked = gov::ReadNodeRequest(tx, request);
  if (!asked.ok() || asked->count == 0) return {};
  const std::optional<std::string> done = tx.ro(kServiceMap)->get(performed_key);
  if (done && ParseCount(*done).value_or(UINT64_MAX) >= asked->count) return {};
  return asked->count;
}

}  // namespace

std::string HpkeKeyId(ByteSpan public_key) {
  const Bytes digest = crypto::Sha256(public_key);
  return ToHex(ByteSpan(digest).first(16));
}

void Node::Impl::MaybeRotateHpkeKey() {
  if (!replica->is_leader() || !replica->has_ledger()) return;
  const SteadyTime now = std::chrono::steady_clock::now();
  if (now - last_hpke_rotation_attempt < std::chrono::seconds(1)) return;
  Result<kv::Tx> tx = replica->BeginCommittedRead();
  if (!tx.ok()) return;
  const std::optional<uint64_t> asked =
      PendingRequest(*tx, gov::kRotateServiceHpkeKey, kHpkeRotationsKey);
  if (!asked) return;
  last_hpke_rotation_attempt = now;
  Result<TxId> id = replica->Execute([&](kv::Tx& write) -> Status {
    ASSIGN_OR_RETURN(crypto::hpke::KeyPair fresh, crypto::hpke::GenerateKeyPair(EventSuite().kem));
    ASSIGN_OR_RETURN(Bytes public_raw,
                     crypto::hpke::SerializePublicKey(EventSuite().kem, fresh.public_key));
    ASSIGN_OR_RETURN(Bytes private_raw,
                     crypto::hpke::SerializePrivateKey(EventSuite().kem, fresh.private_key));
    const std::string key_id = HpkeKeyId(public_raw);
    RETURN_IF_ERROR(write.rw(kSecretsMap)->put("hpke_key/" + key_id, Base64Encode(private_raw)));
    kv::MapHandle* service = write.rw(kServiceMap);
    RETURN_IF_ERROR(service->put("hpke_public_key", Base64Encode(public_raw)));
    RETURN_IF_ERROR(service->put("hpke_key_id", key_id));
    return service->put(kHpkeRotationsKey, std::to_string(*asked));
  });
  if (!id.ok()) {
    spdlog::warn("node {}: service HPKE key not rotated: {}", self_id, id.error().message);
    return;
  }
  spdlog::info("node {}: service HPKE key rotated for request {} ({})", self_id, *asked,
               id->ToString());
  SchedulePump();
}

void Node::Impl::MaybeRotateLedgerSecret() {
  if (!replica->is_leader() || !replica->has_ledger()) return;
  const SteadyTime now = std::chrono::steady_clock::now();
  if (now - last_ledger_rotation_attempt < std::chrono::seconds(1)) return;
  Result<kv::Tx> tx = replica->BeginCommittedRead();
  if (!tx.ok()) return;
  const std::optional<uint64_t> asked =
      PendingRequest(*tx, gov::kRotateLedgerSecret, kLedgerSecretRotationsKey);
  if (!asked) return;
  // A recovering service issues its shares once the private state is restored, with every
  // secret it holds then: the rotation waits until then.
  if (gov::ServiceStatus(*tx) == kServiceRecovering) return;
  last_ledger_rotation_attempt = now;
  uint64_t start = 0;
  Result<TxId> id = replica->Execute([&](kv::Tx& write) -> Status {
    // A rotation of this leader that is not committed yet already performs the request.
    const std::optional<std::string> pending =
        write.ro(kServiceMap)->get(kLedgerSecretRotationsKey);
    if (pending && ParseCount(*pending).value_or(UINT64_MAX) >= *asked) {
      return AlreadyExistsError("rotation ", *asked, " is pending");
    }
    // This transaction becomes entry read_version + 1; the secret seals the entries after it.
    start = write.read_version() + 2;
    const Bytes fresh = crypto::SecureRandomBytes(ledger::kSecretSize);
    RETURN_IF_ERROR(write.rw(kSecretsMap)->put(LedgerSecretKey(start), Base64Encode(fresh)));
    RETURN_IF_ERROR(write.rw(kServiceMap)->put(kLedgerSecretRotationsKey, std::to_string(*asked)));
    ASSIGN_OR_RETURN(uint64_t threshold, gov::RecoveryThreshold(write));
    if (threshold == 0) return OkStatus();  // no member holds an encryption key: no shares
    // Recovery must restore every secret: entries before `start` still need the older ones.
    gov::LedgerSecretMap all = LedgerSecretMapOf(secrets);
    all[start] = fresh;
    return gov::IssueRecoveryShares(write, all);
  });
  if (!id.ok()) {
    if (id.error().code == ErrorCode::kAlreadyExists) return;
    spdlog::warn("node {}: ledger secret not rotated: {}", self_id, id.error().message);
    return;
  }
  spdlog::info("node {}: ledger secret rotated for request {} ({}): entries from {} on", self_id,
               *asked, id->ToString(), start);
  SchedulePump();
}

void Node::Impl::ApplyServiceHpkeKey() {
  if (!replica->has_ledger() || replica->commit_index() == hpke_checked_index) return;
  hpke_checked_index = replica->commit_index();
  Result<kv::Tx> tx = replica->BeginCommittedRead();
  if (!tx.ok()) return;
  const std::optional<std::string> published = tx->ro(kServiceMap)->get("hpke_public_key");
  if (!published) return;
  Result<Bytes> own = crypto::hpke::SerializePublicKey(EventSuite().kem, hpke_key->public_key);
  if (!own.ok() || Base64Encode(*own) == *published) return;
  Result<Bytes> public_raw = Base64Decode(*published);
  if (!public_raw.ok()) return;
  const std::string key_id = HpkeKeyId(*public_raw);
  const std::optional<std::string> sealed = tx->ro(kSecretsMap)->get("hpke_key/" + key_id);
  if (!sealed) {
    // A service whose key was not rotated through the ledger (a recovered service's own key
    // is published by its first node, which holds it): nothing to switch to.
    return;
  }
  Result<Bytes> private_raw = Base64Decode(*sealed);
  if (!private_raw.ok()) {
    return Fail(ParseError("service HPKE key ", key_id, " in the ledger is not base64"));
  }
  Result<crypto::PrivateKey> key =
      crypto::hpke::DeserializePrivateKey(EventSuite().kem, *private_raw);
  std::optional<Bytes> derived;
  if (key.ok()) {
    Result<Bytes> serialized = crypto::hpke::SerializePublicKey(EventSuite().kem, key->Public());
    if (serialized.ok()) derived = std::move(serialized).value();
  }
  if (!derived || *derived != *public_raw) {
    return Fail(VerificationError("service HPKE key ", key_id,
                                  " in the ledger does not match the published public key"));
  }
  previous_opener = std::move(opener);
  hpke_key = crypto::hpke::KeyPair{*key, key->Public()};
  opener = std::make_unique<EventOpener>(*hpke_key);
  spdlog::info("node {}: events now open under service HPKE key {} (committed index {})", self_id,
               key_id, hpke_checked_index);
}

}  // namespace cloister::node
