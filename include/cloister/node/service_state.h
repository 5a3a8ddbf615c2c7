// The service's own records in the replicated state, and their JSON forms.
//
// Everything here lives in public maps (stored in clear in the ledger so that anyone holding a
// copy can audit who was admitted and under which policy). The service, policy, members and
// nodes tables are the governance tables of gov/tables.h (the names below are gov's):
//   public:cloister.service  name, certificate (PEM), hpke_public_key (base64 of the raw X25519
//                            key), hpke_suite, ledger_id (hex), and gov's status, join_mode,
//                            recovery_threshold
//   public:cloister.policy   "policy" -> the admission policy as JSON (tee::Policy::ToJson)
//   public:cloister.members  member id -> gov::MemberRecord JSON (written by genesis and gov)
//   public:cloister.nodes    "<id>" -> NodeInfo as JSON
//   public:cloister.events   "<context id>:<seq>" -> "" (replay protection for sealed events)
// Private values (keys, secrets, application data) never appear here.
//
// Invariant: a node's entry records the evidence exactly as produced and the attestation context
// it was bound to, so anyone can recompute report_data = SHA-256(node SPKI DER || context) and
// re-verify it offline.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/crypto/key.h"
#include "cloister/gov/tables.h"
#include "cloister/kv/store.h"
#include "cloister/tee/evidence.h"

namespace cloister::node {

using gov::kMembersMap;
using gov::kNodesMap;
using gov::kPolicyMap;
using gov::kServiceMap;
inline constexpr std::string_view kEventsMap = "public:cloister.events";

// The suite of the service's HPKE key (clients must use it).
inline constexpr std::string_view kHpkeSuiteName =
    "DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-128-GCM";

// A node's lifecycle in the replicated state: pending (join mode "vote", until a trust_node
// proposal passes), learner (admitted, catching up), trusted (voter), retired.
using gov::kNodeLearner;
using gov::kNodePending;
using gov::kNodeRetired;
using gov::kNodeTrusted;

struct NodeInfo {
  uint64_t id = 0;
  std::string certificate_pem;  // self-signed certificate of the TEE-born identity key
  std::string node_address;     // host:port of the node-to-node channel
  std::string client_address;   // host:port of the client API
  tee::Evidence evidence;
  Bytes attestation_context;  // report_data = SHA-256(SPKI DER || attestation_context)
  std::string claims_json;    // ClaimsToJson of the verified evidence
  std::string status = std::string(kNodeTrusted);

  [[nodiscard]] std::string ToJson() const;
  static Result<NodeInfo> FromJson(std::string_view text);
};

// report_data for `key` bound to `context`: SHA-256(SPKI DER || context).
Bytes AttestationReportData(const crypto::PublicKey& key, ByteSpan context);

// The attestation context of the genesis node: "cloister/genesis/v1" || ledger id (raw bytes).
Bytes GenesisAttestationContext(ByteSpan ledger_id);

// Claims as a JSON object (bytes in lower-case hex).
std::string ClaimsToJson(const tee::Claims& claims);
// Evidence as a JSON object {platform, raw (base64), endorsements [base64], collateral [base64]}
// and back; the parser checks every field.
std::string EvidenceToJson(const tee::Evidence& evidence);
Result<tee::Evidence> EvidenceFromJson(std::string_view text);

// Every node record of the state `tx` reads, in id order.
Result<std::vector<NodeInfo>> ReadNodes(kv::Tx& tx);
// One value of the service map, or NotFound naming the key.
Result<std::string> ReadServiceValue(kv::Tx& tx, std::string_view key);

// A decimal node id as the key of kNodesMap (zero-padded to 20 digits so that key order is id
// order).
std::string NodeKey(uint64_t id);

}  // namespace cloister::node
