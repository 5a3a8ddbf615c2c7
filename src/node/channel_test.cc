// Proves that two nodes whose keys trust each other exchange frames over TLS 1.3 on 127.0.0.1,
// that frames queued while a write is in progress (or before the handshake) leave together in
// one write, that a peer whose key is not trusted is refused in the handshake on both sides, and
// that an oversized frame closes the connection.
#include "cloister/node/channel.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "cloister/crypto/random.h"

namespace cloister::node {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

constexpr int64_t kNow = 1'800'000'000;

TlsIdentity MakeIdentity(const std::string& name) {
  crypto::PrivateKey key = *crypto::PrivateKey::Generate(crypto::KeyType::kP256);
  crypto::Certificate certificate = *SelfSignedIdentity(key, name, kNow - 60, 86400);
  return TlsIdentity{std::move(key), std::move(certificate)};
}

struct Endpoint {
  std::shared_ptr<Channel> channel;
  std::vector<Bytes> frames;
  std::optional<Error> closed;
  bool opened = false;
};

// Runs one connection between a server trusting `server_trusts` and a client trusting
// `client_trusts`; the client sends `to_send` and the server echoes every frame back.
struct Pair {
  asio::io_context io;
  Endpoint server, client;

  void Run(const TlsIdentity& server_id, const TlsIdentity& client_id, PeerVerifier server_trusts,
           PeerVerifier client_trusts, const std::vector<Bytes>& to_send,
           ChannelOptions server_options = {}) {
    auto server_context = *MakeTlsContext(TlsRole::kServer, server_id, server_trusts);
    auto client_context = *MakeTlsContext(TlsRole::kClient, client_id, client_trusts);
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    acceptor.async_accept([&](const boost::system::error_code& error, tcp::socket socket) {
      ASSERT_FALSE(error) << error.message();
      server.channel = Channel::Create(std::move(socket), *server_context, server_options);
      server.channel->Start(
          TlsRole::kServer, [&] { server.opened = true; },
          [&](Bytes payload) {
            server.frames.push_back(payload);
            server.channel->Send(payload);
          },
          [&](const Error& reason) { server.closed = reason; });
    });
    tcp::socket socket(io);
    socket.connect(acceptor.local_endpoint());
    client.channel = Channel::Create(std::move(socket), *client_context);
    client.channel->Start(
        TlsRole::kClient, [&] { client.opened = true; },
        [&](Bytes payload) {
          client.frames.push_back(std::move(payload));
          if (client.frames.size() == to_send.size()) {
            client.channel->Close(UnavailableError("done"));
          }
        },
        [&](const Error& reason) { client.closed = reason; });
    for (const Bytes& payload : to_send) client.channel->Send(payload);
    io.run_for(std::chrono::seconds(20));
  }
};

TEST(ChannelTest, TrustedPeersExchangeFramesInOrder) {
  const TlsIdentity a = MakeIdentity("node-a"), b = MakeIdentity("node-b");
  std::vector<Bytes> payloads;
  for (size_t i = 0; i < 50; ++i) payloads.push_back(crypto::SecureRandomBytes(i * 997));
  Pair pair;
  pair.Run(a, b, TrustKeys({b.key.Public()}), TrustKeys({a.key.Public()}), payloads);
  EXPECT_TRUE(pair.server.opened);
  EXPECT_TRUE(pair.client.opened);
  EXPECT_EQ(pair.server.frames, payloads);
  EXPECT_EQ(pair.client.frames, payloads);
  // The 50 payloads were queued before the handshake completed: they left in one write.
  EXPECT_EQ(pair.client.channel->writes_started(), 1u);
  ASSERT_TRUE(pair.server.channel->peer().has_value());
  EXPECT_EQ(*pair.server.channel->peer()->SubjectPublicKey(), b.key.Public());
  EXPECT_EQ(*pair.client.channel->peer()->SubjectPublicKey(), a.key.Public());
}

TEST(ChannelTest, UntrustedClientKeyIsRefused) {
  const TlsIdentity a = MakeIdentity("node-a"), b = MakeIdentity("node-b");
  const TlsIdentity impostor = MakeIdentity("node-b");  // same name, another key
  Pair pair;
  pair.Run(a, impostor, TrustKeys({b.key.Public()}), TrustKeys({a.key.Public()}),
           {ToBytes("secret")});
  EXPECT_FALSE(pair.server.opened);
  EXPECT_TRUE(pair.server.frames.empty());
  ASSERT_TRUE(pair.server.closed.has_value());
  EXPECT_NE(pair.server.closed->message.find("TLS handshake failed"), std::string::npos);
  ASSERT_TRUE(pair.client.closed.has_value());
}

TEST(ChannelTest, UntrustedServerKeyIsRefusedByClient) {
  const TlsIdentity a = MakeIdentity("node-a"), b = MakeIdentity("node-b");
  const TlsIdentity impostor = MakeIdentity("node-a");
  Pair pair;
  pair.Run(impostor, b, TrustKeys({b.key.Public()}), TrustKeys({a.key.Public()}),
           {ToBytes("secret")});
  EXPECT_FALSE(pair.client.opened);
  EXPECT_TRUE(pair.server.frames.empty());
  ASSERT_TRUE(pair.client.closed.has_value());
}

// Payloads sent while a write is in progress leave together in the next write, SendAll's in
// one write; the peer receives every frame, in order.
TEST(ChannelTest, QueuedFramesLeaveInOneWrite) {
  const TlsIdentity a = MakeIdentity("node-a"), b = MakeIdentity("node-b");
  std::vector<Bytes> first, second;
  for (size_t i = 0; i < 20; ++i) first.push_back(crypto::SecureRandomBytes(100 + i));
  for (size_t i = 0; i < 20; ++i) second.push_back(crypto::SecureRandomBytes(200 + i));
  std::vector<Bytes> expected = first;
  expected.insert(expected.end(), second.begin(), second.end());

  asio::io_context io;
  auto server_context = *MakeTlsContext(TlsRole::kServer, a, TrustKeys({b.key.Public()}));
  auto client_context = *MakeTlsContext(TlsRole::kClient, b, TrustKeys({a.key.Public()}));
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  Endpoint server, client;
  acceptor.async_accept([&](const boost::system::error_code& error, tcp::socket socket) {
    ASSERT_FALSE(error) << error.message();
    server.channel = Channel::Create(std::move(socket), *server_context);
    server.channel->Start(
        TlsRole::kServer, nullptr,
        [&](Bytes payload) {
          server.frames.push_back(payload);
          server.channel->Send(payload);
        },
        [&](const Error& reason) { server.closed = reason; });
  });
  tcp::socket socket(io);
  socket.connect(acceptor.local_endpoint());
  client.channel = Channel::Create(std::move(socket), *client_context);
  uint64_t writes_after_sends = 0, writes_before_send_all = 0, writes_after_send_all = 0;
  client.channel->Start(
      TlsRole::kClient,
      [&] {
        client.opened = true;
        for (const Bytes& payload : first) client.channel->Send(payload);
        writes_after_sends = client.channel->writes_started();
      },
      [&](Bytes payload) {
        client.frames.push_back(std::move(payload));
        if (client.frames.size() == first.size()) {
          writes_before_send_all = client.channel->writes_started();
          client.channel->SendAll(second);
          writes_after_send_all = client.channel->writes_started();
        }
        if (client.frames.size() == expected.size()) {
          client.channel->Close(UnavailableError("done"));
        }
      },
      [&](const Error& reason) { client.closed = reason; });
  io.run_for(std::chrono::seconds(20));

  ASSERT_TRUE(client.opened);
  EXPECT_EQ(server.frames, expected);
  EXPECT_EQ(client.frames, expected);
  EXPECT_EQ(writes_after_sends, 1u);      // the first Send started a write; 19 waited for it
  EXPECT_EQ(writes_before_send_all, 2u);  // ... and then left in one write
  EXPECT_EQ(writes_after_send_all, 3u);   // SendAll: one write for 20 payloads
  EXPECT_EQ(client.channel->writes_started(), 3u);
}

TEST(ChannelTest, OversizedFrameClosesTheConnection) {
  const TlsIdentity a = MakeIdentity("node-a"), b = MakeIdentity("node-b");
  Pair pair;
  pair.Run(a, b, TrustKeys({b.key.Public()}), TrustKeys({a.key.Public()}),
           {Bytes(100), Bytes(5000)}, ChannelOptions{.max_frame_bytes = 1024});
  EXPECT_EQ(pair.server.frames.size(), 1u);
  ASSERT_TRUE(pair.server.closed.has_value());
  EXPECT_NE(pair.server.closed->message.find("exceeds the limit"), std::string::npos);
}

TEST(TlsTest, ClientWithoutVerifierIsRefused) {
  const TlsIdentity a = MakeIdentity("client");
  EXPECT_FALSE(MakeTlsContext(TlsRole::kClient, a, nullptr).ok());
}

}  // namespace
}  // namespace cloister::node
