// MerkleTree: the RFC 9162 (Certificate Transparency v2) Merkle tree over ledger entries.
//
// Leaf i (0-based) is the hash of ledger entry i + 1: LeafHash(data) = SHA-256(0x00 || data);
// an interior node is NodeHash(l, r) = SHA-256(0x01 || l || r), and the tree over n leaves splits
// at the largest power of two smaller than n (RFC 9162 §2.1.1). The service signs Root() in
// signature transactions; receipts carry InclusionProof() paths that anyone checks with
// RootFromInclusionProof() (RFC 9162 §2.1.3.2) knowing nothing but the leaf and the path.
//
// Invariants:
//  1. levels_[0] holds every leaf hash; levels_[k][i] is the root of the perfect subtree over
//     leaves [i * 2^k, (i + 1) * 2^k), present exactly when that subtree is complete.
//  2. Append, Truncate and Root touch O(log n) nodes; a proof costs O(log^2 n) hashes.
//
// Thread safety: none (a value type; copies are independent).
#pragma once

#include <cstdint>
#include <vector>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"

namespace cloister::ledger {

inline constexpr size_t kHashSize = 32;

Bytes LeafHash(ByteSpan data);
Bytes NodeHash(ByteSpan left, ByteSpan right);

class MerkleTree {
 public:
  MerkleTree() = default;

  [[nodiscard]] uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }
  // Adds a leaf given its leaf hash (kHashSize bytes).
  void AppendLeafHash(ByteSpan leaf_hash);
  // The leaf hash of leaf `index` (< size()).
  [[nodiscard]] const Bytes& LeafHashAt(uint64_t index) const;
  // Keeps only the first `size` leaves (size <= size()).
  void Truncate(uint64_t size);
  // MTH of the first `size` leaves (1 <= size <= size()); Root() is RootAt(size()).
  [[nodiscard]] Bytes RootAt(uint64_t size) const;
  [[nodiscard]] Bytes Root() const { return RootAt(size()); }
  // PATH(index, D[0:tree_size]) of RFC 9162 §2.1.3.1; requires index < tree_size <= size().
  [[nodiscard]] std::vector<Bytes> InclusionProof(uint64_t index, uint64_t tree_size) const;

 private:
  // MTH of the `count` leaves starting at `start` (start aligned to the largest power of two
  // not larger than count, as every subtree the RFC's recursion visits is).
  [[nodiscard]] Bytes SubtreeHash(uint64_t start, uint64_t count) const;
  void Path(uint64_t index, uint64_t start, uint64_t count, std::vector<Bytes>* path) const;

  std::vector<std::vector<Bytes>> levels_;
};

// The root that `path` proves for leaf `leaf_index` with hash `leaf_hash` in a tree of
// `tree_size` leaves (RFC 9162 §2.1.3.2). kVerification when the path has the wrong length or
// shape for (leaf_index, tree_size); the caller compares the result with a signed root.
Result<Bytes> RootFromInclusionProof(uint64_t leaf_index, uint64_t tree_size, ByteSpan leaf_hash,
                                     const std::vector<Bytes>& path);

}  // namespace cloister::ledger
