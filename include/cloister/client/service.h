// What a client learns about a service before it sends anything: the /node/attestation document
// (docs/api.md) and its verification against the client's own expectations.
//
// A client pins two things it obtained out of band: the service certificate (written by the
// genesis node, `service_certificate_out`) and an attestation policy (tee::Policy) saying which
// TEEs and code it accepts. VerifyService() accepts the service only if
//  - the document's service certificate is exactly the pinned one;
//  - the service's HPKE key is an X25519 key of the suite events are sealed with;
//  - it lists at least one node, and EVERY node that is not retired has evidence that verifies
//    (tee::VerifyEvidence at the client's time), that binds the node's certificate key
//    (report_data = SHA-256(SPKI DER || attestation_context)), and that the client's policy
//    allows. A single bad node refuses the whole service: a client cannot know which node its
//    event will reach, and all of them hold the service's secrets.
// The error lists every node that failed and why.
//
// Invariant: the claims in a VerifiedService are those this code computed from the evidence; the
// claims the service reports about itself are never trusted.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/crypto/key.h"
#include "cloister/crypto/x509.h"
#include "cloister/tee/evidence.h"
#include "cloister/tee/policy.h"

namespace cloister::client {

inline constexpr std::string_view kNodeRetired = "retired";

// One entry of "nodes" in /node/attestation, as the service states it (unverified).
struct NodeView {
  uint64_t id = 0;
  std::string certificate_pem;
  std::string node_address;
  std::string client_address;
  tee::Evidence evidence;
  Bytes attestation_context;
  std::string status;                // "trusted", "learner", "retired"
  std::string raft_role;             // "voter", "learner", "none" (may be empty)
  std::string reported_claims_json;  // the service's own rendering, for display only
};

// The /node/attestation document, parsed and checked for shape (unverified).
struct ServiceView {
  std::string service_certificate_pem;
  Bytes hpke_public_key;  // raw X25519 key
  std::string hpke_suite;
  std::string ledger_id;
  uint64_t leader_id = 0;
  std::string policy_json;  // the admission policy in the replicated state, for display
  std::vector<NodeView> nodes;
};

// Parses the JSON document; every field is checked and a wrong one is named in the error.
Result<ServiceView> ParseServiceView(std::string_view json_text);

struct VerifiedNode {
  uint64_t id = 0;
  std::string client_address;
  std::string status;
  std::string raft_role;
  crypto::PublicKey key;
  tee::Claims claims;                 // computed here from the evidence
  std::vector<std::string> warnings;  // the policy's warnings (accepted, worth knowing)
};

struct VerifiedService {
  crypto::Certificate certificate;
  crypto::PublicKey hpke_public_key;
  std::string ledger_id;
  uint64_t leader_id = 0;
  std::vector<VerifiedNode> nodes;  // the non-retired nodes, in the document's order
};

// Verifies `view` as described above, judging certificates and policy expiry at
// `now_unix_seconds`. kVerification when a certificate or evidence does not verify, kPolicy when
// genuine evidence is refused by `expected`.
Result<VerifiedService> VerifyService(const ServiceView& view, const tee::Policy& expected,
                                      const crypto::Certificate& pinned_service_certificate,
                                      int64_t now_unix_seconds);

// report_data a node's evidence must bind: SHA-256(SPKI DER of `key` || `context`).
Bytes ExpectedReportData(const crypto::PublicKey& key, ByteSpan context);

}  // namespace cloister::client
