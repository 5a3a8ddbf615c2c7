// Test support: a service described the way /node/attestation describes it, with real simulated
// TEE evidence (tee::VirtualAttester) bound to each node's key, so that tests can break one
// property at a time.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "cloister/base/assert.h"
#include "cloister/client/event_sealer.h"
#include "cloister/client/service.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/hpke.h"
#include "cloister/crypto/random.h"
#include "cloister/crypto/x509.h"
#include "cloister/tee/policy.h"
#include "cloister/tee/virtual_tee.h"

namespace cloister::client::testing {

inline constexpr int64_t kNow = 1'790'000'000;  // 2026-09

inline Bytes TestMeasurement() { return crypto::Sha384(ToBytes("cloisterd test build")); }

inline crypto::Certificate SelfSigned(const crypto::PrivateKey& key, const std::string& name) {
  crypto::CertificateRequest request{.common_name = name, .not_before = 0, .not_after = 4102444800};
  Result<crypto::Certificate> certificate =
      crypto::IssueCertificate(request, key.Public(), key, nullptr);
  ASSERT(certificate.ok(), "test certificate");
  return *certificate;
}

struct FakeNode {
  uint64_t id = 0;
  crypto::PrivateKey key;
  crypto::Certificate certificate;
  Bytes context;
  tee::Evidence evidence;
  std::string client_address;
  std::string status = "trusted";
};

// A node whose evidence binds SHA-256(its key || context) with `measurement`; `bound_key`, when
// given, is bound instead of the node's own key.
inline FakeNode MakeNode(uint64_t id, const Bytes& measurement,
                         const crypto::PrivateKey* bound_key = nullptr, bool debug = false) {
  crypto::PrivateKey key = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  crypto::Certificate certificate = SelfSigned(key, "node " + std::to_string(id));
  Bytes context = crypto::SecureRandomBytes(32);
  const crypto::PublicKey bound = bound_key ? bound_key->Public() : key.Public();
  tee::VirtualAttester attester(measurement, Bytes(32, 0), debug);
  tee::Evidence evidence = attester.Attest(ExpectedReportData(bound, context)).value();
  return FakeNode{id,
                  std::move(key),
                  std::move(certificate),
                  std::move(context),
                  std::move(evidence),
                  "127.0.0.1:" + std::to_string(9000 + id)};
}

struct FakeService {
  crypto::PrivateKey service_key = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  crypto::Certificate certificate = SelfSigned(service_key, "cloister test service");
  crypto::hpke::KeyPair hpke =
      crypto::hpke::GenerateKeyPair(crypto::hpke::Kem::kX25519HkdfSha256).value();
  std::string suite = std::string(kEventSuiteName);
  std::vector<FakeNode> nodes;

  [[nodiscard]] nlohmann::json NodeJson(const FakeNode& node) const {
    nlohmann::json evidence;
    evidence["platform"] = std::string(tee::PlatformName(node.evidence.platform));
    evidence["raw"] = Base64Encode(node.evidence.raw);
    evidence["endorsements"] = nlohmann::json::array();
    evidence["collateral"] = nlohmann::json::array();
    nlohmann::json out;
    out["id"] = node.id;
    out["certificate"] = node.certificate.Pem();
    out["node_address"] = "127.0.0.1:" + std::to_string(8000 + node.id);
    out["client_address"] = node.client_address;
    out["evidence"] = evidence;
    out["attestation_context"] = Base64Encode(node.context);
    out["claims"] = nlohmann::json::object();
    out["status"] = node.status;
    out["raft_role"] = "voter";
    return out;
  }

  [[nodiscard]] std::string Document() const {
    nlohmann::json out;
    out["service_certificate"] = certificate.Pem();
    out["hpke_public_key"] = Base64Encode(hpke.public_key.ToRaw());
    out["hpke_suite"] = suite;
    out["ledger_id"] = "00";
    out["leader_id"] = nodes.empty() ? 0 : nodes.front().id;
    out["policy"] = nlohmann::json::object();
    nlohmann::json list = nlohmann::json::array();
    for (const FakeNode& node : nodes) list.push_back(NodeJson(node));
    out["nodes"] = list;
    return out.dump();
  }
};

// Three nodes with the test measurement.
inline FakeService ThreeNodeService() {
  FakeService service;
  for (uint64_t id = 1; id <= 3; ++id) service.nodes.push_back(MakeNode(id, TestMeasurement()));
  return service;
}

// Allows the simulated root and exactly the test measurement.
inline tee::Policy ExpectedPolicy() {
  tee::Policy policy;
  policy.simulated_roots.push_back(tee::SimulatedRootFingerprint());
  tee::PlatformRule rule;
  rule.platform = tee::Platform::kVirtual;
  rule.measurements.push_back(TestMeasurement());
  policy.platforms.push_back(rule);
  return policy;
}

}  // namespace cloister::client::testing
