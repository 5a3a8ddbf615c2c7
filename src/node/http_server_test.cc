// Proves that the HTTPS server routes requests, answers asynchronously, keeps connections alive,
// and turns every broken bound (header size, body size, malformed request, slow handler) into a
// JSON error that names the bound, without calling a handler.
#include "cloister/node/http_server.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <future>
#include <thread>

#include "cloister/crypto/random.h"
#include "cloister/node/tls.h"

namespace cloister::node {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr int64_t kNow = 1'800'000'000;

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    crypto::PrivateKey key = *crypto::PrivateKey::Generate(crypto::KeyType::kP256);
    crypto::Certificate certificate = *SelfSignedIdentity(key, "service", kNow, 86400 * 3650);
    identity_ = std::make_unique<TlsIdentity>(TlsIdentity{std::move(key), certificate});
    context_ = *MakeTlsContext(TlsRole::kServer, *identity_, nullptr);
    router_.Add("GET", "/echo", [this](const HttpRequest& request, HttpRespond respond) {
      ++handled_;
      HttpResponse response =
          HttpResponse::Json(200, "{\"path\":\"" + request.path + "\",\"id\":\"" +
                                      request.Query("id").value_or("") + "\"}");
      response.headers.emplace_back("x-ms-ccf-transaction-id", "2.7");
      respond(std::move(response));
    });
    router_.Add("POST", "/echo", [this](const HttpRequest& request, HttpRespond respond) {
      ++handled_;
      // Answer later, from the event loop, as a write waiting for commit does.
      asio::post(io_, [respond, body = request.body] {
        respond(HttpResponse::Text(201, body, "application/octet-stream"));
      });
    });
    router_.AddPrefix("GET", "/app/", [this](const HttpRequest& request, HttpRespond respond) {
      ++handled_;
      respond(HttpResponse::Text(200, "app:" + request.path));
    });
    router_.Add("GET", "/never", [this](const HttpRequest&, HttpRespond) { ++handled_; });
    HttpServerOptions options;
    options.max_body_bytes = 4096;
    options.max_header_bytes = 2048;
    options.handler_timeout = std::chrono::milliseconds(300);
    server_ = std::make_unique<HttpServer>(io_, *context_, router_, options);
    port_ = *server_->Listen("127.0.0.1", 0);
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    std::promise<void> stopped;
    asio::post(io_, [this, &stopped] {
      server_->Stop();
      stopped.set_value();
    });
    stopped.get_future().wait();
    work_.reset();
    io_.stop();
    thread_.join();
  }

  // A TLS client connection to the server.
  struct Client {
    asio::io_context io;
    asio::ssl::context context{asio::ssl::context::tls_client};
    beast::ssl_stream<beast::tcp_stream> stream{io, context};
    beast::flat_buffer buffer;

    explicit Client(uint16_t port) {
      context.set_verify_mode(asio::ssl::verify_none);
      beast::get_lowest_layer(stream).connect(
          tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
      stream.handshake(asio::ssl::stream_base::client);
    }

    http::response<http::string_body> Send(http::request<http::string_body> request) {
      request.prepare_payload();
      http::write(stream, request);
      http::response<http::string_body> response;
      http::read(stream, buffer, response);
      return response;
    }

    static http::request<http::string_body> Request(http::verb verb, const std::string& target,
                                                    std::string body = {}) {
      http::request<http::string_body> request(verb, target, 11);
      request.set(http::field::host, "localhost");
      request.body() = std::move(body);
      return request;
    }
  };

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      asio::make_work_guard(io_)};
  std::unique_ptr<TlsIdentity> identity_;
  std::unique_ptr<asio::ssl::context> context_;
  HttpRouter router_;
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<int> handled_{0};
};

// Routes by exact path, decodes the query, sets headers, and serves several requests on one
// kept-alive connection, including an asynchronous answer.
TEST_F(HttpServerTest, RoutesAndKeepsAlive) {
  Client client(port_);
  auto first = client.Send(Client::Request(http::verb::get, "/echo?id=2.14&x=%41%42"));
  EXPECT_EQ(first.result_int(), 200u);
  EXPECT_EQ(first.body(), "{\"path\":\"/echo\",\"id\":\"2.14\"}");
  EXPECT_EQ(first["x-ms-ccf-transaction-id"], "2.7");
  EXPECT_EQ(first[http::field::content_type], "application/json");

  const std::string payload = "sealed bytes \x01\x02";
  auto second = client.Send(Client::Request(http::verb::post, "/echo", payload));
  EXPECT_EQ(second.result_int(), 201u);
  EXPECT_EQ(second.body(), payload);

  auto third = client.Send(Client::Request(http::verb::get, "/app/messages/alice"));
  EXPECT_EQ(third.body(), "app:/app/messages/alice");
  EXPECT_EQ(handled_.load(), 3);
}

