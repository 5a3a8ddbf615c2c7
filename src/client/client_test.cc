// Proves the Client sends nothing before the service is verified, seals events the service can
// open, reseals to a rotated service HPKE key only from a verified attestation, follows
// redirects only to verified nodes, bounds its retries, and fetches and verifies receipts.
#include "cloister/client/client.h"

#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "client_test_util.h"
#include "cloister/crypto/aead.h"
#include "cloister/ledger/memory_storage.h"
#include "ledger/ledger_testing.h"

namespace cloister::client {
namespace {

using testing::ExpectedPolicy;
using testing::FakeService;
using testing::kNow;
using testing::ThreeNodeService;

struct Recorded {
  std::string server;
  std::string method;
  std::string target;
  std::string body;
};

class FakeTransport final : public Transport {
 public:
  using Handler = std::function<Result<Response>(const Recorded&)>;
  explicit FakeTransport(Handler handler) : handler_(std::move(handler)) {}
  Result<Response> Request(const std::string& server, const std::string& method,
                           const std::string& target, const std::string& body) override {
    requests.push_back({server, method, target, body});
    return handler_(requests.back());
  }
  std::vector<Recorded> requests;

 private:
  Handler handler_;
};

Response Json(unsigned status, std::string body) { return Response{status, {}, std::move(body)}; }

ClientOptions FastOptions(int* sleeps = nullptr) {
  ClientOptions options;
  options.max_attempts = 5;
  options.unix_now = [] { return kNow; };
  options.sleep = [sleeps](std::chrono::milliseconds) {
    if (sleeps) ++*sleeps;
  };
  return options;
}

// Opens an envelope the way the node does (sealed_event.h).
std::string OpenEnvelope(const crypto::hpke::KeyPair& key, const std::string& envelope) {
  const nlohmann::json json = nlohmann::json::parse(envelope);
  const Bytes enc = Base64Decode(json["enc"].get<std::string>()).value();
  const uint64_t seq = json["seq"].get<uint64_t>();
  crypto::hpke::RecipientParams params;
  params.info = AsBytes(kEventInfo);
  auto context = crypto::hpke::SetupRecipient(EventSuite(), enc, key, params).value();
  const Bytes seq_bytes = EncodeBigEndian(seq, 8);
  const Bytes aead_key = context.Export(Concat(AsBytes("cloister/event"), seq_bytes), 16).value();
  Result<Bytes> plain =
      crypto::AeadOpen(crypto::AeadAlgorithm::kAes128Gcm, aead_key, Bytes(12, 0),
                       Concat(AsBytes("cloister/event/v1"), seq_bytes),
                       Base64Decode(json["ciphertext"].get<std::string>()).value());
  return plain.ok() ? ToString(*plain) : "<does not open>";
}

TEST(ClientTest, NothingIsSentBeforeAttestation) {
  // Proves Submit fails without a verified service and the transport sees no event.
  const FakeService service = ThreeNodeService();
  FakeTransport transport([](const Recorded&) -> Result<Response> { return Json(200, "{}"); });
  Client client(&transport, "127.0.0.1:9001", ExpectedPolicy(), service.certificate, FastOptions());
  Result<Submitted> submitted = client.Submit(AsBytes("secret"));
  ASSERT_FALSE(submitted.ok());
  EXPECT_EQ(submitted.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(transport.requests.empty());
}

TEST(ClientTest, RefusedAttestationSendsNoEvent) {
  // Proves a service that fails verification never receives the event.
  FakeService service = ThreeNodeService();
  service.nodes[1] = testing::MakeNode(2, crypto::Sha384(ToBytes("evil build")));
  FakeTransport transport([&](const Recorded& request) -> Result<Response> {
    if (request.target == "/node/attestation") return Json(200, service.Document());
    return Json(200, "{}");
  });
  Client client(&transport, "127.0.0.1:9001", ExpectedPolicy(), service.certificate, FastOptions());
  Result<VerifiedService> attested = client.Attest();
  ASSERT_FALSE(attested.ok());
  EXPECT_EQ(attested.error().code, ErrorCode::kPolicy);
  EXPECT_FALSE(client.Submit(AsBytes("secret")).ok());
  ASSERT_EQ(transport.requests.size(), 1u);
  EXPECT_EQ(transport.requests[0].target, "/node/attestation");
}

TEST(ClientTest, SubmitsSealedEventsAndReadsTheTransactionId) {
  // Proves events reach the service sealed to its key, one context for the stream, and the
  // transaction id comes from the response header.
  const FakeService service = ThreeNodeService();
  std::vector<std::string> opened;
  FakeTransport transport([&](const Recorded& request) -> Result<Response> {
    if (request.target == "/node/attestation") return Json(200, service.Document());
    opened.push_back(OpenEnvelope(service.hpke, request.body));
    Response response = Json(200, R"({"ok":true})");
    response.headers["x-ms-ccf-transaction-id"] = "2." + std::to_string(10 + opened.size());
    return response;
  });
  Client client(&transport, "127.0.0.1:9001", ExpectedPolicy(), service.certificate, FastOptions());
  ASSERT_TRUE(client.Attest().ok());
  for (int i = 0; i < 3; ++i) {
    Result<Submitted> submitted = client.Submit(AsBytes("event " + std::to_string(i)));
    ASSERT_TRUE(submitted.ok()) << submitted.error().ToString();
    EXPECT_EQ(submitted->id, (TxId{2, static_cast<uint64_t>(11 + i)}));
    EXPECT_EQ(submitted->seq, static_cast<uint64_t>(i));
    EXPECT_EQ(submitted->context_id, client.sealer()->context_id());
  }
  EXPECT_EQ(opened, (std::vector<std::string>{"event 0", "event 1", "event 2"}));
  for (size_t i = 1; i < transport.requests.size(); ++i) {
    EXPECT_EQ(transport.requests[i].body.find("event"), std::string::npos) << "plaintext sent";
  }
}

TEST(ClientTest, FollowsRedirectsOnlyToVerifiedNodes) {
  // Proves a 307 to a verified node's client address is followed and one elsewhere is refused.
  const FakeService service = ThreeNodeService();
  std::string location = "https://" + service.nodes[2].client_address + "/app/events";
  FakeTransport transport([&](const Recorded& request) -> Result<Response> {
    if (request.target == "/node/attestation") return Json(200, service.Document());
    if (request.server != service.nodes[2].client_address) {
      Response redirect = Json(307, "{}");
      redirect.headers["location"] = location;
      return redirect;
    }
    Response response = Json(200, "{}");
    response.headers["x-ms-ccf-transaction-id"] = "3.4";
    return response;
  });
  Client client(&transport, service.nodes[0].client_address, ExpectedPolicy(), service.certificate,
                FastOptions());
  ASSERT_TRUE(client.Attest().ok());
  Result<Submitted> submitted = client.Submit(AsBytes("to the leader"));
  ASSERT_TRUE(submitted.ok()) << submitted.error().ToString();
  EXPECT_EQ(client.server(), service.nodes[2].client_address);
  EXPECT_EQ(transport.requests.back().server, service.nodes[2].client_address);

  Client other(&transport, service.nodes[0].client_address, ExpectedPolicy(), service.certificate,
               FastOptions());
  ASSERT_TRUE(other.Attest().ok());
  location = "https://203.0.113.9:443/app/events";
  Result<Submitted> refused = other.Submit(AsBytes("to an impostor"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kVerification);
  EXPECT_NE(refused.error().message.find("203.0.113.9:443"), std::string::npos);
}

TEST(ClientTest, RetriesUnavailableABoundedNumberOfTimes) {
  // Proves a 503 is retried with the same envelope, and that retries stop at max_attempts.
  const FakeService service = ThreeNodeService();
  int posts = 0;
  int succeed_on = 3;
  FakeTransport transport([&](const Recorded& request) -> Result<Response> {
    if (request.target == "/node/attestation") return Json(200, service.Document());
    if (++posts < succeed_on) {
      return Json(503, R"({"error":{"code":"unavailable","message":"no leader"}})");
    }
    Response response = Json(200, "{}");
    response.headers["x-ms-ccf-transaction-id"] = "1.9";
    return response;
  });
  int sleeps = 0;
  Client client(&transport, "127.0.0.1:9001", ExpectedPolicy(), service.certificate,
                FastOptions(&sleeps));
  ASSERT_TRUE(client.Attest().ok());
  ASSERT_TRUE(client.Submit(AsBytes("x")).ok());
  EXPECT_EQ(posts, 3);
  EXPECT_EQ(sleeps, 2);
  EXPECT_EQ(transport.requests[1].body, transport.requests[3].body);

  posts = 0;
  succeed_on = 1000;
  Result<Submitted> failed = client.Submit(AsBytes("y"));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(failed.error().message.find("no leader"), std::string::npos);
  EXPECT_EQ(posts, 5);
}

TEST(ClientTest, RefusalsAreReportedWithTheNodesReason) {
  // Proves a replay refusal (409) is returned as the node's error, without retrying.
  const FakeService service = ThreeNodeService();
  FakeTransport transport([&](const Recorded& request) -> Result<Response> {
    if (request.target == "/node/attestation") return Json(200, service.Document());
    return Json(409,
                R"({"error":{"code":"conflict","message":"event x:0 was already submitted"}})");
  });
  Client client(&transport, "127.0.0.1:9001", ExpectedPolicy(), service.certificate, FastOptions());
  ASSERT_TRUE(client.Attest().ok());
  Result<Submitted> refused = client.Submit(AsBytes("x"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  EXPECT_NE(refused.error().message.find("already submitted"), std::string::npos);
  EXPECT_EQ(transport.requests.size(), 2u);
}

TEST(ClientTest, ReplayOfATimedOutAttemptReportsItsCommittedTransaction) {
  // Proves that when the first POST times out after the node committed it, the retry's replay
  // refusal (409 naming the earlier transaction) is resolved through /tx/status: success with
  // that id once Committed; if that transaction turns out Invalid, the same envelope is posted
  // again. A 409 answering a first attempt stays a refusal.
  const FakeService service = ThreeNodeService();
  std::vector<std::string> status_answers;
  std::vector<Result<Response>> post_answers;
  size_t posts = 0;
  size_t status_queries = 0;
  const auto refusal = [](const std::string& id) {
    return Json(409, R"({"error":{"code":"conflict","message":"event c:0 was already )"
                     R"(submitted"},"transaction_id":")" +
                         id + "\"}");
  };
  FakeTransport transport([&](const Recorded& request) -> Result<Response> {
    if (request.target == "/node/attestation") return Json(200, service.Document());
    if (request.target.starts_with("/tx/status?id=")) {
      const std::string id = request.target.substr(std::string("/tx/status?id=").size());
      return Json(200, R"({"transaction_id":")" + id + R"(","status":")" +
                           status_answers.at(status_queries++) + "\"}");
    }
    EXPECT_EQ(request.target, "/app/events");
    return post_answers.at(posts++);
  });
  int sleeps = 0;
  Client client(&transport, "127.0.0.1:9001", ExpectedPolicy(), service.certificate,
                FastOptions(&sleeps));
  ASSERT_TRUE(client.Attest().ok());

  // Timeout, then replay refused naming 3.41, which is Pending, then Committed.
  post_answers = {TimeoutError("no answer within 5000 ms"), refusal("3.41")};
  status_answers = {"Pending", "Committed"};
  Result<Submitted> submitted = client.Submit(AsBytes("first"));
  ASSERT_TRUE(submitted.ok()) << submitted.error().ToString();
  EXPECT_EQ(submitted->id, (TxId{3, 41}));
  EXPECT_TRUE(submitted->answer_lost);
  EXPECT_EQ(posts, 2u);
  EXPECT_EQ(status_queries, 2u);
  EXPECT_EQ(transport.requests[1].body, transport.requests[2].body);  // the same envelope
  EXPECT_EQ(transport.requests.back().target, "/tx/status?id=3.41");

  // Timeout, replay refused naming 3.50, which was rolled back (Invalid): posted again, and
  // this time answered.
  posts = status_queries = 0;
  Response committed = Json(200, R"({"result":{}})");
  committed.headers["x-ms-ccf-transaction-id"] = "4.52";
  post_answers = {TimeoutError("no answer"), refusal("3.50"), committed};
  status_answers = {"Invalid"};
  const size_t before = transport.requests.size();
  submitted = client.Submit(AsBytes("second"));
  ASSERT_TRUE(submitted.ok()) << submitted.error().ToString();
  EXPECT_EQ(submitted->id, (TxId{4, 52}));
  EXPECT_FALSE(submitted->answer_lost);
  EXPECT_EQ(posts, 3u);
  EXPECT_EQ(transport.requests[before].body, transport.requests.back().body);

  // A replay refusal of a first attempt is someone else's (or an old) use of the sequence
  // number: refused, whatever transaction it names, and no status is asked.
  posts = status_queries = 0;
  post_answers = {refusal("3.41")};
  Result<Submitted> refused = client.Submit(AsBytes("third"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  EXPECT_EQ(status_queries, 0u);
}

// A node after a rotate_service_hpke_key proposal: events sealed to the current key of
// `service` are committed, events sealed to an earlier key are refused with 400 stale_hpke_key.
struct RotatingNode {
  explicit RotatingNode(FakeService* served) : service(served) {}

  Result<Response> operator()(const Recorded& request) {
    if (request.target == "/node/attestation") {
      ++attestations;
      return Json(200, attested ? attested->Document() : service->Document());
    }
    EXPECT_EQ(request.target, "/app/events");
    ++posts;
    if (!answers.empty()) {
      Result<Response> answer = answers.front();
      answers.erase(answers.begin());
      return answer;
    }
    const std::string plain = OpenEnvelope(service->hpke, request.body);
    if (plain == "<does not open>") {
      return Json(400, R"({"error":{"code":"stale_hpke_key","message":"the event is sealed to )"
                       R"(a service HPKE key that has been rotated"}})");
    }
    opened.push_back(plain);
    Response response = Json(200, R"({"ok":true})");
    response.headers["x-ms-ccf-transaction-id"] = "5." + std::to_string(opened.size());
    return response;
  }

  FakeService* service;
  const FakeService* attested = nullptr;  // what /node/attestation serves instead, if set
  std::vector<Result<Response>> answers;  // answers to the next POSTs, before any opening
  std::vector<std::string> opened;
  int attestations = 0;
  int posts = 0;
};

TEST(ClientTest, ResealsToARotatedKeyFromAVerifiedAttestation) {
  // Proves that after the service rotates its HPKE key, a client attested before keeps working:
  // the stale_hpke_key refusal makes it fetch and verify the attestation again, reseal the
  // event to the new key (which opens it) and send it once more; later events use the new key
  // without another attestation.
  FakeService service = ThreeNodeService();
  RotatingNode node(&service);
  FakeTransport transport([&](const Recorded& request) { return node(request); });
  Client client(&transport, "127.0.0.1:9001", ExpectedPolicy(), service.certificate, FastOptions());
  ASSERT_TRUE(client.Attest().ok());
  Result<Submitted> first = client.Submit(AsBytes("before"));
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_FALSE(first->resealed);
  const std::string old_context = client.sealer()->context_id();

  service.hpke = crypto::hpke::GenerateKeyPair(crypto::hpke::Kem::kX25519HkdfSha256).value();
  Result<Submitted> second = client.Submit(AsBytes("after"));
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_TRUE(second->resealed);
  EXPECT_EQ(node.attestations, 2);
  EXPECT_EQ(node.posts, 3);
  EXPECT_NE(second->context_id, old_context);
  EXPECT_EQ(second->seq, 0u);
  EXPECT_EQ(client.service()->hpke_public_key.ToRaw(), service.hpke.public_key.ToRaw());
  Result<Submitted> third = client.Submit(AsBytes("later"));
  ASSERT_TRUE(third.ok()) << third.error().ToString();
  EXPECT_FALSE(third->resealed);
  EXPECT_EQ(node.attestations, 2);
  EXPECT_EQ(node.opened, (std::vector<std::string>{"before", "after", "later"}));
}

TEST(ClientTest, ARotatedKeyIsTakenOnlyFromAVerifiedAttestationOfTheSameService) {
  // Proves the refreshed attestation is verified like the first one: a document from another
  // service (its own certificate and key) or with a node the policy refuses yields an error,
  // and nothing is sealed to the key it offers.
  FakeService service = ThreeNodeService();
  RotatingNode node(&service);
  FakeTransport transport([&](const Recorded& request) { return node(request); });
  Client client(&transport, "127.0.0.1:9001", ExpectedPolicy(), service.certificate, FastOptions());
  ASSERT_TRUE(client.Attest().ok());
  service.hpke = crypto::hpke::GenerateKeyPair(crypto::hpke::Kem::kX25519HkdfSha256).value();

  FakeService impostor = ThreeNodeService();  // another certificate, another HPKE key
  node.attested = &impostor;
  Result<Submitted> refused = client.Submit(AsBytes("secret"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kVerification);
  EXPECT_NE(refused.error().message.find("pinned service certificate"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(node.posts, 1);

  // The same service, but one node runs a build the policy does not allow.
  node.attested = nullptr;
  testing::FakeNode good = std::move(service.nodes[2]);
  service.nodes[2] = testing::MakeNode(3, crypto::Sha384(ToBytes("evil build")));
  refused = client.Submit(AsBytes("secret"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kPolicy);
  EXPECT_EQ(node.posts, 2);
  EXPECT_TRUE(node.opened.empty());
  for (const Recorded& request : transport.requests) {
    if (request.target != "/app/events") continue;
    EXPECT_EQ(OpenEnvelope(impostor.hpke, request.body), "<does not open>");
  }

  service.nodes[2] = std::move(good);  // every node allowed again: the event goes through
  Result<Submitted> submitted = client.Submit(AsBytes("secret"));
  ASSERT_TRUE(submitted.ok()) << submitted.error().ToString();
  EXPECT_TRUE(submitted->resealed);
  EXPECT_EQ(node.opened, (std::vector<std::string>{"secret"}));
}

TEST(ClientTest, StaleKeyRefusalsThatCannotBeResealed) {
  // Proves a stale refusal while the verified attestation still presents the same key, and a
  // second stale refusal after resealing, are errors; that a stale refusal of a
  // retried envelope (the first attempt timed out and may have committed) is not resealed; and
  // that SubmitSealed returns the node's refusal without fetching the attestation.
  FakeService service = ThreeNodeService();
  RotatingNode node(&service);
  FakeTransport transport([&](const Recorded& request) { return node(request); });
  Client client(&transport, "127.0.0.1:9001", ExpectedPolicy(), service.certificate, FastOptions());
  ASSERT_TRUE(client.Attest().ok());
  const Response stale = Json(400, R"({"error":{"code":"stale_hpke_key","message":"rotated"}})");

  // Refused as stale, but the verified attestation still shows the key the event was sealed to.
  node.answers = {stale};
  Result<Submitted> same = client.Submit(AsBytes("a"));
  ASSERT_FALSE(same.ok());
  EXPECT_EQ(same.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(same.error().message.find("still presents"), std::string::npos) << same.error().message;
  EXPECT_EQ(node.posts, 1);
  EXPECT_EQ(node.attestations, 2);

  node.posts = node.attestations = 0;
  service.hpke = crypto::hpke::GenerateKeyPair(crypto::hpke::Kem::kX25519HkdfSha256).value();
  node.answers = {stale, stale};
  Result<Submitted> twice = client.Submit(AsBytes("a"));
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(twice.error().message.find("twice"), std::string::npos) << twice.error().message;
  EXPECT_EQ(node.posts, 2);
  EXPECT_EQ(node.attestations, 1);

  node.posts = node.attestations = 0;
  node.answers = {TimeoutError("no answer within 5000 ms"), stale};
  Result<Submitted> unknown = client.Submit(AsBytes("b"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(unknown.error().message.find("may have committed"), std::string::npos)
      << unknown.error().message;
  EXPECT_EQ(node.posts, 2);
  EXPECT_EQ(node.attestations, 0);

  node.answers = {stale};
  Result<SealedEvent> sealed = client.sealer()->Seal(AsBytes("c"));
  ASSERT_TRUE(sealed.ok());
  Result<Submitted> relayed = client.SubmitSealed(*sealed);
  ASSERT_FALSE(relayed.ok());
  EXPECT_EQ(relayed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(relayed.error().message.find("rotated"), std::string::npos);
  EXPECT_EQ(node.attestations, 0);
  EXPECT_TRUE(node.opened.empty());
}

TEST(ClientTest, TxStatusParsesEveryStateAndRefusesOthers) {
  // Proves /tx/status answers map to TxState and unknown names are errors.
  const FakeService service = ThreeNodeService();
  std::string answer;
  FakeTransport transport([&](const Recorded& request) -> Result<Response> {
    EXPECT_EQ(request.target, "/tx/status?id=4.17");
    return Json(200, answer);
  });
  Client client(&transport, "127.0.0.1:9001", ExpectedPolicy(), service.certificate, FastOptions());
  for (TxState state :
       {TxState::kUnknown, TxState::kPending, TxState::kCommitted, TxState::kInvalid}) {
    answer = R"({"transaction_id":"4.17","status":")" + std::string(TxStateName(state)) + "\"}";
    EXPECT_EQ(client.TxStatusOf({4, 17}).value(), state);
  }
  answer = R"({"status":"Maybe"})";
  EXPECT_FALSE(client.TxStatusOf({4, 17}).ok());
}

TEST(ClientTest, TxIdParsing) {
  // Proves transaction ids are exactly two decimal numbers around a dot.
  EXPECT_EQ(TxId::Parse("2.15").value(), (TxId{2, 15}));
  EXPECT_EQ((TxId{7, 0}).ToString(), "7.0");
  for (const char* bad :
       {"", "2", "2.", ".3", "2.3.4", "-1.2", "a.b", "2. 3", "99999999999999999999.1"}) {
    EXPECT_FALSE(TxId::Parse(bad).ok()) << bad;
  }
}

TEST(ClientTest, FetchesAndVerifiesReceipts) {
  // Proves a receipt is fetched (waiting while 409 says it is not yet signed), verified with the
  // pinned key and bound to the transaction asked for; a changed byte or wrong id is refused.
  ledger::MemoryStorage storage;
  auto ledger_service = ledger::testing::NewService();
  ledger_service->ledger = ledger::Ledger::Create(&storage, Bytes(ledger::kLedgerIdSize, 5),
                                                  &ledger_service->secrets, {})
                               .value();
  ASSERT_TRUE(ledger::testing::AppendMany(*ledger_service, 20, 5).ok());
  int not_yet = 2;
  FakeTransport transport([&](const Recorded& request) -> Result<Response> {
    if (not_yet-- > 0) {
      return Json(409, R"({"error":{"code":"failed_precondition","message":"not signed"}})");
    }
    const size_t equals = request.target.find("id=1.");
    const uint64_t index = std::stoull(request.target.substr(equals + 5));
    nlohmann::json body;
    body["receipt"] = Base64Encode(ledger_service->ledger->Receipt(index).value());
    return Json(200, body.dump());
  });
  int sleeps = 0;
  Client client(&transport, "127.0.0.1:9001", ExpectedPolicy(), ledger_service->service_cert,
                FastOptions(&sleeps));
  Result<Bytes> receipt = client.GetReceipt({1, 7});
  ASSERT_TRUE(receipt.ok()) << receipt.error().ToString();
  EXPECT_EQ(sleeps, 2);
  Result<ledger::ReceiptClaims> claims = client.VerifyReceipt(*receipt, {1, 7});
  ASSERT_TRUE(claims.ok()) << claims.error().ToString();
  EXPECT_EQ(claims->header.index, 7u);
  EXPECT_FALSE(client.VerifyReceipt(*receipt, {1, 8}).ok());
  EXPECT_FALSE(client.VerifyReceipt(*receipt, {2, 7}).ok());
  Bytes changed = *receipt;
  changed[changed.size() / 2] ^= 1;
  EXPECT_FALSE(client.VerifyReceipt(changed, {1, 7}).ok());
}

TEST(ClientTest, ErrorBodiesMapToErrorCodes) {
  // Proves the API's error body is mapped back to the ErrorCode and message.
  Error error =
      ErrorFromResponse(Json(404, R"({"error":{"code":"not_found","message":"no such key 'k'"}})"));
  EXPECT_EQ(error.code, ErrorCode::kNotFound);
  EXPECT_NE(error.message.find("no such key 'k'"), std::string::npos);
  EXPECT_EQ(ErrorFromResponse(Json(503, "not json")).code, ErrorCode::kUnavailable);
  EXPECT_EQ(ErrorFromResponse(Json(409, R"({"error":{"code":"nonsense"}})")).code,
            ErrorCode::kConflict);
}

}  // namespace
}  // namespace cloister::client
