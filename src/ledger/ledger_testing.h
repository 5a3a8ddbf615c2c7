// Test support: builds a ledger the way a node does (kv commits, ledger appends, periodic
// signatures) so that tests and the CLI test can check what is on disk.
#pragma once

#include <memory>
#include <string>

#include "cloister/crypto/key.h"
#include "cloister/crypto/x509.h"
#include "cloister/kv/store.h"
#include "cloister/ledger/ledger.h"

namespace cloister::ledger::testing {

struct TestService {
  crypto::PrivateKey service_key;
  crypto::Certificate service_cert;
  LedgerSecrets secrets;
  kv::Store store;
  std::unique_ptr<Ledger> ledger;
};

// A service identity (P-256 key and self-signed certificate) and a ledger secret from index 1.
inline std::unique_ptr<TestService> NewService() {
  auto key = crypto::PrivateKey::Generate(crypto::KeyType::kP256);
  ASSERT(key.ok(), "key generation");
  crypto::CertificateRequest request{
      .common_name = "cloister test service", .not_before = 0, .not_after = 4102444800};
  auto cert = crypto::IssueCertificate(request, key->Public(), *key, nullptr);
  ASSERT(cert.ok(), "certificate");
  auto service = std::unique_ptr<TestService>(new TestService{*key, *cert, {}, {}, nullptr});
  const Status added = service->secrets.AddRandom(1);
  ASSERT(added.ok(), "secret");
  return service;
}

inline std::string PrivateCanary(uint64_t i) { return "PRIVATE-CANARY-" + std::to_string(i); }
inline std::string PublicCanary(uint64_t i) { return "PUBLIC-CANARY-" + std::to_string(i); }

// Commits one transaction (a private and a public write, values of `value_size` bytes at least)
// and appends it.
inline Status CommitOne(TestService& service, uint64_t term, uint64_t i, size_t value_size = 0) {
  kv::Tx tx = service.store.Begin();
  std::string private_value = PrivateCanary(i);
  if (private_value.size() < value_size) private_value.resize(value_size, 'p');
  RETURN_IF_ERROR(tx.rw("accounts")->put("k" + std::to_string(i % 97), private_value));
  RETURN_IF_ERROR(tx.rw("public:log")->put("e" + std::to_string(i), PublicCanary(i)));
  ASSIGN_OR_RETURN(kv::CommitResult committed, service.store.Commit(tx));
  return service.ledger->AppendTransaction(term, committed.version, committed.write_set);
}

inline Status SignNow(TestService& service, uint64_t term) {
  ASSIGN_OR_RETURN(kv::WriteSet writes, service.ledger->AppendSignature(term, service.service_key));
  return service.store.Apply(writes, service.ledger->last_index());
}

// Appends `count` transactions with a signature after every `signature_interval`, and a final
// signature, then syncs.
inline Status AppendMany(TestService& service, uint64_t count, uint64_t signature_interval,
                         uint64_t term = 1) {
  for (uint64_t i = 1; i <= count; ++i) {
    RETURN_IF_ERROR(CommitOne(service, term, service.ledger->last_index() + 1));
    if (i % signature_interval == 0) RETURN_IF_ERROR(SignNow(service, term));
  }
  if (service.ledger->last_signed_index() != service.ledger->last_index()) {
    RETURN_IF_ERROR(SignNow(service, term));
  }
  return service.ledger->Sync();
}

}  // namespace cloister::ledger::testing
