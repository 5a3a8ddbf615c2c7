// Proves the attestation policy: the default production policy refuses, with the matching
// reason, every genuine manifest item that a production verifier must refuse (debug, expired VLEK,
// unsupported TCB), accepts a clean genuine report, lists every reason at once, refuses the
// simulated TEE unless its root is named, and loads identically from JSON and TOML.
#include "cloister/tee/policy.h"

#include <gtest/gtest.h>

#include <string>

#include "cloister/tee/virtual_tee.h"
#include "tee_test_util.h"

namespace cloister::tee {
namespace {

bool HasReason(const Decision& decision, std::string_view needle) {
  for (const std::string& reason : decision.reasons) {
    if (reason.find(needle) != std::string::npos) return true;
  }
  return false;
}

std::string Reasons(const Decision& decision) {
  std::string out;
  for (const std::string& reason : decision.reasons) out += reason + "; ";
  return out;
}

TEST(DefaultPolicyTest, RefusesEveryGenuineItemProductionMustRefuseWithThatReason) {
  // Proves debug, expired-VLEK and unsupported-TCB manifest items verify but are refused by the
  // default policy, each with its reason; which items those are comes from the manifest.
  const Policy policy = Policy::DefaultProduction();
  const EvaluationContext context{.now_unix_seconds = At(kReviewTime)};
  int debug = 0, expired = 0, unsupported = 0;
  for (const ManifestItem& item : LoadManifestItems(/*genuine=*/true)) {
    const Result<Claims> claims = VerifyEvidence(item.evidence, item.options);
    ASSERT_TRUE(claims.ok()) << item.path << ": " << claims.error().ToString();
    const Decision decision = policy.Evaluate(*claims, context);
    if (item.expected_debug) {
      EXPECT_FALSE(decision.allowed) << item.path;
      EXPECT_TRUE(HasReason(decision, "debug")) << item.path << ": " << Reasons(decision);
      ++debug;
    }
    if (item.notes.find("EXPIRED") != std::string::npos) {
      EXPECT_FALSE(decision.allowed) << item.path;
      EXPECT_TRUE(HasReason(decision, "expired endorsement")) << item.path << Reasons(decision);
      ++expired;
    }
    for (const auto& [name, value] : item.expected_raw_fields) {
      if (name == "tcb_status" && value == "NotSupported") {
        EXPECT_FALSE(decision.allowed) << item.path;
        EXPECT_TRUE(HasReason(decision, "TCB not supported")) << item.path << Reasons(decision);
        ++unsupported;
      }
    }
  }
  EXPECT_GE(debug, 5);
  EXPECT_EQ(expired, 1);
  EXPECT_GE(unsupported, 2);
}

Claims VerifiedMilan() {
  const Evidence evidence{.platform = Platform::kSevSnp,
                          .raw = ReadVector("sev-snp/yaxi_milan_v3/report.bin"),
                          .endorsements = {ReadVector("sev-snp/yaxi_milan_v3/vcek.pem")}};
  return VerifyEvidence(evidence, {.at_unix_seconds = At(kReviewTime)}).value();
}

TEST(DefaultPolicyTest, AcceptsACleanGenuineReportWithAWarning) {
  // Proves a non-debug report with a valid VCEK passes the default policy, which warns that it
  // allows any measurement.
  const Decision decision =
      Policy::DefaultProduction().Evaluate(VerifiedMilan(), {.now_unix_seconds = At(kReviewTime)});
  EXPECT_TRUE(decision.allowed) << Reasons(decision);
  ASSERT_FALSE(decision.warnings.empty());
  EXPECT_NE(decision.warnings[0].find("any measurement"), std::string::npos);
}

TEST(PolicyTest, ListsEveryReasonAtOnce) {
  // Proves Evaluate does not stop at the first problem: measurement, host data, minimum SVN,
  // report_data binding and unknown SVN names are all reported together.
  const Claims claims = VerifiedMilan();
  Policy policy = Policy::DefaultProduction();
  PlatformRule& rule = policy.platforms[0];
  ASSERT_EQ(rule.platform, Platform::kSevSnp);
  rule.measurements = {Bytes(48, 0x11)};
  rule.host_data = {Bytes(32, 0x22)};
  rule.min_security_versions = {{"snp", 255}, {"no_such_svn", 1}};
  const Decision decision = policy.Evaluate(
      claims, {.now_unix_seconds = At(kReviewTime), .expected_report_data = Bytes{1, 2, 3}});
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.reasons.size(), 5u) << Reasons(decision);
  EXPECT_TRUE(HasReason(decision, "measurement " + ToHex(claims.measurement)));
  EXPECT_TRUE(HasReason(decision, "host data"));
  EXPECT_TRUE(HasReason(decision, "security version snp"));
  EXPECT_TRUE(HasReason(decision, "'no_such_svn' is not reported"));
  EXPECT_TRUE(HasReason(decision, "does not bind"));
  // With the right values everything passes.
  rule.measurements = {claims.measurement};
  rule.host_data = {claims.host_data};
  rule.min_security_versions = {{"snp", claims.SecurityVersion("snp").value()}};
  const Decision allowed = policy.Evaluate(
      claims, {.now_unix_seconds = At(kReviewTime), .expected_report_data = claims.report_data});
  EXPECT_TRUE(allowed.allowed) << Reasons(allowed);
}

TEST(PolicyTest, SimulatedTeeNeedsItsRootNamed) {
  // Proves every policy refuses virtual evidence unless it names the simulated root, even when
  // the platform itself is allowed.
  VirtualAttester attester(Bytes(48, 0xAB));
  const Evidence evidence = attester.Attest(Bytes{9, 9}).value();
  const Claims claims = VerifyEvidence(evidence, {}).value();
  EXPECT_TRUE(claims.insecure);
  const EvaluationContext context{.now_unix_seconds = At(kReviewTime)};

  const Decision production = Policy::DefaultProduction().Evaluate(claims, context);
  EXPECT_FALSE(production.allowed);
  EXPECT_TRUE(HasReason(production, "simulated TEE refused"));
  EXPECT_TRUE(HasReason(production, "platform virtual is not allowed"));

  Policy platform_only = Policy::DefaultProduction();
  platform_only.platforms.push_back({.platform = Platform::kVirtual});
  const Decision without_root = platform_only.Evaluate(claims, context);
  EXPECT_FALSE(without_root.allowed);
  EXPECT_TRUE(HasReason(without_root, "does not name simulated root"));

  const Decision development = Policy::Development().Evaluate(claims, context);
  EXPECT_TRUE(development.allowed) << Reasons(development);
}

TEST(PolicyLoadingTest, JsonAndTomlLoadTheSameRules) {
  // Proves the JSON and TOML forms are one schema, and ToJson round-trips.
  const std::string measurement(96, 'a');
  const std::string json = R"({"platforms": {"sev_snp": {"measurements": [")" + measurement +
                           R"("], "min_security_versions": {"snp": 8}, "allow_debug": true},
      "tdx": {}}, "accepted_tcb_statuses": ["UpToDate"], "max_document_age_seconds": 60})";
  const std::string toml =
      "accepted_tcb_statuses = [\"UpToDate\"]\nmax_document_age_seconds = 60\n"
      "[platforms.sev_snp]\nmeasurements = [\"" +
      measurement +
      "\"]\nallow_debug = true\n[platforms.sev_snp.min_security_versions]\n"
      "snp = 8\n[platforms.tdx]\n";
  const Result<Policy> from_json = Policy::FromJson(json);
  ASSERT_TRUE(from_json.ok()) << from_json.error().ToString();
  const Result<Policy> from_toml = Policy::FromToml(toml);
  ASSERT_TRUE(from_toml.ok()) << from_toml.error().ToString();
  EXPECT_EQ(from_json->ToJson(), from_toml->ToJson());
  const PlatformRule* rule = from_json->RuleFor(Platform::kSevSnp);
  ASSERT_NE(rule, nullptr);
  EXPECT_TRUE(rule->allow_debug);
  EXPECT_EQ(ToHex(rule->measurements.at(0)), measurement);
  EXPECT_EQ(rule->min_security_versions.at(0).second, 8u);
  EXPECT_EQ(from_json->max_document_age_seconds, 60);
  EXPECT_EQ(from_json->RuleFor(Platform::kNitro), nullptr);
  const Result<Policy> round_trip = Policy::FromJson(from_json->ToJson());
  ASSERT_TRUE(round_trip.ok()) << round_trip.error().ToString();
  EXPECT_EQ(round_trip->ToJson(), from_json->ToJson());
}

TEST(PolicyLoadingTest, MalformedPoliciesAreRejectedWithTheReason) {
  // Proves misspelt keys, bad hex and wrong types are errors, never silently ignored.
  struct Case {
    std::string text;
    std::string needle;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"platforms": {"sev_snp": {"measurement": []}}})", "unknown key 'measurement'"},
           {R"({"platforms": {"sev_snp": {"measurements": ["zz"]}}})", "measurements"},
           {R"({"platforms": {"quantum": {}}})", "unknown platform"},
           {R"({"platforms": {}, "allow_stale_collateral": "yes"})", "true or false"},
           {R"({"platform": {}})", "unknown key"},
           {R"([1, 2])", "JSON object"},
           {R"({"platforms": )", "not valid JSON"}}) {
    const Result<Policy> policy = Policy::FromJson(c.text);
    ASSERT_FALSE(policy.ok()) << c.text;
    EXPECT_NE(policy.error().message.find(c.needle), std::string::npos)
        << c.text << " -> " << policy.error().message;
  }
  EXPECT_FALSE(Policy::FromToml("[platforms\n").ok());
}

}  // namespace
}  // namespace cloister::tee
