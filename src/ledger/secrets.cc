#include "cloister/ledger/secrets.h"

#include <iterator>

#include "cloister/crypto/random.h"

namespace cloister::ledger {

Status LedgerSecrets::Add(uint64_t start_index, Bytes secret) {
  if (secret.size() != kSecretSize) {
    return InvalidArgumentError("ledger secret is ", secret.size(), " bytes, expected ",
                                kSecretSize);
  }
  if (start_index == 0) return InvalidArgumentError("ledger secret start index must be >= 1");
  if (!secrets_.empty() && secrets_.rbegin()->first >= start_index) {
    return InvalidArgumentError("ledger secret from index ", start_index,
                                " does not follow the secret from index ",
                                secrets_.rbegin()->first);
  }
  secrets_.emplace(start_index, std::move(secret));
  return OkStatus();
}

Status LedgerSecrets::AddRandom(uint64_t start_index) {
  return Add(start_index, crypto::SecureRandomBytes(kSecretSize));
}

size_t LedgerSecrets::RemoveFrom(uint64_t start_index) {
  const auto first = secrets_.lower_bound(start_index);
  const auto removed = static_cast<size_t>(std::distance(first, secrets_.end()));
  secrets_.erase(first, secrets_.end());
  return removed;
}

std::optional<uint64_t> LedgerSecrets::StartFor(uint64_t index) const {
  auto it = secrets_.upper_bound(index);
  if (it == secrets_.begin()) return std::nullopt;
  return std::prev(it)->first;
}

const Bytes* LedgerSecrets::SecretStartingAt(uint64_t start_index) const {
  const auto it = secrets_.find(start_index);
  return it == secrets_.end() ? nullptr : &it->second;
}

}  // namespace cloister::ledger
