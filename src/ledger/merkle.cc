#include "cloister/ledger/merkle.h"

#include <bit>

#include "cloister/crypto/hash.h"

namespace cloister::ledger {
namespace {

// Largest power of two strictly smaller than n (n >= 2).
uint64_t SplitPoint(uint64_t n) {
  DEBUG_ASSERT(n >= 2);
  return std::bit_floor(n - 1);
}

}  // namespace

Bytes LeafHash(ByteSpan data) {
  crypto::Hasher hasher(crypto::HashAlgorithm::kSha256);
  const uint8_t prefix = 0x00;
  hasher.Update(ByteSpan(&prefix, 1));
  hasher.Update(data);
  return hasher.Finish();
}

Bytes NodeHash(ByteSpan left, ByteSpan right) {
  uint8_t buffer[1 + 2 * kHashSize];
  ASSERT(left.size() == kHashSize && right.size() == kHashSize, "node hash of wrong-size inputs");
  buffer[0] = 0x01;
  std::copy(left.begin(), left.end(), buffer + 1);
  std::copy(right.begin(), right.end(), buffer + 1 + kHashSize);
  return crypto::Sha256(ByteSpan(buffer, sizeof(buffer)));
}

void MerkleTree::AppendLeafHash(ByteSpan leaf_hash) {
  ASSERT(leaf_hash.size() == kHashSize, "leaf hash is ", leaf_hash.size(), " bytes");
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].emplace_back(leaf_hash.begin(), leaf_hash.end());
  // Complete every perfect subtree the new leaf closes.
  for (size_t level = 0; levels_[level].size() % 2 == 0; ++level) {
    const std::vector<Bytes>& nodes = levels_[level];
    Bytes parent = NodeHash(nodes[nodes.size() - 2], nodes[nodes.size() - 1]);
    if (levels_.size() == level + 1) levels_.emplace_back();
    levels_[level + 1].push_back(std::move(parent));
  }
}

const Bytes& MerkleTree::LeafHashAt(uint64_t index) const {
  ASSERT(index < size(), "leaf ", index, " of a tree of ", size());
  return levels_[0][index];
}

void MerkleTree::Truncate(uint64_t new_size) {
  ASSERT(new_size <= size(), "truncate to ", new_size, " a tree of ", size());
  for (size_t level = 0; level < levels_.size(); ++level) {
    levels_[level].resize(new_size >> level);
  }
  while (!levels_.empty() && levels_.back().empty() && levels_.size() > 1) levels_.pop_back();
}

Bytes MerkleTree::SubtreeHash(uint64_t start, uint64_t count) const {
  DEBUG_ASSERT(count >= 1 && start + count <= size());
  if (std::has_single_bit(count)) {
    const int level = std::countr_zero(count);
    return levels_[static_cast<size_t>(level)][start >> level];
  }
  const uint64_t split = SplitPoint(count);
  return NodeHash(SubtreeHash(start, split), SubtreeHash(start + split, count - split));
}

Bytes MerkleTree::RootAt(uint64_t tree_size) const {
  ASSERT(tree_size >= 1 && tree_size <= size(), "root of ", tree_size, " leaves of ", size());
  return SubtreeHash(0, tree_size);
}

void MerkleTree::Path(uint64_t index, uint64_t start, uint64_t count,
                      std::vector<Bytes>* path) const {
  if (count == 1) return;
  const uint64_t split = SplitPoint(count);
  if (index < start + split) {
    Path(index, start, split, path);
    path->push_back(SubtreeHash(start + split, count - split));
  } else {
    Path(index, start + split, count - split, path);
    path->push_back(SubtreeHash(start, split));
  }
}

std::vector<Bytes> MerkleTree::InclusionProof(uint64_t index, uint64_t tree_size) const {
  ASSERT(index < tree_size && tree_size <= size(), "proof of leaf ", index, " in ", tree_size,
         " of ", size());
  std::vector<Bytes> path;
  Path(index, 0, tree_size, &path);
  return path;
}

Result<Bytes> RootFromInclusionProof(uint64_t leaf_index, uint64_t tree_size, ByteSpan leaf_hash,
                                     const std::vector<Bytes>& path) {
  if (leaf_index >= tree_size) {
    return VerificationError("inclusion proof: leaf index ", leaf_index,
                             " is not below the tree size ", tree_size);
  }
  if (leaf_hash.size() != kHashSize) {
    return VerificationError("inclusion proof: leaf hash is ", leaf_hash.size(), " bytes");
  }
  // RFC 9162 §2.1.3.2, steps 2-6.
  uint64_t fn = leaf_index;
  uint64_t sn = tree_size - 1;
  Bytes r(leaf_hash.begin(), leaf_hash.end());
  for (const Bytes& p : path) {
    if (p.size() != kHashSize) {
      return VerificationError("inclusion proof: a path element is ", p.size(), " bytes");
    }
    if (sn == 0) return VerificationError("inclusion proof: path is longer than the tree");
    if ((fn & 1) == 1 || fn == sn) {
      r = NodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return VerificationError("inclusion proof: path is shorter than the tree");
  return r;
}

}  // namespace cloister::ledger
