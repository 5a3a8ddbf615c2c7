// LedgerSecrets: the AES-256-GCM keys that encrypt private write sets, each valid from an index.
//
// The service rotates its ledger secret by adding a new one that applies from ledger index N;
// entries before N stay encrypted under the older secret, so a node that holds the older secrets
// still reads older entries, and a node given only the newest secret reads only from N on.
// Secrets live in TEE memory only; they are never written to disk in clear. A rotation that
// never commits is undone with RemoveFrom().
//
// Invariant: start indices are strictly increasing and every secret is kSecretSize bytes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"

namespace cloister::ledger {

inline constexpr size_t kSecretSize = 32;

class LedgerSecrets {
 public:
  // Adds `secret` for entries from `start_index` (>= 1, greater than every start so far).
  Status Add(uint64_t start_index, Bytes secret);
  // A fresh random secret from `start_index`.
  Status AddRandom(uint64_t start_index);
  // Forgets every secret that starts at `start_index` or later (a rotation whose ledger entry
  // was discarded before it committed); returns how many. Older secrets are kept.
  size_t RemoveFrom(uint64_t start_index);
  // The start index of the secret that encrypts entry `index`, or nullopt if none covers it.
  [[nodiscard]] std::optional<uint64_t> StartFor(uint64_t index) const;
  // The secret that starts at exactly `start_index`, or nullptr.
  [[nodiscard]] const Bytes* SecretStartingAt(uint64_t start_index) const;
  // Every secret by its start index, in order.
  [[nodiscard]] const std::map<uint64_t, Bytes>& by_start() const { return secrets_; }
  [[nodiscard]] bool empty() const { return secrets_.empty(); }
  [[nodiscard]] size_t size() const { return secrets_.size(); }

 private:
  std::map<uint64_t, Bytes> secrets_;
};

}  // namespace cloister::ledger
