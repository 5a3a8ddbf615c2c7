// Chain verification with an optional cache of the verified path above the leaf (chain_cache.h).
#include "cloister/tee/chain_cache.h"

#include <algorithm>
#include <string>

#include "cloister/base/clock.h"

namespace cloister::tee {

std::optional<ChainCache::Interval> ChainCache::Lookup(const Bytes& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = entries_.find(key);
  if (found == entries_.end()) return std::nullopt;
  return found->second;
}

void ChainCache::Insert(const Bytes& key, Interval interval) {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_[key] = interval;
}

size_t ChainCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

void ChainCache::Clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.clear();
}

namespace {

Bytes PathKey(const std::vector<crypto::Certificate>& intermediates,
              const crypto::Certificate& root) {
  Bytes key;
  for (const crypto::Certificate& certificate : intermediates) {
    const Bytes fingerprint = certificate.Fingerprint();
    key.insert(key.end(), fingerprint.begin(), fingerprint.end());
  }
  const Bytes root_fingerprint = root.Fingerprint();
  key.insert(key.end(), root_fingerprint.begin(), root_fingerprint.end());
  return key;
}

ChainCache::Interval PathInterval(const std::vector<crypto::Certificate>& intermediates,
                                  const crypto::Certificate& root) {
  ChainCache::Interval interval{root.NotBefore(), root.NotAfter()};
  for (const crypto::Certificate& certificate : intermediates) {
    interval.not_before = std::max(interval.not_before, certificate.NotBefore());
    interval.not_after = std::min(interval.not_after, certificate.NotAfter());
  }
  return interval;
}

void NoteExpiry(const crypto::Certificate& certificate, VerifiedChain* chain) {
  if (chain->not_after == 0 || certificate.NotAfter() < chain->not_after) {
    chain->not_after = certificate.NotAfter();
    chain->expiring_subject = certificate.Subject();
  }
}

// The leaf checks a cache hit still needs: issued by the cached issuer, signed by it, valid now.
Status VerifyLeafAgainstIssuer(const crypto::Certificate& leaf, const crypto::Certificate& issuer,
                               int64_t at_unix_seconds) {
  if (leaf.Issuer() != issuer.Subject()) {
    return VerificationError("certificate '", leaf.Subject(), "' is issued by '", leaf.Issuer(),
                             "', not by '", issuer.Subject(), "'");
  }
  RETURN_IF_ERROR(leaf.VerifySignedBy(issuer));
  if (at_unix_seconds < leaf.NotBefore()) {
    return VerificationError("certificate '", leaf.Subject(), "' is not yet valid at ",
                             FormatRfc3339(at_unix_seconds), " (notBefore ",
                             FormatRfc3339(leaf.NotBefore()), ")");
  }
  if (at_unix_seconds > leaf.NotAfter()) {
    return VerificationError("certificate '", leaf.Subject(), "' has expired at ",
                             FormatRfc3339(at_unix_seconds), " (notAfter ",
                             FormatRfc3339(leaf.NotAfter()), ")");
  }
  return OkStatus();
}

}  // namespace

Result<VerifiedChain> VerifyLeafChain(const crypto::Certificate& leaf,
                                      const std::vector<crypto::Certificate>& intermediates,
                                      const crypto::Certificate& root, int64_t at_unix_seconds,
                                      const std::vector<crypto::Crl>& crls, ChainCache* cache) {
  VerifiedChain chain;
  chain.root_fingerprint = root.Fingerprint();
  NoteExpiry(leaf, &chain);
  for (const crypto::Certificate& certificate : intermediates) NoteExpiry(certificate, &chain);
  NoteExpiry(root, &chain);

  const bool cacheable = cache != nullptr && crls.empty() && !intermediates.empty();
  const Bytes key = cacheable ? PathKey(intermediates, root) : Bytes{};
  if (cacheable) {
    std::optional<ChainCache::Interval> interval = cache->Lookup(key);
    if (interval && at_unix_seconds >= interval->not_before &&
        at_unix_seconds <= interval->not_after) {
      RETURN_IF_ERROR(VerifyLeafAgainstIssuer(leaf, intermediates.front(), at_unix_seconds));
      return chain;
    }
  }
  ASSIGN_OR_RETURN(std::vector<crypto::Certificate> path,
                   crypto::VerifyChain(leaf, intermediates, {root},
                                       {.at_unix_seconds = at_unix_seconds, .crls = crls}));
  // The path must be exactly leaf, the given intermediates in order, then the pinned root: a
  // shorter path would mean an intermediate we report as verified was never used.
  if (path.size() != intermediates.size() + 2) {
    return VerificationError("certificate path has ", path.size(), " certificates, expected ",
                             intermediates.size() + 2, " (leaf, intermediates, pinned root)");
  }
  for (size_t i = 0; i < intermediates.size(); ++i) {
    if (!(path[i + 1] == intermediates[i])) {
      return VerificationError("certificate path does not use '", intermediates[i].Subject(),
                               "' at position ", i + 1);
    }
  }
  if (cacheable) cache->Insert(key, PathInterval(intermediates, root));
  return chain;
}

}  // namespace cloister::tee
