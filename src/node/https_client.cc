#include "cloister/node/https_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <ctime>

#include "cloister/crypto/key.h"

namespace cloister::node {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpsClient::State {
  HttpsClientOptions options;
  std::unique_ptr<asio::ssl::context> context;
};

std::optional<std::string> HttpsResult::Header(const std::string& name) const {
  std::string lower;
  for (char c : name)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  auto it = headers.find(lower);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

PeerVerifier SignedBy(crypto::Certificate issuer) {
  return [issuer = std::move(issuer)](const crypto::Certificate& peer) -> Status {
    Status signed_by = peer.VerifySignedBy(issuer);
    if (!signed_by.ok()) {
      return VerificationError("server certificate is not issued by the service certificate");
    }
    return OkStatus();
  };
}

HttpsClient::~HttpsClient() = default;

Result<std::unique_ptr<HttpsClient>> HttpsClient::Create(PeerVerifier verifier,
                                                         HttpsClientOptions options) {
  ASSIGN_OR_RETURN(crypto::PrivateKey key, crypto::PrivateKey::Generate(crypto::KeyType::kP256));
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  ASSIGN_OR_RETURN(crypto::Certificate certificate,
                   SelfSignedIdentity(key, "cloister client", now - 3600, 2 * 86400));
  TlsIdentity identity{key, certificate};
  std::unique_ptr<HttpsClient> client(new HttpsClient());
  client->state_ = std::make_unique<State>();
  client->state_->options = options;
  ASSIGN_OR_RETURN(client->state_->context,
                   MakeTlsContext(TlsRole::kClient, identity, std::move(verifier)));
  return client;
}

Result<HttpsResult> HttpsClient::Request(const HostPort& server, const std::string& method,
                                         const std::string& target, const std::string& body,
                                         const std::string& content_type) {
  asio::io_context io;
  asio::ssl::stream<beast::tcp_stream> stream(io, *state_->context);
  tcp::resolver resolver(io);
  boost::system::error_code resolve_error;
  auto endpoints = resolver.resolve(server.host, std::to_string(server.port), resolve_error);
  if (resolve_error) return IoError("resolve ", server.ToString(), ": ", resolve_error.message());

  http::request<http::string_body> request;
  request.method(http::string_to_verb(method));
  if (request.method() == http::verb::unknown) return InvalidArgumentError("method ", method);
  request.target(target);
  request.version(11);
  request.set(http::field::host, server.host);
  if (!body.empty() || method == "POST") {
    request.set(http::field::content_type, content_type);
    request.body() = body;
    request.prepare_payload();
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(state_->options.max_response_bytes);
  beast::flat_buffer buffer;
  boost::system::error_code failure;
  std::string stage = "connect";
  beast::get_lowest_layer(stream).expires_after(state_->options.timeout);
  beast::get_lowest_layer(stream).async_connect(
      endpoints, [&](const boost::system::error_code& error, const tcp::endpoint&) {
        if (error) {
          failure = error;
          return;
        }
        stage = "TLS handshake";
        stream.async_handshake(asio::ssl::stream_base::client, [&](const auto& handshake_error) {
          if (handshake_error) {
            failure = handshake_error;
            return;
          }
          stage = "write";
          http::async_write(stream, request, [&](const auto& write_error, size_t) {
            if (write_error) {
              failure = write_error;
              return;
            }
            stage = "read";
            http::async_read(stream, buffer, parser,
                             [&](const auto& read_error, size_t) { failure = read_error; });
          });
        });
      });
  io.run();
  if (failure) {
    return IoError("HTTPS ", method, " ", server.ToString(), target, ": ", stage, ": ",
                   failure.message());
  }
  HttpsResult result;
  const auto& response = parser.get();
  result.status = response.result_int();
  for (const auto& field : response) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    result.headers[name] = std::string(field.value());
  }
  result.body = response.body();
  boost::system::error_code ignored;
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
  return result;
}

}  // namespace cloister::node
