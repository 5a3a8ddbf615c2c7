// Proves the compiled-in trust anchors are the vendors' published certificates: each pinned
// certificate equals the shared vector file and has the manifest's SHA-256 fingerprint, the
// intermediates chain to their roots, and ChainCache keys do not collide across paths.
#include "cloister/tee/roots.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cloister/tee/chain_cache.h"
#include "tee_test_util.h"

namespace cloister::tee {
namespace {

std::string ManifestFingerprint(const std::string& path) {
  const nlohmann::json manifest =
      nlohmann::json::parse(testing::ReadFileText(testing::VectorPath("MANIFEST.json")).value());
  for (const nlohmann::json& file : manifest["files"]) {
    if (file["path"] == path) return file.value("sha256_fingerprint_der", "");
  }
  return "";
}

void ExpectPinned(const crypto::Certificate& pinned, const std::string& path) {
  const crypto::Certificate file = crypto::Certificate::FromDerOrPem(ReadVector(path)).value();
  EXPECT_EQ(pinned, file) << path;
  const std::string fingerprint = ManifestFingerprint(path);
  ASSERT_FALSE(fingerprint.empty()) << path;
  EXPECT_EQ(ToHex(pinned.Fingerprint()), fingerprint) << path;
}

TEST(RootsTest, PinnedRootsAreTheVendorsPublishedCertificates) {
  // Proves every pinned anchor and intermediate is byte-equal to the vendor file and has the
  // published fingerprint.
  const std::pair<AmdProduct, const char*> products[] = {
      {AmdProduct::kMilan, "milan"}, {AmdProduct::kGenoa, "genoa"}, {AmdProduct::kTurin, "turin"}};
  for (const auto& [product, name] : products) {
    const AmdChain& chain = PinnedAmdChain(product);
    ExpectPinned(chain.ark, std::string("sev-snp/amd/ark_") + name + ".pem");
    ExpectPinned(chain.ask, std::string("sev-snp/amd/ask_") + name + ".pem");
    ExpectPinned(chain.asvk, std::string("sev-snp/amd/asvk_") + name + ".pem");
    EXPECT_TRUE(chain.ask.VerifySignedBy(chain.ark).ok()) << name;
    EXPECT_TRUE(chain.asvk.VerifySignedBy(chain.ark).ok()) << name;
    EXPECT_EQ(chain.ark.CommonName(), std::string("ARK-") + std::string(AmdProductName(product)));
  }
  ExpectPinned(PinnedIntelSgxRootCa(), "intel/sgx_root_ca.pem");
  ExpectPinned(PinnedAwsNitroRoot(), "nitro/aws_nitro_enclaves_root_g1.pem");
  EXPECT_TRUE(KnownIntelTcbSigningCertificate().VerifySignedBy(PinnedIntelSgxRootCa()).ok());
}

TEST(RootsTest, ProductNamesParse) {
  // Proves KDS product names with stepping suffixes select the family, and others are refused.
  EXPECT_EQ(ParseAmdProduct("Milan-B0").value(), AmdProduct::kMilan);
  EXPECT_EQ(ParseAmdProduct("Genoa").value(), AmdProduct::kGenoa);
  EXPECT_EQ(ParseAmdProduct("Turin").value(), AmdProduct::kTurin);
  EXPECT_FALSE(ParseAmdProduct("Rome").ok());
  EXPECT_FALSE(ParseAmdProduct("").ok());
}

TEST(ChainCacheTest, CachesThePathAboveTheLeafButAlwaysChecksTheLeaf) {
  // Proves a warm cache still refuses a leaf not signed by the cached issuer, and a leaf outside
  // its validity, and that the cache holds one entry per distinct path.
  const AmdChain& milan = PinnedAmdChain(AmdProduct::kMilan);
  const AmdChain& genoa = PinnedAmdChain(AmdProduct::kGenoa);
  const crypto::Certificate vcek =
      crypto::Certificate::FromDerOrPem(ReadVector("sev-snp/yaxi_milan_v3/vcek.pem")).value();
  ChainCache cache;
  const int64_t now = At(kReviewTime);
  ASSERT_TRUE(VerifyLeafChain(vcek, {milan.ask}, milan.ark, now, {}, &cache).ok());
  EXPECT_EQ(cache.size(), 1u);
  ASSERT_TRUE(VerifyLeafChain(vcek, {milan.ask}, milan.ark, now, {}, &cache).ok());
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_FALSE(VerifyLeafChain(vcek, {milan.ask}, milan.ark, vcek.NotAfter() + 1, {}, &cache).ok());
  EXPECT_FALSE(
      VerifyLeafChain(vcek, {milan.ask}, milan.ark, vcek.NotBefore() - 1, {}, &cache).ok());
  ASSERT_TRUE(VerifyLeafChain(genoa.ask, {}, genoa.ark, now, {}, &cache).ok());
  EXPECT_FALSE(VerifyLeafChain(vcek, {genoa.ask}, genoa.ark, now, {}, &cache).ok());
  // A Genoa path was never verified with the Milan VCEK, so nothing Genoa is cached from it.
  EXPECT_EQ(cache.size(), 1u);
}

}  // namespace
}  // namespace cloister::tee
