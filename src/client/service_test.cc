// Proves VerifyService accepts a service only when every non-retired node's genuine evidence
// binds its own key and satisfies the client's policy, and the service is the pinned one.
#include "cloister/client/service.h"

#include <gtest/gtest.h>

#include "client_test_util.h"

namespace cloister::client {
namespace {

using testing::ExpectedPolicy;
using testing::FakeService;
using testing::kNow;
using testing::MakeNode;
using testing::TestMeasurement;
using testing::ThreeNodeService;

Result<VerifiedService> Verify(const FakeService& service, const tee::Policy& policy) {
  ASSIGN_OR_RETURN(ServiceView view, ParseServiceView(service.Document()));
  return VerifyService(view, policy, service.certificate, kNow);
}

TEST(ServiceTest, AcceptsAServiceWhoseNodesAllVerify) {
  // Proves the nominal case: three attested nodes, claims computed from their evidence.
  const FakeService service = ThreeNodeService();
  Result<VerifiedService> verified = Verify(service, ExpectedPolicy());
  ASSERT_TRUE(verified.ok()) << verified.error().ToString();
  ASSERT_EQ(verified->nodes.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(verified->nodes[i].id, service.nodes[i].id);
    EXPECT_EQ(verified->nodes[i].claims.measurement, TestMeasurement());
    EXPECT_TRUE(verified->nodes[i].claims.insecure);
    EXPECT_EQ(verified->nodes[i].key, service.nodes[i].key.Public());
  }
  EXPECT_EQ(verified->hpke_public_key, service.hpke.public_key);
}

TEST(ServiceTest, RefusesEvidenceBoundToAnotherKey) {
  // Proves a node cannot present evidence that binds someone else's key (H5: replayed evidence).
  FakeService service = ThreeNodeService();
  const crypto::PrivateKey other = crypto::PrivateKey::Generate(crypto::KeyType::kP256).value();
  service.nodes[1] = MakeNode(2, TestMeasurement(), &other);
  Result<VerifiedService> verified = Verify(service, ExpectedPolicy());
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().code, ErrorCode::kPolicy);
  EXPECT_NE(verified.error().message.find("node 2"), std::string::npos);
  EXPECT_NE(verified.error().message.find("report_data"), std::string::npos)
      << verified.error().message;
}

TEST(ServiceTest, RefusesEvidenceWhoseContextWasSwapped) {
  // Proves the binding covers the attestation context as well as the key.
  FakeService service = ThreeNodeService();
  service.nodes[0].context = service.nodes[2].context;
  Result<VerifiedService> verified = Verify(service, ExpectedPolicy());
  ASSERT_FALSE(verified.ok());
  EXPECT_NE(verified.error().message.find("node 1"), std::string::npos);
}

TEST(ServiceTest, RefusesTheSimulatedTeeWhenThePolicyDoesNotNameItsRoot) {
  // Proves a policy without the simulated root refuses virtual evidence, with that reason.
  const FakeService service = ThreeNodeService();
  tee::Policy policy = ExpectedPolicy();
  policy.simulated_roots.clear();
  Result<VerifiedService> verified = Verify(service, policy);
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().code, ErrorCode::kPolicy);
  for (const char* node : {"node 1", "node 2", "node 3"}) {
    EXPECT_NE(verified.error().message.find(node), std::string::npos) << node;
  }
  // The production default refuses it as well.
  EXPECT_FALSE(Verify(service, tee::Policy::DefaultProduction()).ok());
}

TEST(ServiceTest, RefusesAWrongMeasurementOnOneNode) {
  // Proves one node running other code refuses the whole service and is named.
  FakeService service = ThreeNodeService();
  service.nodes[2] = MakeNode(3, crypto::Sha384(ToBytes("other build")));
  Result<VerifiedService> verified = Verify(service, ExpectedPolicy());
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().code, ErrorCode::kPolicy);
  EXPECT_NE(verified.error().message.find("node 3"), std::string::npos);
  EXPECT_EQ(verified.error().message.find("node 1"), std::string::npos);
}

