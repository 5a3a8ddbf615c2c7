// A cache of verified certificate chains above the leaf, keyed by certificate fingerprints.
//
// Checking an RSA-4096 ASK under its ARK (or a Nitro regional CA under the AWS root) again for
// every report is wasted work: those certificates change once in years. ChainCache remembers that
// the path intermediate[0] <- ... <- root verified, together with the interval in which every
// certificate on it is valid. The leaf (VCEK, VLEK, Nitro leaf) is never cached: it is verified
// against the cached issuer on every call, so a cache hit checks exactly what a miss checks above
// the leaf, within the cached validity interval.
//
// Invariant: an entry exists only for a path that VerifyChain accepted with the pinned root as
// the only trust anchor. Entries are keyed by the SHA-256 fingerprints of every certificate on
// the path (issuer first, root last), so a different certificate can never hit another's entry.
// Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/crypto/x509.h"

namespace cloister::tee {

class ChainCache {
 public:
  struct Interval {
    int64_t not_before = 0;  // Unix seconds, the latest notBefore on the path
    int64_t not_after = 0;   // the earliest notAfter on the path
  };

  // The validity interval of a previously verified path, or nullopt.
  [[nodiscard]] std::optional<Interval> Lookup(const Bytes& key) const;
  void Insert(const Bytes& key, Interval interval);
  [[nodiscard]] size_t size() const;
  void Clear();

 private:
  mutable std::mutex mutex_;
  std::map<Bytes, Interval> entries_;  // GUARDED_BY(mutex_)
};

// What a verified leaf chain tells the caller.
struct VerifiedChain {
  // The earliest notAfter on leaf..root and whose it is (an expiring VLEK or PCK leaf).
  int64_t not_after = 0;
  std::string expiring_subject;
  Bytes root_fingerprint;
};

// Verifies leaf <- intermediates[0] <- ... <- root at `at_unix_seconds`, with `root` the only
// trust anchor and the path required to use every intermediate in the given order. With a cache
// (and no CRLs), a path above the leaf verified earlier is not re-verified; the leaf's signature
// and validity are always checked. The error names the failing certificate.
Result<VerifiedChain> VerifyLeafChain(const crypto::Certificate& leaf,
                                      const std::vector<crypto::Certificate>& intermediates,
                                      const crypto::Certificate& root, int64_t at_unix_seconds,
                                      const std::vector<crypto::Crl>& crls, ChainCache* cache);

}  // namespace cloister::tee