// Unknown paths answer 404 and known paths under another method 405, both as CCF-shaped JSON.
TEST_F(HttpServerTest, UnknownPathAndMethod) {
  Client client(port_);
  auto missing = client.Send(Client::Request(http::verb::get, "/nope"));
  EXPECT_EQ(missing.result_int(), 404u);
  EXPECT_NE(missing.body().find("\"code\":\"not_found\""), std::string::npos);
  auto wrong = client.Send(Client::Request(http::verb::delete_, "/echo"));
  EXPECT_EQ(wrong.result_int(), 405u);
  EXPECT_NE(wrong.body().find("method_not_allowed"), std::string::npos);
  EXPECT_EQ(handled_.load(), 0);
}

// A body above the limit is answered 413 without reaching the handler.
TEST_F(HttpServerTest, BodyLimit) {
  Client client(port_);
  auto response = client.Send(Client::Request(http::verb::post, "/echo", std::string(5000, 'a')));
  EXPECT_EQ(response.result_int(), 413u);
  EXPECT_NE(response.body().find("4096"), std::string::npos);
  EXPECT_EQ(handled_.load(), 0);
}

// A header block above the limit is answered 431 without reaching the handler.
TEST_F(HttpServerTest, HeaderLimit) {
  Client client(port_);
  auto request = Client::Request(http::verb::get, "/echo");
  request.set("x-padding", std::string(3000, 'p'));
  auto response = client.Send(std::move(request));
  EXPECT_EQ(response.result_int(), 431u);
  EXPECT_EQ(handled_.load(), 0);
}

// Bytes that are not HTTP get a 400 naming the parse failure.
TEST_F(HttpServerTest, MalformedRequest) {
  Client client(port_);
  const std::string garbage = "GET /echo HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n";
  asio::write(client.stream, asio::buffer(garbage));
  http::response<http::string_body> response;
  http::read(client.stream, client.buffer, response);
  EXPECT_EQ(response.result_int(), 400u);
  EXPECT_NE(response.body().find("malformed HTTP request"), std::string::npos);
  EXPECT_EQ(handled_.load(), 0);
}

// A malformed percent escape in the path is a 400, not a crash or a routed request.
TEST_F(HttpServerTest, BadPercentEscape) {
  Client client(port_);
  auto response = client.Send(Client::Request(http::verb::get, "/echo?id=%zz"));
  EXPECT_EQ(response.result_int(), 400u);
  EXPECT_NE(response.body().find("percent escape"), std::string::npos);
}

// A handler that never answers is cut off with 504 after the handler timeout.
TEST_F(HttpServerTest, HandlerTimeout) {
  Client client(port_);
  auto response = client.Send(Client::Request(http::verb::get, "/never"));
  EXPECT_EQ(response.result_int(), 504u);
  EXPECT_EQ(handled_.load(), 1);
}

// Percent-decoding: escapes decoded, malformed and truncated escapes refused.
TEST(PercentDecodeTest, DecodesAndRejects) {
  EXPECT_EQ(*PercentDecode("a%20b%2Fc"), "a b/c");
  EXPECT_EQ(*PercentDecode("plain+text"), "plain+text");
  EXPECT_FALSE(PercentDecode("bad%2").ok());
  EXPECT_FALSE(PercentDecode("bad%").ok());
  EXPECT_FALSE(PercentDecode("bad%g1").ok());
}

// Error codes map to HTTP statuses as documented.
TEST(HttpResponseTest, FromError) {
  EXPECT_EQ(HttpResponse::FromError(NotFoundError("x")).status, 404u);
  EXPECT_EQ(HttpResponse::FromError(PolicyError("x")).status, 403u);
  EXPECT_EQ(HttpResponse::FromError(UnavailableError("x")).status, 503u);
  EXPECT_EQ(HttpResponse::FromError(ParseError("x")).status, 400u);
  EXPECT_EQ(HttpResponse::FromError(ConflictError("x")).status, 409u);
  const HttpResponse response = HttpResponse::FromError(VerificationError("bad \"tag\"\n"));
  EXPECT_EQ(response.body,
            "{\"error\":{\"code\":\"verification\",\"message\":\"bad \\\"tag\\\"\\n\"}}");
}

}  // namespace
}  // namespace cloister::node