TEST(ServiceTest, RefusesADebugTee) {
  // Proves a debug TEE is refused by a policy that does not allow debug.
  FakeService service = ThreeNodeService();
  service.nodes[0] = MakeNode(1, TestMeasurement(), nullptr, /*debug=*/true);
  Result<VerifiedService> verified = Verify(service, ExpectedPolicy());
  ASSERT_FALSE(verified.ok());
  EXPECT_NE(verified.error().message.find("debug"), std::string::npos) << verified.error().message;
}

TEST(ServiceTest, RefusesTamperedEvidence) {
  // Proves evidence whose signed bytes were changed fails verification (not only policy).
  FakeService service = ThreeNodeService();
  service.nodes[1].evidence.raw[20] ^= 1;
  Result<VerifiedService> verified = Verify(service, ExpectedPolicy());
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().code, ErrorCode::kVerification);
  EXPECT_NE(verified.error().message.find("node 2"), std::string::npos);
}

TEST(ServiceTest, IgnoresRetiredNodesOnly) {
  // Proves a retired node's record is not required to verify, while every other node is.
  FakeService service = ThreeNodeService();
  service.nodes[2] = MakeNode(3, crypto::Sha384(ToBytes("old build")));
  service.nodes[2].status = "retired";
  Result<VerifiedService> verified = Verify(service, ExpectedPolicy());
  ASSERT_TRUE(verified.ok()) << verified.error().ToString();
  EXPECT_EQ(verified->nodes.size(), 2u);
  service.nodes[2].status = "learner";
  EXPECT_FALSE(Verify(service, ExpectedPolicy()).ok());
}

TEST(ServiceTest, RefusesAnotherServiceCertificate) {
  // Proves the service must present exactly the pinned certificate.
  const FakeService service = ThreeNodeService();
  const FakeService impostor = ThreeNodeService();
  ServiceView view = ParseServiceView(service.Document()).value();
  Result<VerifiedService> verified =
      VerifyService(view, ExpectedPolicy(), impostor.certificate, kNow);
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().code, ErrorCode::kVerification);
  EXPECT_NE(verified.error().message.find("pinned"), std::string::npos);
}

TEST(ServiceTest, RefusesAnUnexpectedSuiteOrKeyOrNoNodes) {
  // Proves the HPKE suite and key are checked, and that an empty service is refused.
  FakeService service = ThreeNodeService();
  service.suite = "DHKEM(P-256,HKDF-SHA256)/HKDF-SHA256/AES-128-GCM";
  EXPECT_EQ(Verify(service, ExpectedPolicy()).error().code, ErrorCode::kUnsupported);
  FakeService empty = ThreeNodeService();
  empty.nodes.clear();
  EXPECT_FALSE(Verify(empty, ExpectedPolicy()).ok());
  ServiceView view = ParseServiceView(service.Document()).value();
  view.hpke_suite = std::string(kEventSuiteName);
  view.hpke_public_key = Bytes(31, 9);
  EXPECT_FALSE(VerifyService(view, ExpectedPolicy(), service.certificate, kNow).ok());
}

TEST(ServiceTest, ParseNamesTheWrongField) {
  // Proves malformed documents are refused with the field named.
  const FakeService service = ThreeNodeService();
  nlohmann::json document = nlohmann::json::parse(service.Document());
  document["nodes"][1]["evidence"]["raw"] = "%%%";
  Result<ServiceView> view = ParseServiceView(document.dump());
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.error().code, ErrorCode::kParse);
  EXPECT_NE(view.error().message.find("node 2 evidence: field 'raw'"), std::string::npos)
      << view.error().message;
  document = nlohmann::json::parse(service.Document());
  document.erase("hpke_public_key");
  EXPECT_NE(ParseServiceView(document.dump()).error().message.find("hpke_public_key"),
            std::string::npos);
  EXPECT_FALSE(ParseServiceView("[1,2]").ok());
  EXPECT_FALSE(ParseServiceView("{").ok());
}

}  // namespace
}  // namespace cloister::client
