// Proves that a joiner starts the whole challenge + join over when the node that issued its
// challenge is no longer the leader when the join arrives (a redirect), and that a refusal ends
// the join: a stand-in service (an HTTPS server with the service's certificate) redirects the
// first join request and refuses the second.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cloister/crypto/random.h"
#include "cloister/node/http_server.h"
#include "cloister/node/node.h"
#include "cloister/node/tls.h"
#include "cloister/tee/virtual_tee.h"

namespace cloister::node {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

class NoApp final : public Application {
 public:
  Result<std::string> Execute(kv::Tx&, ByteSpan) override { return std::string("{}"); }
  Result<HttpResponse> Read(kv::Tx&, const HttpRequest&) override {
    return HttpResponse::Json(200, "{}");
  }
};

TEST(JoinRetryTest, LeadershipMovedStartsOverAndARefusalIsFinal) {
  const fs::path dir =
      fs::temp_directory_path() / ("cloister_join_retry_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto now = static_cast<int64_t>(std::time(nullptr));
  const crypto::PrivateKey service_key = *crypto::PrivateKey::Generate(crypto::KeyType::kP256);
  const crypto::Certificate service_certificate =
      *SelfSignedIdentity(service_key, "stand-in service", now - 60, 3600);
  std::ofstream(dir / "service.pem") << service_certificate.Pem();

  boost::asio::io_context io;
  auto context = MakeTlsContext(TlsRole::kServer, {service_key, service_certificate}, nullptr);
  ASSERT_TRUE(context.ok()) << context.error().ToString();
  std::atomic<int> challenges{0};
  std::atomic<int> joins{0};
  std::vector<std::string> answered_challenges;  // only touched on the io thread
  std::vector<std::string> joined_challenges;
  uint16_t port = 0;
  HttpRouter router;
  router.Add("POST", "/node/join/challenge", [&](const HttpRequest&, const HttpRespond& respond) {
    ++challenges;
    answered_challenges.push_back(Base64Encode(crypto::SecureRandomBytes(32)));
    respond(HttpResponse::Json(200, json({{"challenge", answered_challenges.back()}}).dump()));
  });
  router.Add("POST", "/node/join", [&](const HttpRequest& request, const HttpRespond& respond) {
    joined_challenges.push_back(json::parse(request.body).value("challenge", ""));
    if (++joins == 1) {
      // Leadership moved: this node now redirects to "the new leader" (itself, here).
      HttpResponse redirect = HttpResponse::ErrorBody(307, "redirect", "node 2 is the leader");
      redirect.headers.emplace_back("location",
                                    "https://127.0.0.1:" + std::to_string(port) + "/node/join");
      return respond(std::move(redirect));
    }
    respond(HttpResponse::ErrorBody(403, "policy", "join refused: measurement not allowed"));
  });
  HttpServer server(io, **context, router);
  Result<uint16_t> listening = server.Listen("127.0.0.1", 0);
  ASSERT_TRUE(listening.ok()) << listening.error().ToString();
  port = *listening;
  std::thread thread([&] { io.run(); });

  NodeConfig config;
  config.node.name = "joiner";
  config.node.data_dir = dir / "joiner";
  config.node.platform = "virtual";
  config.ledger.fsync = false;
  config.join.emplace();
  config.join->target = HostPort{"127.0.0.1", port};
  config.join->service_certificate = dir / "service.pem";
  NoApp app;
  NodeOptions options;
  options.config = std::move(config);
  options.attester = std::make_unique<tee::VirtualAttester>(Bytes(48, 0x11), Bytes(32, 0), false);
  options.app = &app;
  boost::asio::io_context joiner_io;
  Result<std::unique_ptr<Node>> joined = Node::Start(joiner_io, std::move(options));

  boost::asio::post(io, [&] {
    server.Stop();
    io.stop();
  });
  thread.join();
  ASSERT_FALSE(joined.ok());
  EXPECT_EQ(joined.error().code, ErrorCode::kPolicy) << joined.error().ToString();
  EXPECT_NE(joined.error().message.find("measurement not allowed"), std::string::npos)
      << joined.error().ToString();
  // Two rounds: the redirected join asked for a new challenge, and answered it; the refusal
  // ended the join without a third round.
  EXPECT_EQ(challenges.load(), 2);
  EXPECT_EQ(joins.load(), 2);
  ASSERT_EQ(joined_challenges.size(), 2u);
  EXPECT_EQ(joined_challenges, answered_challenges);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cloister::node
