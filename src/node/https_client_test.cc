// Proves that HttpsClient keeps one connection alive across requests, survives a server that
// closed the kept-alive connection while idle (the request is sent again on a new connection and
// answered once), opens a new connection for another server, and can be told not to keep
// connections.
#include "cloister/node/https_client.h"

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>
#include <type_traits>

#include "cloister/node/http_server.h"
#include "cloister/node/tls.h"

namespace cloister::node {
namespace {

namespace asio = boost::asio;

constexpr int64_t kNow = 1'800'000'000;

class HttpsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    crypto::PrivateKey key = *crypto::PrivateKey::Generate(crypto::KeyType::kP256);
    certificate_ = *SelfSignedIdentity(key, "service", kNow - 86400, 86400 * 3650);
    identity_ = std::make_unique<TlsIdentity>(TlsIdentity{std::move(key), *certificate_});
    context_ = *MakeTlsContext(TlsRole::kServer, *identity_, nullptr);
    router_.Add("POST", "/count", [this](const HttpRequest& request, HttpRespond respond) {
      ++handled_;
      respond(HttpResponse::Text(200, request.body + ":" + std::to_string(handled_.load())));
    });
    HttpServerOptions options;
    options.idle_timeout = std::chrono::milliseconds(200);
    for (auto& server : servers_) {
      server = std::make_unique<HttpServer>(io_, *context_, router_, options);
      ports_.push_back(*server->Listen("127.0.0.1", 0));
    }
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    OnLoop([this] {
      for (auto& server : servers_) server->Stop();
      return 0;
    });
    work_.reset();
    io_.stop();
    thread_.join();
  }

  // Runs `body` on the server's loop and returns its result.
  template <typename F>
  std::invoke_result_t<F> OnLoop(F body) {
    std::promise<std::invoke_result_t<F>> done;
    asio::post(io_, [&] { done.set_value(body()); });
    return done.get_future().get();
  }

  size_t OpenConnections(size_t server) {
    return OnLoop([&] { return servers_[server]->connection_count(); });
  }

  HostPort Server(size_t index) const { return HostPort{"127.0.0.1", ports_[index]}; }

  std::unique_ptr<HttpsClient> MakeClient(bool keep_alive = true) {
    HttpsClientOptions options;
    options.timeout = std::chrono::seconds(5);
    options.keep_alive = keep_alive;
    return *HttpsClient::Create(SignedBy(*certificate_), options);
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      asio::make_work_guard(io_)};
  std::optional<crypto::Certificate> certificate_;
  std::unique_ptr<TlsIdentity> identity_;
  std::unique_ptr<asio::ssl::context> context_;
  HttpRouter router_;
  std::array<std::unique_ptr<HttpServer>, 2> servers_;
  std::vector<uint16_t> ports_;
  std::thread thread_;
  std::atomic<int> handled_{0};
};

TEST_F(HttpsClientTest, ReusesOneConnection) {
  auto client = MakeClient();
  for (int i = 1; i <= 5; ++i) {
    Result<HttpsResult> result = client->Request(Server(0), "POST", "/count", "a");
    ASSERT_TRUE(result.ok()) << result.error().ToString();
    EXPECT_EQ(result->status, 200u);
    EXPECT_EQ(result->body, "a:" + std::to_string(i));
  }
  EXPECT_EQ(client->connections_opened(), 1u);
  EXPECT_EQ(OpenConnections(0), 1u);
}

TEST_F(HttpsClientTest, SurvivesServerClosingIdleConnection) {
  auto client = MakeClient();
  ASSERT_TRUE(client->Request(Server(0), "POST", "/count", "a").ok());
  // The server's idle timeout (200 ms) closes the kept-alive connection.
  for (int i = 0; i < 100 && OpenConnections(0) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(OpenConnections(0), 0u);
  Result<HttpsResult> result = client->Request(Server(0), "POST", "/count", "b");
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->body, "b:2");  // answered, and handled exactly once
  EXPECT_EQ(handled_.load(), 2);
  EXPECT_EQ(client->connections_opened(), 2u);
}

TEST_F(HttpsClientTest, StoppedServerIsAnErrorAndTheClientRecovers) {
  auto client = MakeClient();
  ASSERT_TRUE(client->Request(Server(0), "POST", "/count", "a").ok());
  OnLoop([this] {
    servers_[0]->Stop();
    return 0;
  });
  Result<HttpsResult> failed = client->Request(Server(0), "POST", "/count", "b");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kIo);
  EXPECT_EQ(handled_.load(), 1);
  // The broken connection is gone: the next request (another server) succeeds.
  Result<HttpsResult> other = client->Request(Server(1), "POST", "/count", "c");
  ASSERT_TRUE(other.ok()) << other.error().ToString();
  EXPECT_EQ(other->body, "c:2");
}

TEST_F(HttpsClientTest, AnotherServerGetsItsOwnConnection) {
  auto client = MakeClient();
  ASSERT_TRUE(client->Request(Server(0), "POST", "/count", "a").ok());
  ASSERT_TRUE(client->Request(Server(1), "POST", "/count", "b").ok());
  ASSERT_TRUE(client->Request(Server(1), "POST", "/count", "c").ok());
  EXPECT_EQ(client->connections_opened(), 2u);
}

TEST_F(HttpsClientTest, WithoutKeepAliveEachRequestConnects) {
  auto client = MakeClient(/*keep_alive=*/false);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client->Request(Server(0), "POST", "/count", "a").ok());
  EXPECT_EQ(client->connections_opened(), 3u);
}

}  // namespace
}  // namespace cloister::node
