// Proves, driven by the shared vectors' MANIFEST.json at run time, that every genuine report,
// quote and document verifies and yields the manifest's measurement, report_data and debug flag,
// and that every "reject" item is rejected. Expected values are read from the manifest, never
// written here.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "cloister/base/clock.h"
#include "cloister/tee/chain_cache.h"
#include "cloister/tee/evidence.h"
#include "cloister/tee/roots.h"
#include "tee_test_util.h"
#include "vectors.h"

namespace cloister::tee {
namespace {

using Json = nlohmann::json;

std::vector<ManifestItem> GenuineItems() { return LoadManifestItems(/*genuine=*/true); }

class GenuineEvidenceTest : public ::testing::TestWithParam<ManifestItem> {};

TEST_P(GenuineEvidenceTest, VerifiesAndYieldsManifestClaims) {
  // Proves the item verifies with pinned roots and its claims equal the manifest's assertions.
  const ManifestItem& item = GetParam();
  ASSERT_TRUE(item.load_error.empty()) << item.load_error;
  const Result<Claims> claims = VerifyEvidence(item.evidence, item.options);
  ASSERT_TRUE(claims.ok()) << item.path << ": " << claims.error().ToString();
  EXPECT_EQ(claims->platform, item.evidence.platform);
  EXPECT_EQ(ToHex(claims->measurement), item.expected_measurement) << item.path;
  EXPECT_EQ(ToHex(claims->report_data), item.expected_report_data) << item.path;
  EXPECT_EQ(claims->debug, item.expected_debug) << item.path;
  EXPECT_FALSE(claims->insecure);
  for (const auto& [name, value] : item.expected_raw_fields) {
    EXPECT_EQ(claims->RawField(name).value_or("<absent>"), value) << item.path << " " << name;
  }
}

TEST_P(GenuineEvidenceTest, VerifiesIdenticallyWithAChainCache) {
  // Proves a cached chain gives the same verdict and claims as an uncached one, twice in a row.
  const ManifestItem& item = GetParam();
  ASSERT_TRUE(item.load_error.empty()) << item.load_error;
  ChainCache cache;
  VerifyOptions options = item.options;
  options.chain_cache = &cache;
  for (int round = 0; round < 2; ++round) {
    const Result<Claims> claims = VerifyEvidence(item.evidence, options);
    ASSERT_TRUE(claims.ok()) << item.path << " round " << round << ": "
                             << claims.error().ToString();
    EXPECT_EQ(ToHex(claims->measurement), item.expected_measurement);
  }
}

std::string ItemName(const ::testing::TestParamInfo<ManifestItem>& info) {
  std::string name = info.param.path;
  std::replace_if(
      name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); },
      '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Manifest, GenuineEvidenceTest, ::testing::ValuesIn(GenuineItems()),
                         ItemName);

TEST(ManifestTest, EveryPlatformHasGenuineItems) {
  // Proves the parameterised test above is not vacuous: the manifest drives many items per
  // platform.
  const std::vector<ManifestItem> items = GenuineItems();
  auto count = [&items](Platform platform) {
    return std::count_if(items.begin(), items.end(), [platform](const ManifestItem& i) {
      return i.evidence.platform == platform;
    });
  };
  EXPECT_GE(count(Platform::kSevSnp), 10);
  EXPECT_GE(count(Platform::kTdx), 8);
  EXPECT_GE(count(Platform::kSgx), 3);
  EXPECT_GE(count(Platform::kNitro), 3);
}

TEST(ManifestTest, RejectItemsAreRejected) {
  // Proves every item the manifest marks "reject" fails verification: the altered VCEKs do not
  // chain to the pinned ASK, and a report endorsed by one fails.
  const Result<std::string> text = testing::ReadFileText(testing::VectorPath("MANIFEST.json"));
  ASSERT_TRUE(text.ok());
  const Json manifest = Json::parse(*text);
  int rejected = 0;
  for (const Json& file : manifest["files"]) {
    if (file["expected"].get<std::string>().rfind("reject", 0) != 0) continue;
    const std::string path = file["path"].get<std::string>();
    const Result<Bytes> data = testing::ReadFileBytes(testing::VectorPath(path));
    ASSERT_TRUE(data.ok());
    ASSERT_EQ(file["kind"], "cert") << "unhandled reject kind for " << path;
    const Result<crypto::Certificate> vcek = crypto::Certificate::FromDerOrPem(*data);
    ASSERT_TRUE(vcek.ok());
    const AmdChain& milan = PinnedAmdChain(AmdProduct::kMilan);
    EXPECT_FALSE(
        VerifyLeafChain(*vcek, {milan.ask}, milan.ark, At("2026-11-25T00:00:00Z"), {}, nullptr)
            .ok())
        << path;
    Evidence evidence{.platform = Platform::kSevSnp,
                      .raw = ReadVector("sev-snp/trustee_milan_v2/report.bin"),
                      .endorsements = {*data}};
    const Result<Claims> claims =
        VerifyEvidence(evidence, {.at_unix_seconds = At("2026-11-25T00:00:00Z")});
    EXPECT_FALSE(claims.ok()) << path;
    ++rejected;
  }
  EXPECT_GE(rejected, 2);
}

}  // namespace
}  // namespace cloister::tee
