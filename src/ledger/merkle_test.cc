// Proves the Merkle tree computes RFC 9162 roots (against a direct transcription of the RFC's
// recursive definition) and that inclusion proofs verify exactly for the right leaf and size.
#include "cloister/ledger/merkle.h"

#include <gtest/gtest.h>

#include "cloister/crypto/hash.h"

namespace cloister::ledger {
namespace {

// MTH(D[n]) exactly as RFC 9162 §2.1.1 defines it.
Bytes ReferenceRoot(const std::vector<Bytes>& leaves, size_t start, size_t count) {
  if (count == 0) return crypto::Sha256({});
  if (count == 1) return leaves[start];
  size_t k = 1;
  while (k * 2 < count) k *= 2;
  return NodeHash(ReferenceRoot(leaves, start, k), ReferenceRoot(leaves, start + k, count - k));
}

std::vector<Bytes> Leaves(size_t count) {
  std::vector<Bytes> leaves;
  for (size_t i = 0; i < count; ++i) leaves.push_back(LeafHash(AsBytes(std::to_string(i))));
  return leaves;
}

// Leaf and node hashes use the RFC's domain-separation prefixes 0x00 and 0x01.
TEST(MerkleTest, HashesUseRfcPrefixes) {
  const Bytes data = ToBytes("abc");
  EXPECT_EQ(LeafHash(data), crypto::Sha256(Concat(Bytes{0x00}, data)));
  const Bytes l(32, 1);
  const Bytes r(32, 2);
  EXPECT_EQ(NodeHash(l, r), crypto::Sha256(Concat(Bytes{0x01}, l, r)));
}

// Roots at every size match the recursive definition, also after truncation and regrowth.
TEST(MerkleTest, RootsMatchReference) {
  const std::vector<Bytes> leaves = Leaves(70);
  MerkleTree tree;
  for (const Bytes& leaf : leaves) tree.AppendLeafHash(leaf);
  for (size_t n = 1; n <= leaves.size(); ++n) {
    EXPECT_EQ(tree.RootAt(n), ReferenceRoot(leaves, 0, n)) << "size " << n;
  }
  tree.Truncate(37);
  EXPECT_EQ(tree.Root(), ReferenceRoot(leaves, 0, 37));
  std::vector<Bytes> other = leaves;
  other.resize(37);
  for (size_t i = 0; i < 10; ++i) {
    other.push_back(LeafHash(AsBytes("x" + std::to_string(i))));
    tree.AppendLeafHash(other.back());
    EXPECT_EQ(tree.Root(), ReferenceRoot(other, 0, other.size()));
  }
}

// Every inclusion proof in trees of 1..40 leaves verifies, and fails for another leaf, another
// index or another tree size.
TEST(MerkleTest, InclusionProofsVerifyExactly) {
  const std::vector<Bytes> leaves = Leaves(40);
  MerkleTree tree;
  for (const Bytes& leaf : leaves) tree.AppendLeafHash(leaf);
  for (uint64_t size = 1; size <= 40; ++size) {
    const Bytes root = tree.RootAt(size);
    for (uint64_t i = 0; i < size; ++i) {
      const std::vector<Bytes> path = tree.InclusionProof(i, size);
      Result<Bytes> computed = RootFromInclusionProof(i, size, leaves[i], path);
      ASSERT_TRUE(computed.ok()) << computed.error().ToString();
      EXPECT_EQ(*computed, root) << "leaf " << i << " size " << size;
      if (size > 1) {
        const uint64_t other = (i + 1) % size;
        Result<Bytes> wrong_leaf = RootFromInclusionProof(i, size, leaves[other], path);
        EXPECT_TRUE(!wrong_leaf.ok() || *wrong_leaf != root);
        Result<Bytes> wrong_index = RootFromInclusionProof(other, size, leaves[i], path);
        EXPECT_TRUE(!wrong_index.ok() || *wrong_index != root);
      }
      if (size < 40) {
        Result<Bytes> wrong_size = RootFromInclusionProof(i, size + 1, leaves[i], path);
        EXPECT_TRUE(!wrong_size.ok() || *wrong_size != tree.RootAt(size + 1));
      }
    }
  }
}

// Malformed proofs are refused with a reason, not a crash.
TEST(MerkleTest, MalformedProofsAreRefused) {
  const Bytes leaf = LeafHash(ToBytes("a"));
  EXPECT_FALSE(RootFromInclusionProof(5, 5, leaf, {}).ok());
  EXPECT_FALSE(RootFromInclusionProof(0, 4, leaf, {Bytes(32, 0)}).ok());  // too short
  EXPECT_FALSE(RootFromInclusionProof(0, 2, leaf, {Bytes(32, 0), Bytes(32, 0)}).ok());
  EXPECT_FALSE(RootFromInclusionProof(0, 2, leaf, {Bytes(31, 0)}).ok());
  EXPECT_FALSE(RootFromInclusionProof(0, 1, Bytes(5, 0), {}).ok());
}

}  // namespace
}  // namespace cloister::ledger
